/* vg_query: the query strings of /ws/console (gateway) and /link/console (hostd). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "vg_query.h"

/* Splits q and writes the arguments as "key=value|" each, so a test reads as one string. */
static const char *split(const char *q)
{
    static char out[256];
    out[0] = '\0';
    const char *p = q, *end = q + strlen(q);
    vg_query_arg a;
    while (vg_query_next(&p, end, &a)) {
        assert_true(a.key >= q && a.key + a.klen <= end);
        assert_true(a.val >= q && a.val + a.vlen <= end);
        size_t n = strlen(out);
        snprintf(out + n, sizeof(out) - n, "%.*s=%.*s|", (int)a.klen, a.key, (int)a.vlen, a.val);
    }
    assert_ptr_equal(p, end);
    return out;
}

static void test_split(void **state)
{
    (void)state;
    assert_string_equal(split(""), "");
    assert_string_equal(split("vm=a"), "vm=a|");
    assert_string_equal(split("vm=a&dev=serial0"), "vm=a|dev=serial0|");
    /* no '=': an empty value; a second '=' belongs to the value */
    assert_string_equal(split("take&x=1=2"), "take=|x=1=2|");
    assert_string_equal(split("a=&=b"), "a=|=b|");
    /* empty arguments come out as empty keys; a trailing '&' adds nothing */
    assert_string_equal(split("a=1&&b=2&"), "a=1|=|b=2|");
    assert_string_equal(split("&"), "=|");
}

static void test_split_stops_at_len(void **state)
{
    (void)state;
    const char *q = "vm=a&dev=b";
    const char *p = q, *end = q + 6; /* "vm=a&d" */
    vg_query_arg a;
    assert_int_equal(vg_query_next(&p, end, &a), 1);
    assert_int_equal(vg_query_next(&p, end, &a), 1);
    assert_int_equal(a.klen, 1);
    assert_int_equal(a.vlen, 0);
    assert_int_equal(vg_query_next(&p, end, &a), 0);
    assert_ptr_equal(p, end);
}

static void test_is(void **state)
{
    (void)state;
    const char *q = "offset=1&off=2&take";
    const char *p = q, *end = q + strlen(q);
    vg_query_arg a;
    assert_int_equal(vg_query_next(&p, end, &a), 1);
    assert_true(vg_query_is(&a, "offset"));
    assert_false(vg_query_is(&a, "off"));
    assert_false(vg_query_is(&a, "offsets"));
    assert_int_equal(vg_query_next(&p, end, &a), 1);
    assert_true(vg_query_is(&a, "off"));
    assert_false(vg_query_is(&a, "offset"));
    assert_int_equal(vg_query_next(&p, end, &a), 1);
    assert_true(vg_query_is(&a, "take"));
    assert_false(vg_query_is(&a, ""));
}

static void test_copy(void **state)
{
    (void)state;
    const char *q = "vm=abcd&dev=";
    const char *p = q, *end = q + strlen(q);
    vg_query_arg a;
    char dst[5];
    assert_int_equal(vg_query_next(&p, end, &a), 1);
    assert_int_equal(vg_query_copy(&a, dst, sizeof(dst)), VG_OK);
    assert_string_equal(dst, "abcd");
    /* one byte short of the NUL: refused, dst untouched */
    char small[4] = "xyz";
    assert_int_equal(vg_query_copy(&a, small, sizeof(small)), VG_ERR);
    assert_string_equal(small, "xyz");
    assert_int_equal(vg_query_next(&p, end, &a), 1);
    assert_int_equal(vg_query_copy(&a, dst, sizeof(dst)), VG_OK);
    assert_string_equal(dst, "");
    assert_int_equal(vg_query_copy(&a, small, 1), VG_OK);
    assert_string_equal(small, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_split_stops_at_len),
        cmocka_unit_test(test_is),
        cmocka_unit_test(test_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
