/* Pool specs and the libvirt pool XML made from them: a golden file per pool type in
 * tests/unit/data/pool/ (VG_UPDATE_GOLDEN=1 rewrites them), every refusal of a bad spec, the
 * allowed-roots check, the secret document and libvirt's pool capabilities read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/poolxml.h"
#include "vg_poolspec.h"

#define CASES VG_TEST_DATA_DIR "/pool"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = '\0';
    fclose(f);
    return s;
}

static void test_golden(void **state)
{
    (void)state;
    char *text = slurp(CASES "/specs.json");
    assert_non_null(text);
    cJSON *all = cJSON_Parse(text);
    free(text);
    assert_non_null(all);
    int update = getenv("VG_UPDATE_GOLDEN") && !strcmp(getenv("VG_UPDATE_GOLDEN"), "1");
    int types[7] = {0};
    const cJSON *c;
    cJSON_ArrayForEach(c, all)
    {
        vg_poolspec s;
        vg_err err = {0};
        if (vg_poolspec_parse("p1", c, &s, &err) != VG_OK)
            fail_msg("%s: %s", c->string, err.msg);
        types[s.type] = 1;
        char *xml = hd_poolxml_pool(&s, &err);
        assert_non_null(xml);
        char path[512];
        snprintf(path, sizeof(path), "%s/%s.xml", CASES, c->string);
        if (update) {
            FILE *f = fopen(path, "wb");
            assert_non_null(f);
            fputs(xml, f);
            fclose(f);
        } else {
            char *want = slurp(path);
            if (!want)
                fail_msg("%s missing (VG_UPDATE_GOLDEN=1 creates it)", path);
            if (strcmp(want, xml)) {
                printf("--- %s\n%s+++ generated\n%s", path, want, xml);
                fail_msg("%s: generated XML differs from the golden file", c->string);
            }
            free(want);
        }
        char type[16];
        assert_int_equal(hd_poolxml_type(xml, type, sizeof(type), &err), VG_OK);
        assert_string_equal(type, vg_pool_type_name(s.type));
        free(xml);
    }
    for (int t = 0; t < 7; t++)
        if (!types[t])
            fail_msg("no golden case of type %s", vg_pool_type_name((vg_pool_type)t));
    cJSON_Delete(all);
}

static void refused(const char *name, const char *json, const char *want)
{
    cJSON *j = cJSON_Parse(json);
    if (!j)
        fail_msg("test JSON does not parse: %s", json);
    vg_poolspec s;
    vg_err err = {0};
    if (vg_poolspec_parse(name, j, &s, &err) == VG_OK)
        fail_msg("accepted: %s", json);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    if (!strstr(err.msg, want))
        fail_msg("%s: message \"%s\" does not mention \"%s\"", json, err.msg, want);
    cJSON_Delete(j);
}

static void test_refusals(void **state)
{
    (void)state;
    refused("../p", "{\"type\":\"dir\",\"target\":\"/a/b\"}", "pool name");
    refused("p", "[]", "spec must be an object");
    refused("p", "{\"type\":\"rbd\",\"target\":\"/a\"}", "spec.type must be one of");
    refused("p", "{\"target\":\"/a\"}", "spec.type");
    refused("p", "{\"type\":\"dir\"}", "needs spec.target");
    refused("p", "{\"type\":\"dir\",\"target\":\"rel/path\"}", "absolute path");
    refused("p", "{\"type\":\"dir\",\"target\":\"/a/../etc\"}", "absolute path");
    refused("p", "{\"type\":\"dir\",\"target\":\"/a/./b\"}", "absolute path");
    refused("p", "{\"type\":\"dir\",\"target\":\"/a//b\"}", "absolute path");
    refused("p", "{\"type\":\"dir\",\"target\":\"/a/b/\"}", "absolute path");
    refused("p", "{\"type\":\"dir\",\"target\":\"/a/\\nb\"}", "absolute path");
    refused("p", "{\"type\":\"dir\",\"target\":\"/a\",\"source\":{}}", "takes no spec.source");
    refused("p", "{\"type\":\"dir\",\"target\":\"/a\",\"extra\":1}", "spec.extra is not a field");
    refused("p", "{\"type\":\"fs\",\"target\":\"/a\"}", "needs spec.source");
    refused("p", "{\"type\":\"fs\",\"target\":\"/a\",\"source\":{\"device\":\"/etc/passwd\"}}",
            "below /dev/");
    refused("p", "{\"type\":\"fs\",\"target\":\"/a\",\"source\":{\"device\":\"/dev/../etc/x\"}}",
            "below /dev/");
    refused("p",
            "{\"type\":\"fs\",\"target\":\"/a\",\"source\":{\"device\":\"/dev/"
            "sda\",\"format\":\"ntfs\"}}",
            "spec.source.format must be one of");
    refused("p", "{\"type\":\"netfs\",\"target\":\"/a\",\"source\":{\"dir\":\"/x\"}}",
            "spec.source.host");
    refused("p", "{\"type\":\"netfs\",\"target\":\"/a\",\"source\":{\"host\":\"h\",\"dir\":\"x\"}}",
            "spec.source.dir");
    refused("p",
            "{\"type\":\"netfs\",\"target\":\"/a\",\"source\":{\"host\":\"a b\",\"dir\":\"/x\"}}",
            "spec.source.host");
    refused("p", "{\"type\":\"logical\",\"source\":{}}", "spec.source.name");
    refused("p", "{\"type\":\"logical\",\"target\":\"/x\",\"source\":{\"name\":\"vg\"}}",
            "takes no spec.target");
    refused("p", "{\"type\":\"iscsi\",\"source\":{\"host\":\"h\",\"iqn\":\"target1\"}}",
            "spec.source.iqn");
    refused("p", "{\"type\":\"iscsi\",\"source\":{\"host\":\"h\",\"iqn\":\"iqn.x\",\"port\":0}}",
            "port");
    refused("p", "{\"type\":\"iscsi\",\"source\":{\"host\":\"h\",\"iqn\":\"iqn.x\",\"port\":1.5}}",
            "port");
    refused("p",
            "{\"type\":\"iscsi\",\"source\":{\"host\":\"h\",\"iqn\":\"iqn.x\",\"auth\":{"
            "\"username\":\"u\"}}}",
            "spec.source.auth.secret");
    refused("p", "{\"type\":\"iscsi-direct\",\"source\":{\"host\":\"h\",\"iqn\":\"iqn.x\"}}",
            "initiator");
    refused("p", "{\"type\":\"disk\",\"source\":{\"format\":\"gpt\"}}", "spec.source.device");
    refused("p", "{\"type\":\"logical\",\"source\":{\"name\":\"vg\",\"devices\":[1]}}",
            "devices[0]");
}

static void test_roots(void **state)
{
    (void)state;
    const char *roots = "/var/lib/vmgate/pools, /srv/pools/";
    assert_true(vg_poolspec_under_roots("/var/lib/vmgate/pools/a", roots));
    assert_true(vg_poolspec_under_roots("/srv/pools/a/b", roots));
    assert_false(vg_poolspec_under_roots("/var/lib/vmgate/pools", roots));
    assert_false(vg_poolspec_under_roots("/var/lib/vmgate/poolsX/a", roots));
    assert_false(vg_poolspec_under_roots("/etc", roots));
    assert_false(vg_poolspec_under_roots("/srv/pools", roots));
    assert_false(vg_poolspec_under_roots("/a", ""));
    assert_false(vg_poolspec_under_roots("/a", NULL));
}

static void test_secret_doc(void **state)
{
    (void)state;
    vg_err err;
    char *xml = hd_poolxml_secret("tgt-chap", "CHAP <of> t1", &err);
    assert_non_null(xml);
    assert_non_null(strstr(xml, "private=\"yes\""));
    assert_non_null(strstr(xml, "<usage type=\"iscsi\">"));
    assert_non_null(strstr(xml, "<target>tgt-chap</target>"));
    assert_non_null(strstr(xml, "CHAP &lt;of&gt; t1"));
    free(xml);
}

/* libvirt's storage pool capabilities as `virsh pool-capabilities` prints them (9.0,
 * shortened): iscsi-direct not installed. */
static void test_capabilities(void **state)
{
    (void)state;
    const char *caps = "<storagepoolCapabilities>\n"
                       "  <pool type='dir' supported='yes'>\n"
                       "    <volOptions><defaultFormat type='raw'/></volOptions>\n"
                       "  </pool>\n"
                       "  <pool type='iscsi-direct' supported='no'>\n  </pool>\n"
                       "  <pool type='iscsi' supported='yes'>\n  </pool>\n"
                       "</storagepoolCapabilities>\n";
    assert_int_equal(hd_poolxml_supported(caps, "dir"), 1);
    assert_int_equal(hd_poolxml_supported(caps, "iscsi"), 1);
    assert_int_equal(hd_poolxml_supported(caps, "iscsi-direct"), 0);
    assert_int_equal(hd_poolxml_supported(caps, "rbd"), 0); /* not listed: no driver */
    assert_int_equal(hd_poolxml_supported("<capabilities/>", "dir"), -1);
    assert_int_equal(hd_poolxml_supported("not xml", "dir"), -1);
    assert_int_equal(hd_poolxml_supported(NULL, "dir"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),       cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_roots),        cmocka_unit_test(test_secret_doc),
        cmocka_unit_test(test_capabilities),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
