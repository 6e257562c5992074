/* domxml: consoles found in live and inactive domain XML, and refusals of bad documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libvirt/domxml.h"

static char *slurp(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/hostd/%s", VG_TEST_DATA_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[65536];
    *len = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[*len] = '\0';
    return buf;
}

static int parse(const char *xml, domxml_info *out, vg_err *err)
{
    return hd_domxml_parse(xml, strlen(xml), out, err);
}

static void test_live_xml(void **state)
{
    (void)state;
    size_t len;
    char *xml = slurp("live.xml", &len);
    domxml_info *d = malloc(sizeof(*d));
    vg_err err;
    assert_int_equal(hd_domxml_parse(xml, len, d, &err), VG_OK);
    assert_string_equal(d->name, "demo1");
    assert_string_equal(d->uuid, "ba1c6450-7aa6-46cb-843f-d24c25529b0c");
    /* serial0 once (its <console> alias is the same socket), console1, channel0; no pty. */
    assert_int_equal(d->ncons, 3);
    assert_string_equal(d->cons[0].dev, "serial0");
    assert_string_equal(d->cons[0].kind, "serial");
    assert_string_equal(d->cons[0].path, "/srv/consoles/com-demo1.sock");
    assert_string_equal(d->cons[0].log, "/srv/consoles/com-demo1.log");
    assert_string_equal(d->cons[1].dev, "console1");
    assert_string_equal(d->cons[1].kind, "console");
    assert_string_equal(d->cons[1].log, "");
    assert_string_equal(d->cons[2].dev, "channel0");
    assert_string_equal(d->cons[2].kind, "channel");
    assert_string_equal(d->cons[2].path, "/srv/consoles/cloud-demo1.sock");
    free(d);
}

static void test_size(void **state)
{
    (void)state;
    size_t len;
    domxml_info *d = malloc(sizeof(*d));
    vg_err err;
    char *xml = slurp("live.xml", &len);
    assert_int_equal(hd_domxml_parse(xml, len, d, &err), VG_OK);
    assert_int_equal(d->memory_mib, 128); /* 131072 KiB */
    static const struct {
        const char *xml;
        int vcpus;
        long long mib;
    } cases[] = {
        {"<domain><name>a</name><vcpu placement='static'>4</vcpu>"
         "<memory unit='GiB'>2</memory></domain>",
         4, 2048},
        {"<domain><name>a</name><memory>262144</memory></domain>", 0, 256},
        {"<domain><name>a</name><memory unit='bytes'>1073741824</memory></domain>", 0, 1024},
        {"<domain><name>a</name><memory unit='parsecs'>5</memory></domain>", 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(parse(cases[i].xml, d, &err), VG_OK);
        assert_int_equal(d->vcpus, cases[i].vcpus);
        assert_int_equal(d->memory_mib, cases[i].mib);
    }
    free(d);
}

static void test_inactive_xml_derives_aliases(void **state)
{
    (void)state;
    size_t len;
    char *xml = slurp("inactive.xml", &len);
    domxml_info *d = malloc(sizeof(*d));
    vg_err err;
    assert_int_equal(hd_domxml_parse(xml, len, d, &err), VG_OK);
    assert_int_equal(d->ncons, 2);
    assert_string_equal(d->cons[0].dev, "serial0");
    /* a log without append='on' restarts with the VM: no durable offsets from it */
    assert_string_equal(d->cons[0].log, "");
    assert_string_equal(d->cons[1].dev, "console1");
    assert_string_equal(d->cons[1].path, "/srv/consoles/hvc-demo2.sock");
    free(d);
}

static void test_refusals(void **state)
{
    (void)state;
    domxml_info *d = malloc(sizeof(*d));
    vg_err err;
    assert_int_equal(parse("", d, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    assert_int_equal(parse("<domain><name>x", d, &err), VG_ERR);
    assert_int_equal(parse("<network><name>n</name></network>", d, &err), VG_ERR);
    assert_string_equal(err.msg, "root element is not <domain>");
    assert_int_equal(parse("<domain><name>bad/name</name></domain>", d, &err), VG_ERR);
    assert_int_equal(parse("<domain/>", d, &err), VG_ERR);
    assert_int_equal(parse("<domain><name>ok</name></domain>", d, &err), VG_OK);
    assert_int_equal(d->ncons, 0);
    free(d);
}

static void test_skips_unusable_devices(void **state)
{
    (void)state;
    char xml[1024];
    char longpath[200];
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    snprintf(xml, sizeof(xml),
             "<domain><name>v</name><devices>"
             "<serial type='unix'><source path='relative.sock'/></serial>"
             "<serial type='unix'><source path='%s'/></serial>"
             "<serial type='unix'/>"
             "<serial type='unix'><source path='/ok.sock'/><alias name='../x'/>"
             "<log file='rel.log' append='on'/></serial>"
             "</devices></domain>",
             longpath);
    domxml_info *d = malloc(sizeof(*d));
    vg_err err;
    assert_int_equal(parse(xml, d, &err), VG_OK);
    assert_int_equal(d->ncons, 1);
    assert_string_equal(d->cons[0].path, "/ok.sock");
    assert_string_equal(d->cons[0].dev, "serial3"); /* bad alias: derived from the index */
    assert_string_equal(d->cons[0].log, "");        /* a relative log path is ignored */
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live_xml),
        cmocka_unit_test(test_size),
        cmocka_unit_test(test_inactive_xml_derives_aliases),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_skips_unusable_devices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
