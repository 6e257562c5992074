/* vmgatectl's key=value words → the params object of a method call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_params.h"

/* The fake file system of @file: "spec.json" holds an object, "-" is stdin, the rest fail. */
static char *fake_read(const char *path, void *ud, vg_err *err)
{
    int *reads = ud;
    (*reads)++;
    if (strcmp(path, "spec.json") == 0)
        return strdup("{\"name\": \"web1\", \"vcpus\": 2}\n");
    if (strcmp(path, "-") == 0)
        return strdup("[1, 2]");
    if (strcmp(path, "bad.json") == 0)
        return strdup("{\"name\":");
    vg_fail(err, VG_E_BAD_REQUEST, "cannot read %s: No such file or directory", path);
    return NULL;
}

/* Builds params from the words and compares their compact JSON with want (NULL: must fail,
 * the message containing needle). */
static void check(const char *want, const char *needle, int n, ...)
{
    char *words[16];
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        words[i] = va_arg(ap, char *);
    va_end(ap);
    cJSON *params = (cJSON *)1;
    vg_err err = {0};
    int reads = 0;
    int rc = ctl_params_build(words, n, fake_read, &reads, &params, &err);
    if (!want) {
        assert_int_equal(rc, VG_ERR);
        assert_null(params);
        if (!strstr(err.msg, needle))
            fail_msg("error \"%s\" does not mention \"%s\"", err.msg, needle);
        return;
    }
    if (rc != VG_OK)
        fail_msg("unexpected error: %s", err.msg);
    char *text = cJSON_PrintUnformatted(params);
    assert_string_equal(text, want);
    free(text);
    cJSON_Delete(params);
}

static void test_strings_and_json(void **state)
{
    (void)state;
    check("{}", NULL, 0);
    check("{\"vm\":\"web1\"}", NULL, 1, "vm=web1");
    check("{\"n\":5,\"f\":1.5,\"neg\":-3,\"t\":true,\"no\":false,\"z\":null}", NULL, 6, "n=5",
          "f=1.5", "neg=-3", "t=true", "no=false", "z=null");
    check("{\"s\":\"quoted\",\"o\":{\"a\":[1,\"x\"]},\"a\":[]}", NULL, 3, "s=\"quoted\"",
          "o={\"a\":[1,\"x\"]}", "a=[]");
    /* not JSON, so strings: words, leading zeros, blanks, half objects, empty */
    check("{\"x\":\"1.\",\"y\":\"-\",\"z\":\"1e\",\"w\":100000}", NULL, 4, "x=1.", "y=-", "z=1e",
          "w=1e+5");
    check("{\"a\":\"nope\",\"b\":\"007\",\"c\":\" 5\",\"d\":\"{x\",\"e\":\"\",\"f\":\"1e999\"}",
          NULL, 6, "a=nope", "b=007", "c= 5", "d={x", "e=", "f=1e999");
    /* the value may hold '=' */
    check("{\"q\":\"a=b=c\"}", NULL, 1, "q=a=b=c");
}

static void test_escape_and_forced(void **state)
{
    (void)state;
    check("{\"a\":\"5\",\"b\":\"true\",\"c\":\"@file\",\"d\":\"\\\\x\"}", NULL, 4, "a=\\5",
          "b=\\true", "c=\\@file", "d=\\\\x");
    check("{\"n\":7,\"s\":\"x\"}", NULL, 2, "n:=7", "s:=\"x\"");
    check(NULL, "not valid JSON", 1, "n:=seven");
    check(NULL, "not valid JSON", 1, "n:=");
    check(NULL, "not valid JSON", 1, "n:=1e999");
}

static void test_files(void **state)
{
    (void)state;
    check("{\"project\":\"p1\",\"spec\":{\"name\":\"web1\",\"vcpus\":2}}", NULL, 2, "project=p1",
          "spec=@spec.json");
    check("{\"ids\":[1,2]}", NULL, 1, "ids=@-");
    check("{\"ids\":[1,2]}", NULL, 1, "ids:=@-");
    check(NULL, "only one value", 2, "a=@-", "b=@-");
    check(NULL, "No such file", 1, "spec=@missing.json");
    check(NULL, "does not hold one valid JSON", 1, "spec=@bad.json");
}

static void test_nested_keys(void **state)
{
    (void)state;
    check("{\"name\":\"p1\",\"quotas\":{\"instances\":5,\"vcpus\":8}}", NULL, 3, "name=p1",
          "quotas.instances=5", "quotas.vcpus=8");
    check("{\"a\":{\"b\":{\"c\":\"d\"}}}", NULL, 1, "a.b.c=d");
    /* an object given whole can be extended by dotted keys */
    check("{\"q\":{\"x\":1,\"y\":2}}", NULL, 2, "q={\"x\":1}", "q.y=2");
    check(NULL, "given twice", 2, "vm=a", "vm=b");
    check(NULL, "given twice", 2, "q.x=1", "q.x=2");
    check(NULL, "non-object", 2, "q=1", "q.x=2");
    check(NULL, "not key=value", 1, "web1");
    check(NULL, "not key=value", 1, "=x");
    check(NULL, "empty or over-long key", 1, ":=1");
    check(NULL, "empty or over-long key part", 1, "a..b=1");
    check(NULL, "empty or over-long key part", 1, ".a=1");
    check(NULL, "empty or over-long key part", 1, "a.=1");
    check(NULL, "letters, digits", 1, "a b=1");
    check(NULL, "letters, digits", 1, "a/b=1");
    check(NULL, "at most 8 deep", 1, "a.b.c.d.e.f.g.h.i=1");
    check("{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":1}}}}}}}}", NULL, 1,
          "a.b.c.d.e.f.g.h=1");
}

static void test_read_file(void **state)
{
    (void)state;
    vg_err err = {0};
    char path[] = "/tmp/test_ctl_params_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{\"a\":1}", 7), 7);
    close(fd);
    char *text = ctl_params_read_file(path, NULL, &err);
    assert_non_null(text);
    assert_string_equal(text, "{\"a\":1}");
    free(text);
    /* over the limit */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i <= CTL_PARAMS_MAX_FILE; i++)
        fputc(' ', f);
    fclose(f);
    assert_null(ctl_params_read_file(path, NULL, &err));
    assert_int_equal(err.code, VG_E_TOO_BIG);
    unlink(path);
    assert_null(ctl_params_read_file(path, NULL, &err));
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "cannot read"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings_and_json),
        cmocka_unit_test(test_escape_and_forced),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_nested_keys),
        cmocka_unit_test(test_read_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
