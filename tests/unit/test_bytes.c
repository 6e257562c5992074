/* vg_bytes: base64 both ways (strict) and UTF-8 text of console bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "vg_bytes.h"

static void roundtrip(const char *bytes, size_t n, const char *b64)
{
    char *e = vg_base64_encode((const unsigned char *)bytes, n);
    assert_string_equal(e, b64);
    unsigned char *d;
    size_t dn;
    assert_int_equal(vg_base64_decode(e, "x", &d, &dn, NULL), VG_OK);
    assert_int_equal(dn, n);
    assert_memory_equal(d, bytes, n);
    free(d);
    free(e);
}

static void test_base64(void **state)
{
    (void)state;
    roundtrip("", 0, "");
    roundtrip("f", 1, "Zg==");
    roundtrip("fo", 2, "Zm8=");
    roundtrip("foo", 3, "Zm9v");
    roundtrip("\x00\xff\x1b[A", 5, "AP8bW0E=");
    const char *bad[] = {"Zg=", "Zm9v!A==", "Z===", "Zm 9v", "====", "Zg==Zg=="};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        unsigned char *d = (unsigned char *)"untouched";
        size_t n = 7;
        vg_err err;
        assert_int_equal(vg_base64_decode(bad[i], "params.x", &d, &n, &err), VG_ERR);
        assert_int_equal(err.code, VG_E_BAD_REQUEST);
        assert_non_null(strstr(err.msg, "params.x"));
        assert_null(d);
    }
}

static void test_utf8_text(void **state)
{
    (void)state;
    char *t = vg_utf8_text((const unsigned char *)"h\xc3\xa9 \xe2\x82\xac", 7);
    assert_string_equal(t, "h\xc3\xa9 \xe2\x82\xac");
    free(t);
    /* a lone continuation byte, a truncated sequence, an overlong form, a surrogate, NUL */
    t = vg_utf8_text((const unsigned char *)"a\x80"
                                            "b\xe2\x82"
                                            "c\xc0\xaf"
                                            "d\xed\xa0\x80"
                                            "e\0f",
                     15);
    assert_string_equal(t, "a\xef\xbf\xbd"
                           "b\xef\xbf\xbd\xef\xbf\xbd"
                           "c\xef\xbf\xbd\xef\xbf\xbd"
                           "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                           "e\xef\xbf\xbd"
                           "f");
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_utf8_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
