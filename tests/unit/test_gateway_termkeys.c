/* console.key's key names as terminal bytes (gateway/console/termkeys.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "console/termkeys.h"

static int encode(const char *json, unsigned char *out, size_t *n, vg_err *err)
{
    cJSON *keys = cJSON_Parse(json);
    int rc = gw_termkeys_encode(keys, out, 512, n, err);
    cJSON_Delete(keys);
    return rc;
}

static void test_keys(void **state)
{
    (void)state;
    unsigned char out[512];
    size_t n;
    vg_err err;
    assert_int_equal(
        encode("[\"up\",\"enter\",\"ctrl-c\",\"ctrl-d\",\"f1\",\"f12\",\"tab\"]", out, &n, &err),
        VG_OK);
    const char want[] = "\x1b[A\r\x03\x04\x1bOP\x1b[24~\t";
    assert_int_equal(n, sizeof(want) - 1);
    assert_memory_equal(out, want, n);
    const char *bad[] = {"[]",  "\"enter\"",   "[\"ctrl-1\"]", "[\"Enter\"]",
                         "[5]", "[\"ctrl-\"]", "[\"ctrl-ab\"]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(encode(bad[i], out, &n, &err), VG_ERR);
        assert_int_equal(err.code, VG_E_BAD_REQUEST);
    }
    /* 65 keys are too many */
    char many[1024] = "[";
    for (int i = 0; i < 65; i++)
        strcat(many, i ? ",\"tab\"" : "\"tab\"");
    strcat(many, "]");
    assert_int_equal(encode(many, out, &n, &err), VG_ERR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_keys)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
