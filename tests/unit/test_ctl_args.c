/* vmgatectl's command line, environment and URL parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ctl_args.h"

/* A fake environment: NAME=value strings, NULL-terminated. */
static const char *const *fake_env;

static const char *env(const char *name)
{
    size_t n = strlen(name);
    for (const char *const *e = fake_env; e && *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

static const char *const no_env[] = {NULL};
static const char *const creds_env[] = {"VMGATE_USER=admin", "VMGATE_PASSWORD=pw", NULL};

#define ARGV(...) ((char *[]){"vmgatectl", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){"vmgatectl", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(o, err, ...) ctl_args_parse(o, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), env, err)

static void test_list_with_flags(void **state)
{
    (void)state;
    fake_env = no_env;
    ctl_opts o;
    vg_err err = {0};
    assert_int_equal(
        PARSE(&o, &err, "--url", "http://gw:8080", "--user=u", "--password", "p", "--json", "list"),
        VG_OK);
    assert_int_equal(o.cmd, CTL_CMD_LIST);
    assert_string_equal(o.url, "http://gw:8080");
    assert_string_equal(o.user, "u");
    assert_string_equal(o.password, "p");
    assert_true(o.json);
    assert_null(o.vm);
    ctl_args_free(&o);
}

static void test_environment_and_defaults(void **state)
{
    (void)state;
    static const char *const env_all[] = {"VMGATE_URL=https://h:1", "VMGATE_USER=eu",
                                          "VMGATE_PASSWORD=ep", "VMGATE_CA=/ca.pem", NULL};
    fake_env = env_all;
    ctl_opts o;
    vg_err err = {0};
    assert_int_equal(PARSE(&o, &err, "list"), VG_OK);
    assert_string_equal(o.url, "https://h:1");
    assert_string_equal(o.user, "eu");
    assert_string_equal(o.password, "ep");
    assert_string_equal(o.ca, "/ca.pem");
    /* flags win over the environment */
    assert_int_equal(PARSE(&o, &err, "--user", "fu", "list", "--url=http://x"), VG_OK);
    assert_string_equal(o.user, "fu");
    assert_string_equal(o.url, "http://x");
    /* --insecure drops the environment's CA */
    assert_int_equal(PARSE(&o, &err, "--insecure", "list"), VG_OK);
    assert_null(o.ca);
    assert_true(o.insecure);

    fake_env = creds_env;
    assert_int_equal(PARSE(&o, &err, "list"), VG_OK);
    assert_string_equal(o.url, CTL_DEFAULT_URL);
    static const char *const tok_env[] = {"VMGATE_TOKEN=t0k", NULL};
    fake_env = tok_env;
    assert_int_equal(PARSE(&o, &err, "list"), VG_OK);
    assert_string_equal(o.token, "t0k");
    ctl_args_free(&o);
}

static void test_console(void **state)
{
    (void)state;
    fake_env = creds_env;
    ctl_opts o;
    vg_err err = {0};
    assert_int_equal(PARSE(&o, &err, "console", "demo1", "--dev", "console1", "--ro"), VG_OK);
    assert_int_equal(o.cmd, CTL_CMD_CONSOLE);
    assert_string_equal(o.vm, "demo1");
    assert_string_equal(o.dev, "console1");
    assert_true(o.ro);
    assert_int_equal(PARSE(&o, &err, "console", "demo1"), VG_OK);
    assert_null(o.dev);
    assert_false(o.ro);
    ctl_args_free(&o);
}

static void test_exec(void **state)
{
    (void)state;
    fake_env = creds_env;
    ctl_opts o;
    vg_err err = {0};
    assert_int_equal(PARSE(&o, &err, "exec", "vm1", "--", "echo", "hello-$((6*7))"), VG_OK);
    assert_int_equal(o.cmd, CTL_CMD_EXEC);
    assert_string_equal(o.vm, "vm1");
    assert_string_equal(o.command, "echo hello-$((6*7))");
    assert_true(o.timeout == CTL_DEFAULT_TIMEOUT);
    assert_string_equal(o.prompt, CTL_DEFAULT_PROMPT);
    ctl_args_free(&o);
    /* options after -- belong to the command */
    assert_int_equal(PARSE(&o, &err, "exec", "vm1", "--timeout=2.5", "--prompt", "> $", "--", "ls",
                           "--help", "-l"),
                     VG_OK);
    assert_true(o.timeout == 2.5);
    assert_string_equal(o.prompt, "> $");
    assert_string_equal(o.command, "ls --help -l");
    ctl_args_free(&o);
    /* without --, further words are the command too */
    assert_int_equal(PARSE(&o, &err, "exec", "vm1", "uptime"), VG_OK);
    assert_string_equal(o.command, "uptime");
    ctl_args_free(&o);
    /* many VMs: no VM word, every word after the options is the command */
    assert_int_equal(PARSE(&o, &err, "exec", "--vms", "a,b", "--", "uname", "-r"), VG_OK);
    assert_null(o.vm);
    assert_string_equal(o.vms, "a,b");
    assert_string_equal(o.command, "uname -r");
    ctl_args_free(&o);
}

static void expect_usage_error(int argc, char **argv, const char *needle)
{
    ctl_opts o;
    vg_err err = {0};
    assert_int_equal(ctl_args_parse(&o, argc, argv, env, &err), VG_ERR);
    assert_true(err.code == VG_E_BAD_REQUEST || err.code == VG_E_TOO_BIG);
    if (!strstr(err.msg, needle))
        fail_msg("error \"%s\" does not mention \"%s\"", err.msg, needle);
    ctl_args_free(&o);
}

#define BAD(needle, ...) expect_usage_error(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), needle)

static void test_usage_errors(void **state)
{
    (void)state;
    fake_env = creds_env;
    BAD("no command", "--json");
    BAD("unknown command", "Frob");
    BAD("unknown command", "vm..start");
    BAD("unknown command", "vm.start.");
    BAD("not a method name", "help", "VM/x");
    BAD("unexpected argument", "help", "vm.start", "vm.stop");
    BAD("--dev is for", "vm.list", "--dev", "serial0");
    BAD("needs a VM", "console");
    BAD("needs a VM", "exec");
    BAD("needs a VM name, --vms or --env", "exec", "vm1", "--vms", "a,b", "--", "id");
    BAD("--role goes with --env", "exec", "--vms", "a", "--role", "web", "--", "id");
    BAD("are for exec", "console", "vm1", "--env", "prod");
    BAD("needs a command", "exec", "vm1");
    BAD("needs a command", "exec", "vm1", "--");
    BAD("not a valid VM name", "console", "../etc");
    BAD("not a valid VM name", "exec", "a b", "--", "ls");
    BAD("not a valid device", "console", "vm1", "--dev", "x/y");
    BAD("unknown option", "--frob", "list");
    BAD("unknown option", "-x", "list");
    BAD("needs a value", "list", "--url");
    BAD("takes no value", "--json=1", "list");
    BAD("--timeout", "exec", "vm1", "--timeout", "0", "--", "ls");
    BAD("--timeout", "exec", "vm1", "--timeout", "-3", "--", "ls");
    BAD("--timeout", "exec", "vm1", "--timeout", "soon", "--", "ls");
    BAD("--timeout", "exec", "vm1", "--timeout", "nan", "--", "ls");
    BAD("--timeout", "exec", "vm1", "--timeout", "1e9", "--", "ls");
    BAD("for exec", "console", "vm1", "--timeout", "3");
    BAD("for exec", "list", "--prompt", "x");
    BAD("for console", "exec", "vm1", "--ro", "--", "ls");
    BAD("--dev is for", "list", "--dev", "serial0");
    BAD("unexpected argument", "list", "extra");
    BAD("unexpected argument", "console", "vm1", "extra");
    BAD("only exec", "list", "--", "x");
    BAD("exclude", "--ca", "/x", "--insecure", "list");
    BAD("URL", "--url", "ftp://x", "list");
    static const char *const nothing[] = {NULL};
    fake_env = nothing;
    BAD("no credentials", "list");
    BAD("no credentials", "--user", "u", "list");
    BAD("no credentials", "vm.list");
    BAD("login needs --user and --password", "login");
}

static void test_command_limits(void **state)
{
    (void)state;
    fake_env = creds_env;
    static char big[70000];
    memset(big, 'x', sizeof(big) - 1);
    BAD("longer than", "exec", "vm1", "--", big);
    char *nl[] = {"vmgatectl", "exec", "vm1", "--", "echo a\necho b", NULL};
    expect_usage_error(5, nl, "single line");
}

static void test_help(void **state)
{
    (void)state;
    fake_env = no_env;
    ctl_opts o;
    vg_err err = {0};
    assert_int_equal(PARSE(&o, &err, "--help"), VG_OK);
    assert_true(o.help);
    assert_int_equal(PARSE(&o, &err, "exec", "-h"), VG_OK);
    assert_true(o.help);
    /* the usage text documents the exit codes and the detach key */
    assert_non_null(strstr(ctl_usage_text, "124"));
    assert_non_null(strstr(ctl_usage_text, "Ctrl-]"));
}

static void test_method_calls(void **state)
{
    (void)state;
    fake_env = creds_env;
    ctl_opts o;
    vg_err err = {0};
    /* options may come before or after the method; the rest are key=value words */
    assert_int_equal(PARSE(&o, &err, "--json", "vm.create", "project=p1", "--wide",
                           "spec=@web1.json", "quotas.instances=5"),
                     VG_OK);
    assert_int_equal(o.cmd, CTL_CMD_CALL);
    assert_string_equal(o.method, "vm.create");
    assert_true(o.json && o.wide);
    assert_int_equal(o.nwords, 3);
    assert_string_equal(o.words[0], "project=p1");
    assert_string_equal(o.words[2], "quotas.instances=5");
    ctl_args_free(&o);
    assert_null(o.words);

    assert_int_equal(PARSE(&o, &err, "whoami"), VG_OK);
    assert_int_equal(o.cmd, CTL_CMD_CALL);
    assert_string_equal(o.method, "whoami");
    assert_int_equal(o.nwords, 0);
    ctl_args_free(&o);

    assert_int_equal(PARSE(&o, &err, "methods"), VG_OK);
    assert_int_equal(o.cmd, CTL_CMD_CALL);
    assert_string_equal(o.method, "api.methods");
    ctl_args_free(&o);

    assert_int_equal(PARSE(&o, &err, "help", "vm.start"), VG_OK);
    assert_int_equal(o.cmd, CTL_CMD_HELP);
    assert_string_equal(o.method, "vm.start");
    assert_false(o.help);
    ctl_args_free(&o);

    /* help without a method is the usage text, credentials or not */
    fake_env = no_env;
    assert_int_equal(PARSE(&o, &err, "help"), VG_OK);
    assert_true(o.help);
    ctl_args_free(&o);

    /* login with its own params needs no credentials; bare login uses the options' */
    assert_int_equal(PARSE(&o, &err, "login", "user=u", "password=p"), VG_OK);
    assert_int_equal(o.nwords, 2);
    ctl_args_free(&o);
    assert_int_equal(PARSE(&o, &err, "--user", "u", "--password", "p", "login"), VG_OK);
    assert_int_equal(o.nwords, 0);
    ctl_args_free(&o);

    assert_true(ctl_method_name("vm.start"));
    assert_true(ctl_method_name("project.member.set"));
    assert_true(ctl_method_name("whoami"));
    assert_false(ctl_method_name(""));
    assert_false(ctl_method_name(".vm"));
    assert_false(ctl_method_name("vm-start"));
    assert_false(ctl_method_name("Vm.start"));
}

static void test_url(void **state)
{
    (void)state;
    ctl_url u;
    vg_err err = {0};
    assert_int_equal(ctl_url_parse("https://127.0.0.1:8443", &u, &err), VG_OK);
    assert_true(u.tls);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 8443);
    assert_string_equal(u.prefix, "");
    assert_int_equal(ctl_url_parse("http://gw.example/vmgate/", &u, &err), VG_OK);
    assert_false(u.tls);
    assert_int_equal(u.port, 80);
    assert_string_equal(u.prefix, "/vmgate");
    assert_int_equal(ctl_url_parse("WSS://gw", &u, &err), VG_OK);
    assert_true(u.tls);
    assert_int_equal(u.port, 443);
    assert_int_equal(ctl_url_parse("ws://[::1]:9/", &u, &err), VG_OK);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 9);
    assert_string_equal(u.prefix, "");

    const char *bad[] = {"",
                         "gw:80",
                         "ftp://gw",
                         "https://",
                         "https://:1",
                         "https://gw:0",
                         "https://gw:65536",
                         "https://gw:x",
                         "https://gw:99999999999999",
                         "https://[::1",
                         "https://[]:1",
                         "https://gw/a b",
                         "https://gw/?q=1",
                         "https://gw#f",
                         "https://g w",
                         "https://gw:80x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ctl_url_parse(bad[i], &u, &err) != VG_ERR)
            fail_msg("\"%s\" was accepted", bad[i]);
        assert_int_equal(err.code, VG_E_BAD_REQUEST);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_with_flags),
        cmocka_unit_test(test_environment_and_defaults),
        cmocka_unit_test(test_console),
        cmocka_unit_test(test_exec),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_command_limits),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_method_calls),
        cmocka_unit_test(test_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
