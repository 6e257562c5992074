/* hostd/recording/cast.c: console bytes as the inside of an asciicast event's JSON string. */
#include "recording/cast.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

static char out[HD_CAST_ESCAPED_MAX(64)];

static const char *esc(hd_cast_carry *cy, const char *s, size_t n)
{
    size_t len = hd_cast_escape(cy, (const unsigned char *)s, n, out);
    out[len] = '\0';
    return out;
}

static void test_plain_and_json_escapes(void **state)
{
    (void)state;
    hd_cast_carry cy = {0};
    assert_string_equal(esc(&cy, "a\"b\\c\r\n\t", 8), "a\\\"b\\\\c\\r\\n\\t");
    assert_string_equal(esc(&cy, "\x1b[0m\x7f", 5), "\\u001b[0m\\u007f");
    assert_int_equal(cy.n, 0);
}

static void test_utf8_split_between_chunks_is_carried(void **state)
{
    (void)state;
    hd_cast_carry cy = {0};
    const char *euro = "\xe2\x82\xac"; /* U+20AC in three bytes, fed one at a time */
    assert_string_equal(esc(&cy, euro, 1), "");
    assert_string_equal(esc(&cy, euro + 1, 1), "");
    assert_string_equal(esc(&cy, euro + 2, 1), euro);
    assert_string_equal(esc(&cy, "x\xf0\x9f", 3), "x"); /* half an emoji */
    assert_string_equal(esc(&cy, "\x98\x80y", 3), "\xf0\x9f\x98\x80y");
    assert_int_equal(cy.n, 0);
}

static void test_invalid_bytes_become_replacement_characters(void **state)
{
    (void)state;
    hd_cast_carry cy = {0};
    /* a lone continuation byte, an overlong '/', a surrogate, a byte never valid */
    assert_string_equal(esc(&cy, "\x80|\xc0\xaf|\xed\xa0\x80|\xff", 10),
                        "\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|\\ufffd");
    /* a carried start that the next chunk does not continue */
    assert_string_equal(esc(&cy, "\xe2", 1), "");
    assert_string_equal(esc(&cy, "A", 1), "\\ufffdA");
    assert_int_equal(cy.n, 0);
}

static void test_worst_case_fits(void **state)
{
    (void)state;
    hd_cast_carry cy = {0};
    char in[64];
    memset(in, 0x01, sizeof(in));
    assert_true(hd_cast_escape(&cy, (const unsigned char *)in, sizeof(in), out) <= sizeof(out));
    memset(in, 0xff, sizeof(in));
    assert_true(hd_cast_escape(&cy, (const unsigned char *)in, sizeof(in), out) <= sizeof(out));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_json_escapes),
        cmocka_unit_test(test_utf8_split_between_chunks_is_carried),
        cmocka_unit_test(test_invalid_bytes_become_replacement_characters),
        cmocka_unit_test(test_worst_case_fits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
