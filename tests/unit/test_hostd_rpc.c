/* rpc: the management request envelope, the field readers, and dispatch of what needs no
 * libvirt (bad JSON, unknown methods, bad params answered before any libvirt call). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "libvirt/vmops.h"
#include "link/rpc.h"

static void test_parse(void **state)
{
    (void)state;
    rpc_request req;
    vg_err err;
    const char *good = "{\"id\":42,\"method\":\"vm.start\",\"params\":{\"vm\":\"v1\"}}";
    assert_int_equal(hd_rpc_parse(good, strlen(good), &req, &err), VG_OK);
    assert_true(req.has_id);
    assert_true(req.id == 42);
    assert_string_equal(req.method, "vm.start");
    assert_string_equal(cJSON_GetObjectItem(req.params, "vm")->valuestring, "v1");
    hd_rpc_request_free(&req);

    const char *noparams = "{\"id\":-3,\"method\":\"host.info\"}";
    assert_int_equal(hd_rpc_parse(noparams, strlen(noparams), &req, &err), VG_OK);
    assert_true(cJSON_IsObject(req.params));
    hd_rpc_request_free(&req);
    const char *nullparams = "{\"id\":1,\"method\":\"host.info\",\"params\":null}";
    assert_int_equal(hd_rpc_parse(nullparams, strlen(nullparams), &req, &err), VG_OK);
    assert_true(cJSON_IsObject(req.params));
    hd_rpc_request_free(&req);

    static const struct {
        const char *text;
        int has_id;
    } bad[] = {
        {"", 0},
        {"nope", 0},
        {"[1]", 0},
        {"{\"method\":\"vm.start\"}", 0},
        {"{\"id\":\"1\",\"method\":\"vm.start\"}", 0},
        {"{\"id\":1.5,\"method\":\"vm.start\"}", 0},
        {"{\"id\":1e300,\"method\":\"vm.start\"}", 0},
        {"{\"id\":1}", 1},
        {"{\"id\":1,\"method\":\"\"}", 1},
        {"{\"id\":1,\"method\":7}", 1},
        {"{\"id\":1,\"method\":\"vm.start\",\"params\":[]}", 1},
        {"{\"id\":1,\"method\":\"vm.start\",\"params\":\"vm\"}", 1},
        {"{\"id\":1,\"method\":\"a-method-name-that-is-far-too-long-for-any-method\"}", 1},
        /* issue 9: lenient JSON is refused before any field is read */
        {"{\"id\":1,\"method\":\"vm.start\"} xx", 0},
        {"{\"id\":1,\"id\":2,\"method\":\"vm.start\"}", 0},
        {"{\"id\":1,\"method\":\"vm.start\",\"params\":{\"vm\":\"v\",\"vm\":\"w\"}}", 0},
        {"{\"id\":1,\"method\":\"vm.start\",\"params\":{\"vm\":\"v1\\u0000x\"}}", 0},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(hd_rpc_parse(bad[i].text, strlen(bad[i].text), &req, &err), VG_ERR);
        assert_int_equal(err.code, VG_E_BAD_REQUEST);
        assert_int_equal(req.has_id, bad[i].has_id);
        assert_null(req.params);
    }
    char *big = malloc(RPC_MAX_MESSAGE + 2);
    memset(big, ' ', RPC_MAX_MESSAGE + 1);
    big[RPC_MAX_MESSAGE + 1] = '\0';
    assert_int_equal(hd_rpc_parse(big, RPC_MAX_MESSAGE + 1, &req, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_TOO_BIG);
    free(big);
}

static void test_fields(void **state)
{
    (void)state;
    vg_err err;
    cJSON *p = cJSON_Parse("{\"vm\":\"v-1\",\"bad\":\"a/b\",\"n\":5,\"f\":1.5,\"b\":true,"
                           "\"s\":\"text\",\"nul\":null,\"num\":3}");
    const char *s;
    int b;
    long long n;
    assert_int_equal(hd_rpc_name(p, "vm", 1, &s, &err), VG_OK);
    assert_string_equal(s, "v-1");
    assert_int_equal(hd_rpc_name(p, "bad", 1, &s, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "params.bad"));
    assert_int_equal(hd_rpc_name(p, "num", 1, &s, &err), VG_ERR);
    assert_int_equal(hd_rpc_name(p, "missing", 1, &s, &err), VG_ERR);
    assert_non_null(strstr(err.msg, "params.missing is required"));
    assert_int_equal(hd_rpc_name(p, "missing", 0, &s, &err), VG_OK);
    assert_null(s);
    assert_int_equal(hd_rpc_name(p, "nul", 0, &s, &err), VG_OK); /* null = absent */
    assert_null(s);
    assert_int_equal(hd_rpc_string(p, "s", 1, 3, &s, &err), VG_ERR); /* too long */
    assert_int_equal(hd_rpc_string(p, "s", 1, 4, &s, &err), VG_OK);

    assert_int_equal(hd_rpc_bool(p, "b", 0, &b, &err), VG_OK);
    assert_true(b);
    assert_int_equal(hd_rpc_bool(p, "missing", 1, &b, &err), VG_OK);
    assert_true(b);
    assert_int_equal(hd_rpc_bool(p, "n", 0, &b, &err), VG_ERR);

    assert_int_equal(hd_rpc_int(p, "n", 0, 0, 10, &n, &err), VG_OK);
    assert_int_equal(n, 5);
    assert_int_equal(hd_rpc_int(p, "missing", 60, 0, 10, &n, &err), VG_OK);
    assert_int_equal(n, 60);
    assert_int_equal(hd_rpc_int(p, "n", 0, 6, 10, &n, &err), VG_ERR);
    assert_int_equal(hd_rpc_int(p, "f", 0, 0, 10, &n, &err), VG_ERR);
    assert_int_equal(hd_rpc_int(p, "s", 0, 0, 10, &n, &err), VG_ERR);
    cJSON_Delete(p);
}

static int wakes;
static void wake(void *ud)
{
    (void)ud;
    wakes++;
}

/* Pops one answer and returns it parsed. */
static cJSON *answer(rpc_conn *rc)
{
    size_t len;
    char *text = hd_rpc_conn_next(rc, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    cJSON *o = cJSON_Parse(text);
    free(text);
    assert_non_null(o);
    return o;
}

static void expect_error(rpc_conn *rc, const char *request, int id, const char *code)
{
    hd_rpc_conn_recv(rc, request, strlen(request));
    cJSON *o = answer(rc);
    const cJSON *jid = cJSON_GetObjectItem(o, "id");
    if (id < 0)
        assert_true(cJSON_IsNull(jid));
    else
        assert_int_equal(jid->valueint, id);
    const cJSON *e = cJSON_GetObjectItem(o, "error");
    assert_string_equal(cJSON_GetObjectItem(e, "code")->valuestring, code);
    assert_true(strlen(cJSON_GetObjectItem(e, "message")->valuestring) > 0);
    assert_null(cJSON_GetObjectItem(o, "result"));
    cJSON_Delete(o);
}

static void test_dispatch_errors(void **state)
{
    (void)state;
    rpc_conn *rc = hd_rpc_conn_new(hd_vmops_methods, wake, NULL);
    size_t len;
    assert_null(hd_rpc_conn_next(rc, &len));
    wakes = 0;
    expect_error(rc, "{", -1, "bad_request");
    expect_error(rc, "{\"id\":3,\"method\":\"vm.nope\"}", 3, "unknown");
    /* Parameters are checked before libvirt is asked (there is no connection here). */
    expect_error(rc, "{\"id\":4,\"method\":\"vm.start\",\"params\":{}}", 4, "bad_request");
    expect_error(rc, "{\"id\":5,\"method\":\"vm.start\",\"params\":{\"vm\":\"a b\"}}", 5,
                 "bad_request");
    expect_error(rc,
                 "{\"id\":6,\"method\":\"vm.probe\",\"params\":{\"vm\":\"v\",\"timeout_ms\":0}}", 6,
                 "bad_request");
    expect_error(rc, "{\"id\":7,\"method\":\"vm.probe\",\"params\":{\"vm\":\"v\"}}", 7,
                 "not_found");
    expect_error(rc, "{\"id\":8,\"method\":\"vm.define\",\"params\":{\"spec\":[]}}", 8,
                 "bad_request");
    expect_error(rc,
                 "{\"id\":9,\"method\":\"vm.migrate\",\"params\":{\"vm\":\"v\",\"dest_uri\":\"x\","
                 "\"dest_console_dir\":\"rel\"}}",
                 9, "bad_request");
    assert_int_equal(wakes, 8);
    /* Answers queued and not taken are freed with the connection. */
    hd_rpc_conn_recv(rc, "x", 1);
    hd_rpc_conn_free(rc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_dispatch_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
