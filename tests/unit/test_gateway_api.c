/* gateway api: the pure request parsers, parameter checks and response shapes (docs/api.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "api/api.h"

static int parse_ws(const char *text, gw_api_req *req, vg_err *err)
{
    return gw_api_parse_ws(text, strlen(text), req, err);
}

static void test_ws_request_fields(void **state)
{
    (void)state;
    gw_api_req req;
    vg_err err = {0};
    assert_int_equal(parse_ws("{\"id\":7,\"method\":\"whoami\",\"params\":{}}", &req, &err), VG_OK);
    assert_string_equal(req.method, "whoami");
    assert_true(cJSON_IsNumber(req.id));
    assert_true(cJSON_IsObject(req.params));
    gw_api_req_free(&req);

    /* id may be a string or absent; params default to {} */
    assert_int_equal(parse_ws("{\"id\":\"a\",\"method\":\"vm.list\"}", &req, &err), VG_OK);
    assert_true(cJSON_IsString(req.id));
    assert_non_null(req.params);
    assert_null(req.params->child);
    gw_api_req_free(&req);
    assert_int_equal(parse_ws("{\"method\":\"vm.list\"}", &req, &err), VG_OK);
    assert_null(req.id);
    gw_api_req_free(&req);
}

static void test_ws_request_refusals(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "{",
        "[]",
        "\"whoami\"",
        "{\"id\":{},\"method\":\"whoami\"}",
        "{\"id\":1}",
        "{\"id\":1,\"method\":5}",
        "{\"id\":1,\"method\":\"whoami\",\"params\":[]}",
        "{\"id\":1,\"method\":\"whoami\",\"params\":\"x\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        gw_api_req req;
        vg_err err = {0};
        assert_int_equal(parse_ws(bad[i], &req, &err), VG_ERR);
        assert_int_equal(err.code, VG_E_BAD_REQUEST);
        assert_true(err.msg[0] != '\0');
        gw_api_req_free(&req);
    }
    char *big = malloc(GW_API_MAX_BODY + 2);
    memset(big, ' ', GW_API_MAX_BODY + 1);
    big[GW_API_MAX_BODY + 1] = '\0';
    gw_api_req req;
    vg_err err = {0};
    assert_int_equal(parse_ws(big, &req, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_TOO_BIG);
    free(big);
}

static void test_http_body(void **state)
{
    (void)state;
    gw_api_req req;
    vg_err err = {0};
    assert_int_equal(gw_api_parse_http("whoami", "", 0, &req, &err), VG_OK);
    assert_string_equal(req.method, "whoami");
    assert_null(req.id);
    gw_api_req_free(&req);
    assert_int_equal(gw_api_parse_http("whoami", " \r\n", 3, &req, &err), VG_OK);
    gw_api_req_free(&req);
    assert_int_equal(gw_api_parse_http("login", "{\"user\":\"a\"}", 12, &req, &err), VG_OK);
    assert_string_equal(cJSON_GetObjectItem(req.params, "user")->valuestring, "a");
    gw_api_req_free(&req);
    assert_int_equal(gw_api_parse_http("login", "[1]", 3, &req, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    gw_api_req_free(&req);
    assert_int_equal(gw_api_parse_http("login", "{\"a\":", 5, &req, &err), VG_ERR);
    gw_api_req_free(&req);
}

/* Issue 9: trailing data, \u0000 and duplicate keys were accepted (`{} xx` answered 200,
 * "rel1\u0000x" was taken as rel1, of two equal keys the first won). */
static void test_lenient_json_refused(void **state)
{
    (void)state;
    static const char *const ws[] = {
        "{\"id\":1,\"method\":\"whoami\"} xx",
        "{\"id\":1,\"method\":\"whoami\"}{}",
        "{\"id\":1,\"method\":\"console.ticket\",\"params\":{\"vm\":\"rel1\\u0000x\"}}",
        "{\"id\":1,\"method\":\"whoami\",\"method\":\"logout\"}",
        "{\"id\":1,\"id\":2,\"method\":\"whoami\"}",
        "{\"id\":1,\"method\":\"vm.create\",\"params\":{\"spec\":{\"name\":\"a\",\"name\":\"b\"}}}",
    };
    static const char *const http[] = {
        "{} xx",
        "{\"vm\":\"rel1\\u0000x\"}",
        "{\"vm\":\"rel1\",\"vm\":\"rel2\"}",
        "{\"spec\":[{\"k\":1,\"k\":2}]}",
    };
    for (size_t i = 0; i < sizeof(ws) / sizeof(ws[0]); i++) {
        gw_api_req req;
        vg_err err = {0};
        assert_int_equal(parse_ws(ws[i], &req, &err), VG_ERR);
        assert_int_equal(err.code, VG_E_BAD_REQUEST);
        assert_non_null(strstr(err.msg, "invalid JSON"));
        gw_api_req_free(&req);
    }
    for (size_t i = 0; i < sizeof(http) / sizeof(http[0]); i++) {
        gw_api_req req;
        vg_err err = {0};
        assert_int_equal(gw_api_parse_http("console.ticket", http[i], strlen(http[i]), &req, &err),
                         VG_ERR);
        assert_int_equal(err.code, VG_E_BAD_REQUEST);
        assert_non_null(strstr(err.msg, "invalid JSON"));
        gw_api_req_free(&req);
    }
}

static int check(const char *text, int websocket, vg_err *err)
{
    gw_api_req req;
    int rc = parse_ws(text, &req, err);
    if (rc == VG_OK)
        rc = gw_api_check(&req, websocket, err);
    gw_api_req_free(&req);
    return rc;
}

static void test_method_params(void **state)
{
    (void)state;
    vg_err err = {0};
    assert_int_equal(
        check("{\"method\":\"login\",\"params\":{\"user\":\"admin\",\"password\":\"p\"}}", 1, &err),
        VG_OK);
    assert_int_equal(
        check("{\"method\":\"console.ticket\",\"params\":{\"vm\":\"demo1\"}}", 0, &err), VG_OK);
    assert_int_equal(check("{\"method\":\"console.ticket\",\"params\":{\"vm\":\"demo1\",\"dev\":"
                           "\"serial0\",\"mode\":\"ro\"}}",
                           0, &err),
                     VG_OK);
    assert_int_equal(check("{\"method\":\"events.subscribe\"}", 1, &err), VG_OK);

    static const char *const bad[] = {
        "{\"method\":\"login\",\"params\":{}}",
        "{\"method\":\"login\",\"params\":{\"user\":\"admin\"}}",
        "{\"method\":\"login\",\"params\":{\"user\":1,\"password\":\"p\"}}",
        "{\"method\":\"login\",\"params\":{\"user\":\"a b\",\"password\":\"p\"}}",
        "{\"method\":\"login\",\"params\":{\"user\":\"admin\",\"password\":\"\"}}",
        "{\"method\":\"console.ticket\",\"params\":{}}",
        "{\"method\":\"console.ticket\",\"params\":{\"vm\":\"../x\"}}",
        "{\"method\":\"console.ticket\",\"params\":{\"vm\":\"a\",\"dev\":null}}",
        "{\"method\":\"console.ticket\",\"params\":{\"vm\":\"a\",\"mode\":\"w\"}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(check(bad[i], 1, &err), VG_ERR);
        assert_int_equal(err.code, VG_E_BAD_REQUEST);
    }
    assert_int_equal(check("{\"method\":\"events.subscribe\"}", 0, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    assert_int_equal(check("{\"method\":\"vm.destroy_all\"}", 1, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_UNKNOWN);
}

static void test_responses(void **state)
{
    (void)state;
    cJSON *id = cJSON_CreateNumber(3);
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "user", "admin");
    char *s = gw_api_response(id, 1, res, NULL);
    assert_string_equal(s, "{\"id\":3,\"result\":{\"user\":\"admin\"}}");
    free(s);
    vg_err err;
    vg_fail(&err, VG_E_NOT_FOUND, "no VM named %s", "x");
    s = gw_api_response(NULL, 1, NULL, &err);
    assert_string_equal(s, "{\"id\":null,\"error\":{\"code\":\"not_found\",\"message\":\"no VM "
                           "named x\"}}");
    free(s);
    s = gw_api_response(id, 0, NULL, &err);
    assert_string_equal(s, "{\"error\":{\"code\":\"not_found\",\"message\":\"no VM named x\"}}");
    free(s);
    cJSON_Delete(id);
    cJSON_Delete(res);

    assert_int_equal(gw_api_http_status(VG_E_BAD_REQUEST), 400);
    assert_int_equal(gw_api_http_status(VG_E_UNKNOWN), 400);
    assert_int_equal(gw_api_http_status(VG_E_UNAUTHORIZED), 401);
    assert_int_equal(gw_api_http_status(VG_E_FORBIDDEN), 403);
    assert_int_equal(gw_api_http_status(VG_E_NOT_FOUND), 404);
    assert_int_equal(gw_api_http_status(VG_E_CONFLICT), 409);
    assert_int_equal(gw_api_http_status(VG_E_TOO_BIG), 413);
    assert_int_equal(gw_api_http_status(VG_E_RATE_LIMITED), 429);
    assert_int_equal(gw_api_http_status(VG_E_UNAVAILABLE), 503);
    assert_int_equal(gw_api_http_status(VG_E_INTERNAL), 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ws_request_fields), cmocka_unit_test(test_ws_request_refusals),
        cmocka_unit_test(test_http_body),         cmocka_unit_test(test_method_params),
        cmocka_unit_test(test_responses),         cmocka_unit_test(test_lenient_json_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
