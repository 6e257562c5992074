/* gateway http: the cross-site rules of POST /api/v1 (docs/security.md "Transport") and the
 * Content-Length check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "net/http.h"

#define HOST "gw.example:8443"

static void test_cross_site(void **state)
{
    (void)state;
    const char *self = "https://" HOST, *evil = "https://evil.example";
    /* bearer: a script had to add it, and a foreign page cannot read the answer */
    assert_null(gw_http_cross_site(NULL, HOST, "", GW_TOKEN_BEARER, 0));
    assert_null(gw_http_cross_site(evil, HOST, "", GW_TOKEN_BEARER, 0));
    /* cookie: this origin, an allowed one, or no origin with the custom header */
    assert_null(gw_http_cross_site(self, HOST, "", GW_TOKEN_COOKIE, 0));
    assert_null(
        gw_http_cross_site("https://ui.example", HOST, "https://ui.example", GW_TOKEN_COOKIE, 0));
    assert_null(gw_http_cross_site(NULL, HOST, "", GW_TOKEN_COOKIE, 1));
    assert_non_null(gw_http_cross_site(evil, HOST, "", GW_TOKEN_COOKIE, 1));
    assert_non_null(gw_http_cross_site("null", HOST, "", GW_TOKEN_COOKIE, 0));
    assert_non_null(gw_http_cross_site("http://" HOST, HOST, "", GW_TOKEN_COOKIE, 0));
    assert_non_null(gw_http_cross_site(NULL, HOST, "", GW_TOKEN_COOKIE, 0));
    /* no credentials (login): only a foreign origin is refused */
    assert_null(gw_http_cross_site(NULL, HOST, "", GW_TOKEN_NONE, 0));
    assert_null(gw_http_cross_site(self, HOST, "", GW_TOKEN_NONE, 0));
    assert_non_null(gw_http_cross_site(evil, HOST, "", GW_TOKEN_NONE, 0));
    assert_non_null(gw_http_cross_site(evil, "", NULL, GW_TOKEN_NONE, 0));
}

static int length(const char *value, size_t *out, vg_err *err)
{
    memset(err, 0, sizeof(*err));
    return gw_http_content_length(value, strlen(value), 65536, out, err);
}

/* Issue 9: `Content-Length: -5` (atoll) made the gateway wait for a body that never came. */
static void test_content_length(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        size_t n;
    } good[] = {{"0", 0}, {"5", 5}, {"65536", 65536}, {"007", 7}, {" 12\t", 12}, {"\t 3 ", 3}};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        size_t n = 99;
        vg_err err;
        if (length(good[i].value, &n, &err) != VG_OK)
            fail_msg("refused \"%s\": %s", good[i].value, err.msg);
        assert_int_equal(n, good[i].n);
    }
    static const char *const bad[] = {
        "-5", "+5", "", "  ", "abc", "5x", "0x10", "1e3", "5.0", "5,5", "2,2", "5 5", "- 5", "٣",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n = 99;
        vg_err err;
        if (length(bad[i], &n, &err) != VG_ERR)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(err.code, VG_E_BAD_REQUEST);
        assert_int_equal(n, 99);
        assert_non_null(strstr(err.msg, "Content-Length"));
    }
    /* well-formed but over the limit, however many digits: the length comes back (saturated)
     * so that the caller can read the body away before it closes */
    static const struct {
        const char *value;
        size_t n;
    } big[] = {{"65537", 65537},
               {"10485760", 10485760},
               {"18446744073709551615", SIZE_MAX},
               {"18446744073709551616", SIZE_MAX},
               {"99999999999999999999999999999999999999", SIZE_MAX}};
    for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
        size_t n = 99;
        vg_err err;
        assert_int_equal(length(big[i].value, &n, &err), VG_ERR);
        assert_int_equal(err.code, VG_E_TOO_BIG);
        assert_true(n == big[i].n);
    }
    /* digits past the limit still have to be digits */
    size_t n;
    vg_err err;
    assert_int_equal(length("99999999999999999999x", &n, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    /* a NUL inside the header value is no end of it */
    assert_int_equal(gw_http_content_length("5\0"
                                            "9",
                                            3, 65536, &n, &err),
                     VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cross_site),
        cmocka_unit_test(test_content_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
