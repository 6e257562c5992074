/* vmgatectl's human-readable output of method results, the docs/api.md section finder and the
 * exit status per error code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ctl_app.h"
#include "ctl_call.h"
#include "ctl_render.h"

static char buf[8192];

static const char *render(const char *json, size_t max_cell)
{
    cJSON *r = cJSON_Parse(json);
    assert_non_null(r);
    memset(buf, 0, sizeof(buf));
    FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
    assert_non_null(f);
    vg_err err = {0};
    assert_int_equal(ctl_render(r, max_cell, f, &err), VG_OK);
    fclose(f);
    cJSON_Delete(r);
    return buf;
}

static void test_table(void **state)
{
    (void)state;
    /* columns: union of the keys in first-seen order; missing and null cells are "-" */
    assert_string_equal(
        render("{\"vms\":[{\"name\":\"web1\",\"state\":\"running\",\"consoles\":[\"serial0\"]},"
               "{\"name\":\"db\",\"host\":\"h2\",\"state\":null,\"vcpus\":2}]}",
               48),
        "NAME  STATE    CONSOLES     HOST  VCPUS\n"
        "web1  running  [\"serial0\"]  -     -\n"
        "db    -        -            h2    2\n");
    /* a bare array of objects is a table too */
    assert_string_equal(render("[{\"a\":true,\"b\":{\"x\":1}}]", 48), "A     B\n"
                                                                      "true  {\"x\":1}\n");
}

static void test_truncation(void **state)
{
    (void)state;
    assert_string_equal(render("{\"r\":[{\"id\":\"abcdefghij\",\"n\":1}]}", 6),
                        "ID      N\n"
                        "abcde\xe2\x80\xa6  1\n");
    /* widths count characters, not bytes: "é" is one column */
    assert_string_equal(
        render("{\"r\":[{\"d\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"},{\"d\":\"x\"}]}", 3),
        "D\n"
        "\xc3\xa9\xc3\xa9\xe2\x80\xa6\n"
        "x\n");
    assert_string_equal(render("{\"r\":[{\"k\":\"\xc3\xa9\xc3\xa9\",\"z\":0}]}", 0),
                        "K   Z\n"
                        "\xc3\xa9\xc3\xa9  0\n");
    /* no limit: whole cells */
    assert_string_equal(render("{\"r\":[{\"id\":\"abcdefghij\"}]}", 0), "ID\nabcdefghij\n");
    /* a limit of one leaves only the ellipsis */
    assert_string_equal(render("{\"r\":[{\"id\":\"ab\"}]}", 1), "ID\n\xe2\x80\xa6\n");
}

static void test_lines(void **state)
{
    (void)state;
    assert_string_equal(render("{\"user\":\"admin\",\"role\":\"admin\"}", 48),
                        "user: admin\nrole: admin\n");
    /* nested objects flatten to dotted keys; arrays and empty objects stay compact JSON */
    assert_string_equal(
        render("{\"name\":\"p1\",\"active\":true,\"quotas\":{\"instances\":5,\"vcpus\":-1},"
               "\"hostgroups\":[\"g1\",\"g2\"],\"meta\":{},\"n\":null}",
               48),
        "name: p1\nactive: true\nquotas.instances: 5\nquotas.vcpus: -1\n"
        "hostgroups: [\"g1\",\"g2\"]\nmeta: {}\nn: -\n");
    /* multi-line text starts on its own line */
    assert_string_equal(render("{\"xml\":\"<domain>\\n  <name>a</name>\\n</domain>\"}", 48),
                        "xml:\n<domain>\n  <name>a</name>\n</domain>\n");
    /* lines are not cut */
    assert_string_equal(render("{\"d\":\"abcdefghij\"}", 4), "d: abcdefghij\n");
}

static void test_mixed_and_empty(void **state)
{
    (void)state;
    assert_string_equal(render("{}", 48), "");
    assert_string_equal(render("{\"vms\":[]}", 48), "");
    /* a null member does not count: vm.list's last page is a table, a page with more is not */
    assert_string_equal(render("{\"vms\":[],\"next\":null}", 48), "");
    assert_string_equal(render("{\"vms\":[{\"name\":\"a\"}],\"next\":null}", 48), "NAME\na\n");
    assert_string_equal(render("{\"vms\":[{\"name\":\"a\"}],\"next\":\"a\"}", 48),
                        "next: a\n\nvms:\nNAME\na\n");
    assert_string_equal(render("[]", 48), "");
    /* other members first, then each table under its name */
    assert_string_equal(
        render("{\"entries\":[{\"ts\":1,\"kind\":\"api\"},{\"ts\":2,\"user\":\"u\"}],"
               "\"next_cursor\":\"2-0\",\"empty\":[]}",
               48),
        "next_cursor: 2-0\nempty: []\n\nentries:\nTS  KIND  USER\n1   api   -\n2   -     u\n");
    assert_string_equal(render("{\"a\":[{\"x\":1}],\"b\":[{\"y\":2}]}", 48),
                        "a:\nX\n1\n\nb:\nY\n2\n");
    /* arrays that are not all objects are values */
    assert_string_equal(render("{\"ids\":[{\"x\":1},2]}", 48), "ids: [{\"x\":1},2]\n");
    assert_string_equal(render("[1,\"a\"]", 48), "[1,\"a\"]\n");
    assert_string_equal(render("\"text\"", 48), "text\n");
    assert_string_equal(render("42", 48), "42\n");
}

static void test_control_chars(void **state)
{
    (void)state;
    /* terminal escapes from the gateway are defused in cells, keys and lines */
    assert_string_equal(render("{\"r\":[{\"d\":\"a\\u001b[2Jb\\nc\"}]}", 48), "D\na?[2Jb?c\n");
    assert_string_equal(render("{\"d\\u001b\":\"x\\u001by\\tz\"}", 48), "d?: x?y\tz\n");
}

static const char *event_line(const char *json)
{
    cJSON *m = cJSON_Parse(json);
    assert_non_null(m);
    memset(buf, 0, sizeof(buf));
    FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
    vg_err err = {0};
    assert_int_equal(ctl_render_event(m, f, &err), VG_OK);
    fclose(f);
    cJSON_Delete(m);
    return buf;
}

static void test_event(void **state)
{
    (void)state;
    assert_string_equal(event_line("{\"event\":\"vm.state\",\"data\":{\"type\":\"vm.state\","
                                   "\"vm\":\"demo1\",\"state\":\"shutoff\",\"up\":true,"
                                   "\"ts\":17}}"),
                        "vm.state vm=demo1 state=shutoff up=true ts=17\n");
    /* strings that would be ambiguous are quoted; escapes are defused */
    assert_string_equal(event_line("{\"event\":\"x\",\"data\":{\"d\":\"a b\",\"e\":\"\","
                                   "\"f\":\"k=v\",\"g\":\"\\u001b[H\",\"h\":[1]}}"),
                        "x d=\"a b\" e=\"\" f=\"k=v\" g=?[H h=[1]\n");
    assert_string_equal(event_line("{\"event\":\"host.down\"}"), "host.down\n");
}

static void test_help_section(void **state)
{
    (void)state;
    static const char doc[] = "# API\n\n## Methods\n\n### `vm.list`\n\nLists VMs.\n\n"
                              "### `vm.start`, `vm.stop`\n\nStarts.\n\n```sh\n# a comment\n"
                              "redis-cli ...\n```\n\n#### Errors\n\nconflict\n\n"
                              "### `vm.xml`\n\nXML.\n\n## Other\n";
    memset(buf, 0, sizeof(buf));
    FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
    assert_int_equal(ctl_help_section(doc, "vm.stop", f), 1);
    fclose(f);
    assert_string_equal(buf, "### `vm.start`, `vm.stop`\n\nStarts.\n\n```sh\n# a comment\n"
                             "redis-cli ...\n```\n\n#### Errors\n\nconflict\n\n");
    memset(buf, 0, sizeof(buf));
    f = fmemopen(buf, sizeof(buf) - 1, "w");
    assert_int_equal(ctl_help_section(doc, "vm.xml", f), 1);
    assert_int_equal(ctl_help_section(doc, "vm", f), 0);
    assert_int_equal(ctl_help_section(doc, "vm.create", f), 0);
    fclose(f);
    assert_string_equal(buf, "### `vm.xml`\n\nXML.\n\n");
    /* the last section runs to the end of the text */
    memset(buf, 0, sizeof(buf));
    f = fmemopen(buf, sizeof(buf) - 1, "w");
    assert_int_equal(ctl_help_section("### `whoami`\nwho", "whoami", f), 1);
    fclose(f);
    assert_string_equal(buf, "### `whoami`\nwho\n");
}

/* `help METHOD` and `methods` from api.methods' params (gateway/api/schema.c describes them). */
static const char method_json[] =
    "{\"name\":\"vm.cdrom\",\"scope\":\"vm\",\"level\":\"operator\",\"params\":["
    "{\"name\":\"vm\",\"type\":\"name\",\"required\":true,\"doc\":\"the VM\"},"
    "{\"name\":\"media\",\"type\":\"string\",\"required\":true,\"nullable\":true,"
    "\"max\":194,\"doc\":\"pool/volume, or null\"},"
    "{\"name\":\"timeout_s\",\"type\":\"int\",\"required\":false,\"min\":1,\"max\":3600,"
    "\"doc\":\"seconds\"},"
    "{\"name\":\"password\",\"type\":\"string\",\"required\":false,\"min\":8,\"max\":1024,"
    "\"doc\":\"new\"},"
    "{\"name\":\"mode\",\"type\":\"enum\",\"required\":false,\"choices\":\"rw|ro\","
    "\"doc\":\"access\"},"
    "{\"name\":\"hosts\",\"type\":\"names\",\"required\":false,\"max\":64,\"doc\":\"h\"}]}";

static const char *help_of(const char *json)
{
    cJSON *m = cJSON_Parse(json);
    assert_non_null(m);
    memset(buf, 0, sizeof(buf));
    FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
    vg_err err = {0};
    assert_int_equal(ctl_help_render(m, f, &err), VG_OK);
    fclose(f);
    cJSON_Delete(m);
    return buf;
}

static void test_help_params(void **state)
{
    (void)state;
    assert_string_equal(help_of(method_json),
                        "name: vm.cdrom\nscope: vm\nlevel: operator\n\nparams:\n"
                        "NAME       TYPE         REQUIRED  RANGE          DOC\n"
                        "vm         name         yes       -              the VM\n"
                        "media      string|null  yes       max 194 chars  pool/volume, or null\n"
                        "timeout_s  int          no        1..3600        seconds\n"
                        "password   string       no        8..1024 chars  new\n"
                        "mode       enum         no        rw|ro          access\n"
                        "hosts      names        no        max 64 items   h\n");
    assert_string_equal(help_of("{\"name\":\"whoami\",\"scope\":\"self\",\"params\":[]}"),
                        "name: whoami\nscope: self\nparams: none\n");
}

static void test_methods_signatures(void **state)
{
    (void)state;
    char json[2048];
    snprintf(json, sizeof(json),
             "{\"methods\":[%s,{\"name\":\"whoami\",\"scope\":\"self\",\"level\":\"viewer\","
             "\"params\":[]}]}",
             method_json);
    cJSON *r = cJSON_Parse(json);
    assert_non_null(r);
    memset(buf, 0, sizeof(buf));
    FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
    vg_err err = {0};
    assert_int_equal(ctl_methods_render(r, 0, f, &err), VG_OK);
    fclose(f);
    cJSON_Delete(r);
    assert_string_equal(buf, "NAME      SCOPE  LEVEL     PARAMS\n"
                             "vm.cdrom  vm     operator  vm, media, timeout_s?, password?, mode?, "
                             "hosts?\n"
                             "whoami    self   viewer    -\n");
}

static void test_exit_codes(void **state)
{
    (void)state;
    assert_int_equal(ctl_exit_code(VG_E_UNAUTHORIZED), CTL_EXIT_DENIED);
    assert_int_equal(ctl_exit_code(VG_E_FORBIDDEN), 3);
    assert_int_equal(ctl_exit_code(VG_E_NOT_FOUND), 4);
    assert_int_equal(ctl_exit_code(VG_E_CONFLICT), 5);
    assert_int_equal(ctl_exit_code(VG_E_QUOTA), 5);
    assert_int_equal(ctl_exit_code(VG_E_UNAVAILABLE), 6);
    assert_int_equal(ctl_exit_code(VG_E_BAD_REQUEST), 1);
    assert_int_equal(ctl_exit_code(VG_E_UNKNOWN), 1);
    assert_int_equal(ctl_exit_code(VG_E_INTERNAL), 1);
    assert_int_equal(vg_err_code_from_name("quota_exceeded"), VG_E_QUOTA);
    assert_int_equal(vg_err_code_from_name("some_future_code"), VG_E_INTERNAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),         cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_lines),         cmocka_unit_test(test_mixed_and_empty),
        cmocka_unit_test(test_control_chars), cmocka_unit_test(test_event),
        cmocka_unit_test(test_help_section),  cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_help_params),   cmocka_unit_test(test_methods_signatures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
