/* vg_config: defaults, file, flags overriding the file, and every kind of bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "vg_config.h"

static char *name_opt;
static char *path_opt;
static long port_opt;
static int verbose_opt;
static int color_opt;

static const vg_opt opts[] = {
    {"name", VG_OPT_STR, "default-name", "a name", &name_opt},
    {"path", VG_OPT_STR, NULL, "a path", &path_opt},
    {"port", VG_OPT_INT, "6390", "a port", &port_opt},
    {"verbose", VG_OPT_BOOL, "false", "talk more", &verbose_opt},
    {"color", VG_OPT_BOOL, "true", "use colour", &color_opt},
    {0},
};

static int setup(void **state)
{
    (void)state;
    vg_config_defaults(opts);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    vg_config_free(opts);
    return 0;
}

static int parse(const char *text, vg_err *err)
{
    return vg_config_parse(opts, text, strlen(text), err);
}

static int args(int argc, char **argv, vg_err *err)
{
    return vg_config_args(opts, argc, argv, err);
}

static void test_defaults(void **state)
{
    (void)state;
    assert_string_equal(name_opt, "default-name");
    assert_null(path_opt);
    assert_int_equal(port_opt, 6390);
    assert_int_equal(verbose_opt, 0);
    assert_int_equal(color_opt, 1);
}

static void test_parse_text(void **state)
{
    (void)state;
    vg_err err = {0};
    assert_int_equal(
        parse("# c\n\n  name =  spaced value  \r\nport=-5\nverbose = on\ncolor=0", &err), VG_OK);
    assert_string_equal(name_opt, "spaced value");
    assert_int_equal(port_opt, -5);
    assert_int_equal(verbose_opt, 1);
    assert_int_equal(color_opt, 0);
    /* an empty value is an empty string */
    assert_int_equal(parse("path =\n", &err), VG_OK);
    assert_string_equal(path_opt, "");
}

static void test_bool_spellings(void **state)
{
    (void)state;
    const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(vg_config_set(opts, "verbose", yes[i], NULL), VG_OK);
        assert_int_equal(verbose_opt, 1);
        assert_int_equal(vg_config_set(opts, "verbose", no[i], NULL), VG_OK);
        assert_int_equal(verbose_opt, 0);
    }
}

static void test_load_file(void **state)
{
    (void)state;
    vg_err err = {0};
    assert_int_equal(vg_config_load_file(opts, VG_TEST_DATA_DIR "/config-good.conf", &err), VG_OK);
    assert_string_equal(name_opt, "from-file");
    assert_int_equal(port_opt, 7000);
    assert_int_equal(verbose_opt, 1);
    assert_string_equal(path_opt, "/a b/c = d"); /* only the first '=' separates */
}

static void test_file_errors(void **state)
{
    (void)state;
    vg_err err = {0};
    assert_int_equal(vg_config_load_file(opts, VG_TEST_DATA_DIR "/config-bad-int.conf", &err),
                     VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "line 4"));
    assert_non_null(strstr(err.msg, "twelve"));
    assert_int_equal(vg_config_load_file(opts, VG_TEST_DATA_DIR "/does-not-exist.conf", &err),
                     VG_ERR);
    assert_int_equal(err.code, VG_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, "does-not-exist.conf"));
}

static void test_parse_errors_name_the_line(void **state)
{
    (void)state;
    vg_err err = {0};
    assert_int_equal(parse("name = a\n# ok\nnonsense\n", &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "line 3"));

    assert_int_equal(parse("\n\nbogus = 1\n", &err), VG_ERR);
    assert_int_equal(err.code, VG_E_UNKNOWN);
    assert_non_null(strstr(err.msg, "line 3"));
    assert_non_null(strstr(err.msg, "bogus"));

    assert_int_equal(parse("port = 12x\n", &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "line 1"));

    assert_int_equal(parse("port = 99999999999999999999999\n", &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);

    assert_int_equal(parse("port =\n", &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);

    assert_int_equal(parse("x\nverbose = maybe\n", &err), VG_ERR);
    assert_non_null(strstr(err.msg, "line 1")); /* the first bad line stops the parse */

    assert_int_equal(parse("verbose = maybe\n", &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "maybe"));

    assert_int_equal(parse("= 5\n", &err), VG_ERR);
    assert_int_equal(err.code, VG_E_UNKNOWN);

    const char nul[] = "name = a\0b\n";
    assert_int_equal(vg_config_parse(opts, nul, sizeof(nul) - 1, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "NUL"));

    const char nul_name[] = "na\0me = a\n";
    assert_int_equal(vg_config_parse(opts, nul_name, sizeof(nul_name) - 1, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "NUL"));

    static char longline[5000];
    memset(longline, 'v', sizeof(longline) - 1);
    memcpy(longline, "name=", 5);
    assert_int_equal(parse(longline, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_TOO_BIG);
}

/* Issue 9: a second line for one option used to win silently over the first. */
static void test_duplicate_option_refused(void **state)
{
    (void)state;
    vg_err err = {0};
    assert_int_equal(parse("port = 1\nname = a\n# x\nport = 2\n", &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "line 4"));
    assert_non_null(strstr(err.msg, "port is already set on line 1"));
    /* the same value twice is refused all the same */
    assert_int_equal(parse("name = a\n  name=a\n", &err), VG_ERR);
    assert_non_null(strstr(err.msg, "line 2"));
    /* each parse starts afresh: one file after another may set an option again */
    assert_int_equal(parse("port = 3\n", &err), VG_OK);
    assert_int_equal(parse("port = 4\n", &err), VG_OK);
}

static void test_flags(void **state)
{
    (void)state;
    vg_err err = {0};
    char *argv[] = {"prog",      "--name=flag", "--port",   "8080",
                    "--verbose", "--no-color",  "--path=/x"};
    assert_int_equal(args(7, argv, &err), VG_OK);
    assert_string_equal(name_opt, "flag");
    assert_int_equal(port_opt, 8080);
    assert_int_equal(verbose_opt, 1);
    assert_int_equal(color_opt, 0);
    assert_string_equal(path_opt, "/x");
    char *argv2[] = {"prog", "--verbose=off", "--color=yes"};
    assert_int_equal(args(3, argv2, &err), VG_OK);
    assert_int_equal(verbose_opt, 0);
    assert_int_equal(color_opt, 1);
}

static void test_flags_override_file(void **state)
{
    (void)state;
    vg_err err = {0};
    /* --config is read first wherever it stands, so flags before it still win */
    char *argv[] = {"prog", "--port=1", "--config", VG_TEST_DATA_DIR "/config-good.conf"};
    assert_int_equal(args(4, argv, &err), VG_OK);
    assert_int_equal(port_opt, 1);
    assert_string_equal(name_opt, "from-file");
    char *argv2[] = {"prog", "--config=" VG_TEST_DATA_DIR "/config-good.conf", "--name", "cli"};
    assert_int_equal(args(4, argv2, &err), VG_OK);
    assert_string_equal(name_opt, "cli");
    assert_int_equal(port_opt, 7000);
}

static void test_flag_errors(void **state)
{
    (void)state;
    vg_err err = {0};
    char *unknown[] = {"prog", "--bogus=1"};
    assert_int_equal(args(2, unknown, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_UNKNOWN);
    assert_non_null(strstr(err.msg, "bogus"));

    char *no_nonbool[] = {"prog", "--no-port"};
    assert_int_equal(args(2, no_nonbool, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_UNKNOWN);

    char *bad_int[] = {"prog", "--port=abc"};
    assert_int_equal(args(2, bad_int, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);

    char *bad_bool[] = {"prog", "--verbose=perhaps"};
    assert_int_equal(args(2, bad_bool, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);

    char *missing[] = {"prog", "--port"};
    assert_int_equal(args(2, missing, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "needs a value"));

    char *positional[] = {"prog", "stray"};
    assert_int_equal(args(2, positional, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);

    char *config_missing[] = {"prog", "--config"};
    assert_int_equal(args(2, config_missing, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);

    char *config_bad[] = {"prog", "--config=" VG_TEST_DATA_DIR "/config-bad-int.conf"};
    assert_int_equal(args(2, config_bad, &err), VG_ERR);
    assert_non_null(strstr(err.msg, "line 4"));
}

static void test_usage_lists_every_option(void **state)
{
    (void)state;
    char buf[2048] = {0};
    FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
    assert_non_null(f);
    vg_config_usage(opts, f);
    fclose(f);
    for (const vg_opt *o = opts; o->name; o++)
        assert_non_null(strstr(buf, o->name));
    assert_non_null(strstr(buf, "(default: 6390)"));
    assert_non_null(strstr(buf, "(default: none)"));
}

static void test_free_resets_strings(void **state)
{
    (void)state;
    assert_int_equal(vg_config_set(opts, "path", "p", NULL), VG_OK);
    vg_config_free(opts);
    assert_null(name_opt);
    assert_null(path_opt);
    assert_int_equal(vg_config_set(opts, "nope", "p", NULL), VG_ERR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bool_spellings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_errors_name_the_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_option_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flags_override_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flag_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage_lists_every_option, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_resets_strings, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
