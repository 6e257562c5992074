/* gateway auth: password hashing, token syntax and where a session token is read from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/auth.h"
#include "net/http.h"

#define TOK "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_password_hash(void **state)
{
    (void)state;
    char h1[GW_PWHASH_MAX], h2[GW_PWHASH_MAX];
    vg_err err;
    assert_int_equal(gw_auth_hash_password("s3cret", h1, sizeof(h1), &err), VG_OK);
    assert_int_equal(gw_auth_hash_password("s3cret", h2, sizeof(h2), &err), VG_OK);
    assert_true(strncmp(h1, "$argon2id$", 10) == 0);
    assert_string_not_equal(h1, h2); /* salted */
    assert_true(gw_auth_verify(h1, "s3cret"));
    assert_false(gw_auth_verify(h1, "s3cret "));
    assert_false(gw_auth_verify(h1, ""));
    assert_false(gw_auth_verify("plain", "plain"));
    assert_false(gw_auth_verify("$argon2id$garbage", "x"));
}

static void test_sha256_and_tokens(void **state)
{
    (void)state;
    char hex[65];
    gw_auth_sha256_hex("abc", hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    char t1[GW_TOKEN_HEX + 1], t2[GW_TOKEN_HEX + 1];
    assert_int_equal(gw_auth_new_token(t1), VG_OK);
    assert_int_equal(gw_auth_new_token(t2), VG_OK);
    assert_true(gw_auth_valid_token(t1, strlen(t1)));
    assert_string_not_equal(t1, t2);
    assert_false(gw_auth_valid_token(TOK "0", 65));
    assert_false(gw_auth_valid_token(
        "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", 64));
}

static void test_bearer_and_cookie(void **state)
{
    (void)state;
    char out[GW_TOKEN_HEX + 1];
    assert_true(gw_auth_parse_bearer("Bearer " TOK, out));
    assert_string_equal(out, TOK);
    assert_true(gw_auth_parse_bearer("bearer  " TOK " ", out));
    assert_false(gw_auth_parse_bearer("Basic " TOK, out));
    assert_false(gw_auth_parse_bearer("Bearer " TOK "00", out));
    assert_false(gw_auth_parse_bearer("Bearer", out));

    assert_true(gw_auth_parse_cookie("vg_session=" TOK, out));
    assert_true(gw_auth_parse_cookie("a=b; vg_session=" TOK "; c=d", out));
    assert_string_equal(out, TOK);
    assert_false(gw_auth_parse_cookie("xvg_session=" TOK, out));
    assert_false(gw_auth_parse_cookie("vg_session=short", out));
    assert_false(gw_auth_parse_cookie("", out));
    assert_false(gw_auth_parse_cookie(";;;", out));
}

static void test_origin(void **state)
{
    (void)state;
    assert_true(gw_http_origin_ok("https://gw.example:8443", "gw.example:8443", ""));
    assert_true(gw_http_origin_ok("https://GW.example:8443", "gw.example:8443", NULL));
    assert_false(gw_http_origin_ok("http://gw.example:8443", "gw.example:8443", ""));
    assert_false(gw_http_origin_ok("https://gw.example", "gw.example:8443", ""));
    assert_false(gw_http_origin_ok("https://evil.example", "gw.example:8443", ""));
    assert_false(gw_http_origin_ok("https://gw.example:8443.evil", "gw.example:8443", ""));
    assert_false(gw_http_origin_ok("null", "", ""));
    assert_true(
        gw_http_origin_ok("https://ui.example", "gw:1", "https://a.example, https://ui.example"));
    assert_false(gw_http_origin_ok("https://ui.example", "gw:1", "https://ui.example.org"));
    assert_false(gw_http_origin_ok("", "gw:1", ","));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password_hash),
        cmocka_unit_test(test_sha256_and_tokens),
        cmocka_unit_test(test_bearer_and_cookie),
        cmocka_unit_test(test_origin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
