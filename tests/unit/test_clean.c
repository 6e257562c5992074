/* vmgatectl exec's output cleaning and prompt detection, on recorded busybox ash output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "vg_clean.h"

static regex_t prompt;

static int setup(void **state)
{
    (void)state;
    return regcomp(&prompt, "[#$] $", REG_EXTENDED | REG_NOSUB);
}

static int teardown(void **state)
{
    (void)state;
    regfree(&prompt);
    return 0;
}

static void feed(vg_clean *c, const char *s)
{
    assert_int_equal(vg_clean_feed(c, (const unsigned char *)s, strlen(s), NULL), VG_OK);
}

/* Cleans `raw` fed in pieces of `step` bytes, so every sequence gets split somewhere. */
static void expect_clean(const char *raw, const char *want)
{
    for (size_t step = 1; step <= strlen(raw) + 1; step++) {
        vg_clean c;
        vg_clean_init(&c, 1 << 20);
        for (size_t i = 0; i < strlen(raw); i += step) {
            size_t n = strlen(raw) - i < step ? strlen(raw) - i : step;
            assert_int_equal(vg_clean_feed(&c, (const unsigned char *)raw + i, n, NULL), VG_OK);
        }
        assert_string_equal(c.text ? c.text : "", want);
        vg_clean_free(&c);
    }
}

static void test_strip_sequences(void **state)
{
    (void)state;
    expect_clean("plain text\r\n", "plain text\n");
    expect_clean("testvm# \x1b[6n", "testvm# ");
    expect_clean("\x1b[1;32mgreen\x1b[0m\x1b[K", "green");
    expect_clean("\x1b[?2004h\x1b[?25lx", "x");
    expect_clean("\x1b]0;title\x07"
                 "after",
                 "after");
    expect_clean("\x1b]2;title\x1b\\after", "after");
    expect_clean("\x1b"
                 "Pdcs data\x1b\\ok",
                 "ok");
    expect_clean("\x1b(Bcharset\x1b)0", "charset");
    expect_clean("\x1b"
                 "7saved\x1b"
                 "8",
                 "saved");
    expect_clean("tab\there\a\x01\x7f\r", "tab\there");
    expect_clean("caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac"); /* UTF-8 kept */
    expect_clean("\x1b[", "");                                            /* cut short */
}

static void test_backspace(void **state)
{
    (void)state;
    expect_clean("ecg\b \bho hi", "echo hi");
    expect_clean("a\n\b\bb", "a\nb"); /* never erases past a line break */
    expect_clean("\b\bx", "x");
}

static void test_max_and_clear(void **state)
{
    (void)state;
    vg_clean c;
    vg_clean_init(&c, 4);
    feed(&c, "abcdef");
    assert_string_equal(c.text, "abcd");
    assert_true(c.overflow);
    vg_clean_clear(&c);
    assert_int_equal(c.len, 0);
    assert_false(c.overflow);
    /* the escape state survives clear: a sequence split across it is still removed */
    feed(&c, "\x1b[");
    vg_clean_clear(&c);
    feed(&c, "6nok");
    assert_string_equal(c.text, "ok");
    vg_clean_free(&c);
}

static void test_at_prompt(void **state)
{
    (void)state;
    vg_clean c;
    vg_clean_init(&c, 1 << 20);
    assert_false(vg_clean_at_prompt(&c, &prompt)); /* nothing yet */
    feed(&c, "booting...\r\n");
    assert_false(vg_clean_at_prompt(&c, &prompt)); /* empty last line */
    feed(&c, "testvm# ");
    assert_true(vg_clean_at_prompt(&c, &prompt));
    feed(&c, "\x1b[6n");
    assert_true(vg_clean_at_prompt(&c, &prompt)); /* the cursor query changes nothing */
    feed(&c, "x");
    assert_false(vg_clean_at_prompt(&c, &prompt));
    vg_clean_clear(&c);
    feed(&c, "$ ");
    assert_true(vg_clean_at_prompt(&c, &prompt)); /* a prompt with no line before it */
    vg_clean_free(&c);
}

static void scan(const char *raw, const char *cmd, vg_transcript *t, vg_clean *c)
{
    vg_clean_init(c, 1 << 20);
    feed(c, raw);
    vg_transcript_scan(c->text ? c->text : "", c->len, cmd, &prompt, t);
}

static void expect_output(const char *raw, const char *cmd, const char *want)
{
    vg_clean c;
    vg_transcript t;
    scan(raw, cmd, &t, &c);
    assert_true(t.echo_done);
    assert_true(t.prompt);
    assert_true(t.out_end >= t.out_start);
    assert_int_equal(t.out_end - t.out_start, strlen(want));
    assert_memory_equal(c.text + t.out_start, want, strlen(want));
    vg_clean_free(&c);
}

static void test_transcript(void **state)
{
    (void)state;
    /* what busybox ash on ttyS0 sends for `echo hello-$((6*7))` */
    expect_output("echo hello-$((6*7))\r\nhello-42\r\ntestvm# \x1b[6n", "echo hello-$((6*7))",
                  "hello-42\n");
    expect_output("true\r\ntestvm# \x1b[6n", "true", "");
    expect_output("ls /\r\nbin\r\ndev\r\netc\r\n$ ", "ls /", "bin\ndev\netc\n");
    /* output that itself looks like a prompt line is fine while more lines follow */
    expect_output("cat f\r\n# comment\r\nx$ y\r\ntestvm# ", "cat f", "# comment\nx$ y\n");
    /* a long command wrapped by the line editor */
    expect_output("echo aaaaaaaaaa\r\nbbbbbbbbbb \rcccc\r\naaaaaaaaaabbbbbbbbbbcccc\r\n# ",
                  "echo aaaaaaaaaabbbbbbbbbbcccc", "aaaaaaaaaabbbbbbbbbbcccc\n");
}

static void test_transcript_incomplete(void **state)
{
    (void)state;
    vg_clean c;
    vg_transcript t;
    /* echo not finished yet */
    scan("echo hel", "echo hello", &t, &c);
    assert_false(t.echo_done);
    assert_false(t.prompt);
    vg_clean_free(&c);
    /* echo complete but no line break after it yet */
    scan("echo hello", "echo hello", &t, &c);
    assert_false(t.echo_done);
    vg_clean_free(&c);
    /* command running, no prompt yet */
    scan("sleep 100\r\n", "sleep 100", &t, &c);
    assert_true(t.echo_done);
    assert_false(t.prompt);
    assert_int_equal(t.out_start, c.len);
    vg_clean_free(&c);
    /* partial output: the last line is not a prompt */
    scan("seq 3\r\n1\r\n2\r\n3", "seq 3", &t, &c);
    assert_false(t.prompt);
    assert_int_equal(t.out_end, c.len);
    assert_string_equal(c.text + t.out_start, "1\n2\n3");
    vg_clean_free(&c);
    /* the prompt regex only looks at the last line, after the echo */
    scan("echo '# '\r\n", "echo '# '", &t, &c);
    assert_false(t.prompt);
    vg_clean_free(&c);
}

static void test_transcript_foreign_echo(void **state)
{
    (void)state;
    /* something else was printed before the echo: the first line is still skipped */
    expect_output("kernel: msg\r\nout\r\n# ", "uptime", "out\n");
    /* ... and when the echo itself comes later, everything up to its line break is skipped
     * (a real guest right after boot: the echo was taken for output) */
    expect_output("\r\nlate line\r\necho $((6*7))\r\n42\r\ntestvm# ", "echo $((6*7))", "42\n");
    expect_output("junk echo hi\r\nhi\r\n# ", "echo hi", "hi\n");
    /* typed before ash entered raw mode: the tty echoed the line, then ash did after its prompt */
    expect_output("echo $((6*7))\r\ntestvm# echo $((6*7))\r\n42\r\ntestvm# ", "echo $((6*7))",
                  "42\n");
    expect_output("echo $((6*7))\r\necho $((6*7))\r\n42\r\ntestvm# ", "echo $((6*7))", "42\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strip_sequences),
        cmocka_unit_test(test_backspace),
        cmocka_unit_test(test_max_and_clear),
        cmocka_unit_test(test_at_prompt),
        cmocka_unit_test(test_transcript),
        cmocka_unit_test(test_transcript_incomplete),
        cmocka_unit_test(test_transcript_foreign_echo),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
