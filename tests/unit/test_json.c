/* vg_json_parse: the strict JSON parser of every untrusted input (issue 9: trailing data,
 * \u0000 and duplicate keys were accepted). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vg_json.h"

static cJSON *parse_n(const char *text, size_t len, vg_err *err)
{
    memset(err, 0, sizeof(*err));
    return vg_json_parse(text, len, err);
}

static cJSON *parse(const char *text, vg_err *err)
{
    return parse_n(text, strlen(text), err);
}

/* text is refused with bad_request and a message holding want. */
static void refused_n(const char *text, size_t len, const char *want)
{
    vg_err err;
    cJSON *v = parse_n(text, len, &err);
    if (v)
        fail_msg("accepted: %.*s", (int)len, text);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    if (!strstr(err.msg, want))
        fail_msg("for %.*s: message \"%s\" lacks \"%s\"", (int)len, text, err.msg, want);
}

static void refused(const char *text, const char *want)
{
    refused_n(text, strlen(text), want);
}

static void accepted(const char *text)
{
    vg_err err;
    cJSON *v = parse(text, &err);
    if (!v)
        fail_msg("refused %s: %s", text, err.msg);
    cJSON_Delete(v);
}

static void test_valid_json_parses(void **state)
{
    (void)state;
    accepted("{}");
    accepted(" \t\r\n{\"a\": [1, 2.5, -3e2, true, false, null, \"x\"]} \r\n\t ");
    accepted("[]");
    accepted("\"just a string\"");
    accepted("42");
    accepted("{\"a\":{\"a\":{\"a\":1}}}");  /* one key per object, at each depth */
    accepted("[{\"k\":1},{\"k\":2}]");      /* equal keys in sibling objects */
    accepted("{\"k\":1,\"K\":2,\"k \":3}"); /* keys differ by case or a space */
    accepted("{\"q\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0041 \\u00e9 \\ud83d\\ude00\"}");
    accepted("{\"s\":\"\\\\u0000\"}");     /* an escaped backslash, then text */
    accepted("{\"s\":\"\\\\\\\\u0000\"}"); /* two escaped backslashes, then text */
    accepted("{\"s\":\"\\u0001 \\u001f \\u0100 \\u00E9\"}"); /* other low code points */

    vg_err err;
    cJSON *v = parse("{\"vm\":\"rel1\",\"n\":5}", &err);
    assert_non_null(v);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(v, "vm")->valuestring, "rel1");
    cJSON_Delete(v);
}

static void test_trailing_data_refused(void **state)
{
    (void)state;
    refused("{} xx", "data after the value at byte 3");
    refused("{}{}", "byte 2");
    refused("{\"a\":1}]", "byte 7");
    refused("1 2", "byte 2");
    refused("\"a\" \"b\"", "byte 4");
    refused("{}\n//comment", "byte 3");
    refused_n("{}\0", 3, "byte 2"); /* a NUL is no end of the text */
    refused_n("{} \0xx", 6, "byte 3");
}

static void test_nul_refused(void **state)
{
    (void)state;
    refused("{\"vm\":\"rel1\\u0000x\"}", "\\u0000 inside a string");
    refused("{\"vm\":\"\\u0000\"}", "\\u0000");
    refused("{\"vm\\u0000x\":\"rel1\"}", "\\u0000"); /* in a key */
    refused("[1,[2,[\"a\\u0000\"]]]", "\\u0000");    /* deep in arrays */
    refused("{\"a\":\"\\\\\\u0000\"}", "\\u0000");   /* after an escaped backslash */
    refused("{\"a\":\"\\\"\\u0000\"}", "\\u0000");   /* after an escaped quote */
    refused("\"\\u00000\"", "\\u0000");
    /* cJSON reads a \u escape with any non-hex digit as code point 0 */
    refused("{\"vm\":\"rel1\\u12zzx\"}", "\\u escape without four hex digits at byte 11");
    refused("{\"vm\":\"\\uGGGG\"}", "four hex digits");
    refused("{\"vm\":\"\\u\\\"00\"}", "four hex digits");
    refused_n("{\"vm\":\"\\u\\\0"
              "0000\"}",
              17, "four hex digits");                                      /* found by fuzz_json */
    refused_n("{\"vm\":\"rel1\0x\"}", 15, "control character at byte 11"); /* raw NUL */
    refused("{\"vm\":\"a\x01\"}", "control character");
    refused("{\"vm\":\"a\tb\"}", "control character"); /* JSON wants \t escaped */
    refused("{\"vm\":\"a\nb\"}", "control character");
    /* cJSON takes any byte up to space as whitespace between tokens; JSON does not */
    refused("{\x01}", "control character at byte 1");
    refused("\x0b{}", "control character at byte 0");
    refused_n("{\"a\":\0 1}", 9, "control character at byte 5");
}

static void test_utf8(void **state)
{
    (void)state;
    accepted("{\"name\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}");
    /* found by fuzz_hostd_poolspec: a lone byte that libxml2 then refused */
    refused("{\"d\":\"/dev/sd\xe3\"}", "not UTF-8 at byte 13");
    refused("{\"d\":\"\xc0\xaf\"}", "not UTF-8");         /* overlong '/' */
    refused("{\"d\":\"\xed\xa0\x80\"}", "not UTF-8");     /* a surrogate */
    refused("{\"d\":\"\xf4\x90\x80\x80\"}", "not UTF-8"); /* past U+10FFFF */
    refused("{\"d\":\"\x80\"}", "not UTF-8");             /* a continuation byte alone */
    refused("{\"d\":\"\xe2\x82\"}", "not UTF-8");         /* cut short */
}

static void test_duplicate_keys_refused(void **state)
{
    (void)state;
    refused("{\"vm\":\"rel1\",\"vm\":\"rel2\"}", "the key \"vm\" appears twice");
    refused("{\"a\":1,\"b\":2,\"a\":1}", "\"a\"");
    refused("{\"x\":{\"k\":1,\"k\":2}}", "\"k\"");
    refused("[0,{\"spec\":[{\"n\":1,\"n\":2}]}]", "\"n\"");
    refused("{\"\":1,\"\":2}", "\"\"");
    /* escapes are compared by what they mean */
    refused("{\"a\":1,\"\\u0061\":2}", "\"a\"");
}

/* Many keys: the check sorts, so a large object costs no n^2 comparisons. */
static void test_many_keys(void **state)
{
    (void)state;
    enum { N = 6000 };
    size_t cap = N * 16 + 16, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    text[n++] = '{';
    for (int i = 0; i < N; i++)
        n += (size_t)snprintf(text + n, cap - n, "%s\"k%d\":%d", i ? "," : "", i, i);
    text[n++] = '}';
    vg_err err;
    cJSON *v = parse_n(text, n, &err);
    assert_non_null(v);
    assert_int_equal(cJSON_GetArraySize(v), N);
    cJSON_Delete(v);
    /* the same with the first key again at the end */
    n--;
    n += (size_t)snprintf(text + n, cap - n, ",\"k0\":1}");
    refused_n(text, n, "\"k0\"");
    free(text);
}

static void test_malformed_refused(void **state)
{
    (void)state;
    refused("", "invalid JSON at byte 0");
    refused("   ", "invalid JSON");
    refused("{", "invalid JSON");
    refused("{\"a\":}", "invalid JSON");
    refused("nul", "invalid JSON");
    refused("{'a':1}", "invalid JSON");
    refused("\"\\u00\"", "invalid JSON");
    /* no error context: still refused, nothing written */
    assert_null(vg_json_parse("{} x", 4, NULL));
    assert_null(vg_json_parse("{\"a\":1,\"a\":1}", 13, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_json_parses),
        cmocka_unit_test(test_trailing_data_refused),
        cmocka_unit_test(test_nul_refused),
        cmocka_unit_test(test_duplicate_keys_refused),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_malformed_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
