/* gateway api/schema: every field type accepts what it names and refuses the rest with
 * bad_request naming the field; unknown and missing fields; api.methods' description. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "api/schema.h"

static const gw_field fields[] = {
    {"vm", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the VM"},
    {"note", GW_F_STRING, 0, 2, 8, NULL, "a short note"},
    {"count", GW_F_INT, 0, -3, 10, NULL, "how many"},
    {"force", GW_F_BOOL, 0, 0, 0, NULL, "no questions"},
    {"mode", GW_F_ENUM, 0, 0, 0, "ro|rw", "access"},
    {"vms", GW_F_NAMES, 0, 0, 2, NULL, "more VMs"},
    {"items", GW_F_ARRAY, 0, 0, 3, NULL, "anything"},
    {"spec", GW_F_OBJECT, 0, 0, 0, NULL, "a spec"},
    {NULL},
};

/* Checks json against fields; expect NULL for success, else a fragment of the message. */
static void check(const char *json, const char *expect)
{
    cJSON *p = cJSON_Parse(json);
    assert_non_null(p);
    vg_err err = {0};
    int rc = gw_schema_check(fields, p, &err);
    cJSON_Delete(p);
    if (!expect) {
        assert_int_equal(rc, VG_OK);
        return;
    }
    assert_int_equal(rc, VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    if (!strstr(err.msg, expect))
        fail_msg("\"%s\": \"%s\" does not say \"%s\"", json, err.msg, expect);
}

static void test_accepts(void **state)
{
    (void)state;
    check("{\"vm\":\"web1\"}", NULL);
    check("{\"vm\":\"web1\",\"note\":\"hi\",\"count\":-3,\"force\":false,\"mode\":\"rw\","
          "\"vms\":[\"a\",\"b\"],\"items\":[1,\"x\",{}],\"spec\":{}}",
          NULL);
    check("{\"vm\":\"web1\",\"count\":10,\"note\":\"12345678\"}", NULL);
}

static void test_refuses(void **state)
{
    (void)state;
    check("{}", "\"vm\" is required");
    check("{\"vm\":\"web1\",\"colour\":1}", "unknown parameter \"colour\"");
    check("{\"vm\":5}", "\"vm\" must be a string");
    check("{\"vm\":\".hidden\"}", "\"vm\" must be 1-64 characters");
    check("{\"vm\":\"a\",\"note\":\"x\"}", "at least 2");
    check("{\"vm\":\"a\",\"note\":\"123456789\"}", "at most 8");
    check("{\"vm\":\"a\",\"count\":11}", "from -3 to 10");
    check("{\"vm\":\"a\",\"count\":1.5}", "whole number");
    check("{\"vm\":\"a\",\"count\":1e300}", "whole number");
    check("{\"vm\":\"a\",\"count\":\"1\"}", "whole number");
    check("{\"vm\":\"a\",\"force\":1}", "true or false");
    check("{\"vm\":\"a\",\"mode\":\"r\"}", "one of ro|rw");
    check("{\"vm\":\"a\",\"mode\":\"rwx\"}", "one of ro|rw");
    check("{\"vm\":\"a\",\"vms\":[\"a\",\"b\",\"c\"]}", "at most 2 items");
    check("{\"vm\":\"a\",\"vms\":[\"a\",7]}", "array of names");
    check("{\"vm\":\"a\",\"items\":{}}", "must be an array");
    check("{\"vm\":\"a\",\"spec\":[]}", "must be an object");
}

static void test_params_object(void **state)
{
    (void)state;
    cJSON *p = cJSON_CreateArray();
    vg_err err = {0};
    assert_int_equal(gw_schema_check(gw_no_fields, p, &err), VG_ERR);
    cJSON_Delete(p);
    p = cJSON_CreateObject();
    assert_int_equal(gw_schema_check(gw_no_fields, p, &err), VG_OK);
    cJSON_AddNumberToObject(p, "x", 1);
    assert_int_equal(gw_schema_check(gw_no_fields, p, &err), VG_ERR);
    cJSON_Delete(p);
}

static void test_describe(void **state)
{
    (void)state;
    cJSON *d = gw_schema_describe(fields);
    assert_non_null(d);
    assert_int_equal(cJSON_GetArraySize(d), 8);
    const cJSON *vm = cJSON_GetArrayItem(d, 0), *count = cJSON_GetArrayItem(d, 2),
                *mode = cJSON_GetArrayItem(d, 4);
    assert_string_equal(cJSON_GetObjectItem(vm, "type")->valuestring, "name");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(vm, "required")));
    assert_string_equal(cJSON_GetObjectItem(vm, "doc")->valuestring, "the VM");
    assert_int_equal(cJSON_GetObjectItem(count, "min")->valueint, -3);
    assert_int_equal(cJSON_GetObjectItem(count, "max")->valueint, 10);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(count, "required")));
    assert_string_equal(cJSON_GetObjectItem(mode, "choices")->valuestring, "ro|rw");
    cJSON_Delete(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts),
        cmocka_unit_test(test_refuses),
        cmocka_unit_test(test_params_object),
        cmocka_unit_test(test_describe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
