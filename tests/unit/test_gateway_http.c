/* gateway http: the cross-site rules of POST /api/v1 (docs/security.md "Transport"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cross_site),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
