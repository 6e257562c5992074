/* gateway api/schema: every field type accepts what it names and refuses the rest with
 * bad_request naming the field; unknown and missing fields; api.methods' description; and every
 * method's table is complete (a doc line per field, its target required, sane ranges). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "api/api_int.h"
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
    {"media", GW_F_STRING, GW_F_NULLABLE, 0, 16, NULL, "a medium, or null"},
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
    check("{\"vm\":\"web1\",\"media\":null}", NULL);
    check("{\"vm\":\"web1\",\"media\":\"iso/x.iso\"}", NULL);
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
    check("{\"vm\":\"a\",\"media\":3}", "\"media\" must be a string, or null");
    check("{\"vm\":\"a\",\"media\":\"12345678901234567\"}", "at most 16 characters, or null");
    check("{\"vm\":\"a\",\"count\":null}", "whole number"); /* null only where allowed */
}

static void test_one_field(void **state)
{
    (void)state;
    cJSON *p = cJSON_Parse("{\"vm\":\"web1\",\"count\":99}");
    vg_err err = {0};
    /* only the field asked about: the other one's range does not matter here */
    assert_int_equal(gw_schema_check_field(&fields[0], p, &err), VG_OK);
    assert_int_equal(gw_schema_check_field(&fields[2], p, &err), VG_ERR);
    assert_non_null(strstr(err.msg, "\"count\""));
    const gw_field eject = {"media", GW_F_STRING, GW_F_REQUIRED | GW_F_NULLABLE, 0, 8, NULL, "m"};
    assert_int_equal(gw_schema_check_field(&eject, p, &err), VG_ERR);
    assert_non_null(strstr(err.msg, "\"media\" is required"));
    cJSON_AddNullToObject(p, "media");
    assert_int_equal(gw_schema_check_field(&eject, p, &err), VG_OK);
    cJSON_Delete(p);
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
    assert_int_equal(cJSON_GetArraySize(d), 9);
    const cJSON *vm = cJSON_GetArrayItem(d, 0), *count = cJSON_GetArrayItem(d, 2),
                *mode = cJSON_GetArrayItem(d, 4);
    assert_string_equal(cJSON_GetObjectItem(vm, "type")->valuestring, "name");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(vm, "required")));
    assert_string_equal(cJSON_GetObjectItem(vm, "doc")->valuestring, "the VM");
    assert_int_equal(cJSON_GetObjectItem(count, "min")->valueint, -3);
    assert_int_equal(cJSON_GetObjectItem(count, "max")->valueint, 10);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(count, "required")));
    assert_string_equal(cJSON_GetObjectItem(mode, "choices")->valuestring, "ro|rw");
    assert_null(cJSON_GetObjectItem(vm, "nullable"));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 8), "nullable")));
    cJSON_Delete(d);
}

static const gw_field *field_of(const gw_field *fields_, const char *name)
{
    for (const gw_field *f = fields_; f->name; f++)
        if (!strcmp(f->name, name))
            return f;
    return NULL;
}

/* What api.methods, vmgatectl help and the docs test rely on, for every method. */
static void test_method_tables(void **state)
{
    (void)state;
    static const char *const targets[] = {
        [GW_SCOPE_PROJECT] = "project", [GW_SCOPE_VM] = "vm", [GW_SCOPE_ENV] = "env"};
    for (const gw_method *m = gw_api_next(NULL); m; m = gw_api_next(m)) {
        assert_non_null(m->params);
        for (const gw_field *f = m->params; f->name; f++) {
            if (!f->doc || !f->doc[0])
                fail_msg("%s: field %s has no doc line", m->name, f->name);
            if (field_of(m->params, f->name) != f)
                fail_msg("%s: field %s twice", m->name, f->name);
            if (f->min > f->max && f->type != GW_F_NAME && f->type != GW_F_BOOL &&
                f->type != GW_F_ENUM && f->type != GW_F_OBJECT)
                fail_msg("%s: field %s has min > max", m->name, f->name);
            if ((f->type == GW_F_STRING || f->type == GW_F_NAMES || f->type == GW_F_ARRAY) &&
                f->max <= 0)
                fail_msg("%s: field %s has no maximum", m->name, f->name);
            if ((f->type == GW_F_ENUM) != (f->choices != NULL))
                fail_msg("%s: field %s: choices belong to enums", m->name, f->name);
        }
        const char *t = m->scope < sizeof(targets) / sizeof(targets[0]) ? targets[m->scope] : NULL;
        const gw_field *tf = t ? field_of(m->params, t) : NULL;
        if (t && (!tf || tf->type != GW_F_NAME || !(tf->flags & GW_F_REQUIRED)))
            fail_msg("%s: its target %s must be a required name", m->name, t);
        const gw_field *pw = field_of(m->params, "admin_password");
        if ((m->flags & GW_M_REAUTH) && (!pw || !(pw->flags & GW_F_REQUIRED)))
            fail_msg("%s: re-authenticated, so admin_password is required", m->name);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts),       cmocka_unit_test(test_refuses),
        cmocka_unit_test(test_params_object), cmocka_unit_test(test_describe),
        cmocka_unit_test(test_one_field),     cmocka_unit_test(test_method_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
