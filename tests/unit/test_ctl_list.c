/* `vmgatectl list` output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ctl_list.h"

static void print(const char *json, int as_json, char *buf, size_t size, int rc, vg_err *err)
{
    cJSON *r = cJSON_Parse(json);
    assert_non_null(r);
    memset(buf, 0, size);
    FILE *f = fmemopen(buf, size - 1, "w");
    assert_non_null(f);
    assert_int_equal(ctl_list_print(r, as_json, f, err), rc);
    fclose(f);
    cJSON_Delete(r);
}

static void test_table(void **state)
{
    (void)state;
    char buf[2048];
    vg_err err = {0};
    print("{\"vms\":[{\"name\":\"zeta\",\"host\":\"h1\",\"state\":\"running\",\"host_up\":true,"
          "\"consoles\":[\"serial0\",\"console1\"]},"
          "{\"name\":\"alpha\",\"host\":\"long-host-name\",\"state\":\"shutoff\","
          "\"host_up\":false,\"consoles\":[]},"
          "{\"name\":\"mid\"},7]}",
          0, buf, sizeof(buf), VG_OK, &err);
    assert_string_equal(buf, "NAME   HOST            STATE      CONSOLES\n"
                             "alpha  long-host-name  host-down  -\n"
                             "mid    -               unknown    -\n"
                             "zeta   h1              running    serial0,console1\n");
}

static void test_empty(void **state)
{
    (void)state;
    char buf[256];
    vg_err err = {0};
    print("{\"vms\":[]}", 0, buf, sizeof(buf), VG_OK, &err);
    assert_string_equal(buf, "NAME  HOST  STATE  CONSOLES\n");
}

static void test_json(void **state)
{
    (void)state;
    char buf[256];
    vg_err err = {0};
    print("{\"vms\":[{\"name\":\"a\"}]}", 1, buf, sizeof(buf), VG_OK, &err);
    cJSON *back = cJSON_Parse(buf);
    assert_non_null(back);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(back, "vms"), 0), "name")
            ->valuestring,
        "a");
    cJSON_Delete(back);
}

static void test_bad_shape(void **state)
{
    (void)state;
    char buf[64];
    vg_err err = {0};
    print("{\"vms\":{}}", 0, buf, sizeof(buf), VG_ERR, &err);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    print("[]", 1, buf, sizeof(buf), VG_ERR, &err);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_bad_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
