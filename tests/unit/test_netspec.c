/* vg_netspec and vg_nwfilter: golden network XML for every kind (tests/unit/data/network/) and
 * golden nwfilter XML (tests/unit/data/nwfilter/), each <case>.json giving <case>.xml, and the
 * refusal of every kind of bad input with an error naming the field.
 *
 * VG_UPDATE_GOLDEN=1 rewrites the .xml files from the current code instead of comparing; review
 * the diff before committing it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vg_netspec.h"
#include "vg_nwfilter.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[262144];
    size_t len = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[len] = '\0';
    return strdup(buf);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t list_cases(const char *dir, char **names, size_t cap)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < cap;) {
        size_t len = strlen(e->d_name);
        if (len > 5 && !strcmp(e->d_name + len - 5, ".json")) {
            names[n] = strdup(e->d_name);
            names[n++][len - 5] = '\0';
        }
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_names);
    return n;
}

typedef char *gen_fn(const cJSON *spec, const char *name);

static char *gen_network(const cJSON *j, const char *name)
{
    vg_netspec s;
    vg_err err = {0};
    if (vg_netspec_parse(j, &s, &err) != VG_OK)
        fail_msg("%s: %s", name, err.msg);
    char *xml = vg_netspec_xml(&s, NULL, &err);
    vg_netspec_free(&s);
    if (!xml)
        fail_msg("%s: %s", name, err.msg);
    return xml;
}

static char *gen_filter(const cJSON *j, const char *name)
{
    static vg_nwfilter f;
    vg_err err = {0};
    if (vg_nwfilter_parse(j, &f, &err) != VG_OK)
        fail_msg("%s: %s", name, err.msg);
    char *xml = vg_nwfilter_xml(&f, NULL, &err);
    if (!xml)
        fail_msg("%s: %s", name, err.msg);
    return xml;
}

static void golden(const char *dir, const char *root, gen_fn *gen, size_t min)
{
    char *names[64];
    size_t n = list_cases(dir, names, 64);
    assert_true(n >= min);
    int update = getenv("VG_UPDATE_GOLDEN") && strcmp(getenv("VG_UPDATE_GOLDEN"), "1") == 0;
    for (size_t i = 0; i < n; i++) {
        char jpath[512], xpath[512];
        snprintf(jpath, sizeof(jpath), "%s/%s.json", dir, names[i]);
        snprintf(xpath, sizeof(xpath), "%s/%s.xml", dir, names[i]);
        char *text = slurp(jpath);
        cJSON *j = text ? cJSON_Parse(text) : NULL;
        if (!j)
            fail_msg("%s is not JSON", jpath);
        char *xml = gen(j, names[i]);
        xmlDoc *doc = xmlReadMemory(xml, (int)strlen(xml), "gen.xml", NULL, XML_PARSE_NONET);
        if (!doc)
            fail_msg("%s: generated XML is not well-formed", names[i]);
        assert_string_equal((const char *)xmlDocGetRootElement(doc)->name, root);
        xmlFreeDoc(doc);
        if (update) {
            FILE *f = fopen(xpath, "wb");
            assert_non_null(f);
            fputs(xml, f);
            fclose(f);
        } else {
            char *want = slurp(xpath);
            if (!want)
                fail_msg("%s missing (run with VG_UPDATE_GOLDEN=1 to create it)", xpath);
            if (strcmp(want, xml) != 0) {
                printf("--- %s\n%s+++ generated\n%s", xpath, want, xml);
                fail_msg("%s: generated XML differs from the golden file", names[i]);
            }
            free(want);
        }
        free(xml);
        free(text);
        cJSON_Delete(j);
        free(names[i]);
    }
}

static void test_network_golden(void **state)
{
    (void)state;
    golden(VG_TEST_DATA_DIR "/network", "network", gen_network, 6);
}

static void test_nwfilter_golden(void **state)
{
    (void)state;
    golden(VG_TEST_DATA_DIR "/nwfilter", "filter", gen_filter, 2);
}

typedef struct bad_case {
    const char *json;
    const char *msg; /* a part of the error */
} bad_case;

static void test_network_refusals(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        {"{\"kind\":\"nat\"}", "network.name is required"},
        {"{\"name\":\"n\",\"kind\":\"vxlan\"}", "network.kind must be one of"},
        {"{\"name\":\"n\",\"kind\":\"nat\",\"colour\":1}", "network.colour is not a known field"},
        {"{\"name\":\"n\",\"kind\":\"bridge\"}", "network.bridge is required for kind bridge"},
        {"{\"name\":\"n\",\"kind\":\"macvtap\"}", "network.dev (the parent interface) is required"},
        {"{\"name\":\"n\",\"kind\":\"bridge\",\"bridge\":\"a b\"}",
         "network.bridge must be an interface name"},
        {"{\"name\":\"n\",\"kind\":\"bridge\",\"bridge\":\"br0\",\"ipv4\":{\"address\":\"10.0.0."
         "1\",\"prefix\":24}}",
         "network.ipv4 is not for kind bridge"},
        {"{\"name\":\"n\",\"kind\":\"nat\",\"vlans\":[5]}", "only for kind ovs"},
        {"{\"name\":\"n\",\"kind\":\"ovs\",\"bridge\":\"o\",\"vlans\":[5000]}",
         "network.vlans[0] must be an integer 1-4094"},
        {"{\"name\":\"n\",\"kind\":\"ovs\",\"bridge\":\"o\",\"vlans\":[5,6]}",
         "needs \"trunk\": true"},
        {"{\"name\":\"n\",\"kind\":\"macvtap\",\"dev\":\"e\",\"mode\":\"hub\"}",
         "network.mode must be one of"},
        {"{\"name\":\"n\",\"kind\":\"routed\"}", "kind routed needs network.ipv4 or network.ipv6"},
        {"{\"name\":\"n\",\"kind\":\"nat\",\"ipv4\":{\"address\":\"10.0.0.300\",\"prefix\":24}}",
         "network.ipv4.address must be an IPv4 address"},
        {"{\"name\":\"n\",\"kind\":\"nat\",\"ipv4\":{\"address\":\"10.0.0.1\",\"prefix\":33}}",
         "network.ipv4.prefix must be an integer 8-30"},
        {"{\"name\":\"n\",\"kind\":\"nat\",\"ipv4\":{\"address\":\"10.0.0.1\"}}",
         "network.ipv4.prefix is required"},
        {"{\"name\":\"n\",\"kind\":\"nat\",\"ipv4\":{\"address\":\"10.0.0.1\",\"prefix\":24,"
         "\"dhcp\":{\"start\":\"10.0.1.5\",\"end\":\"10.0.0.9\"}}}",
         "network.ipv4.dhcp.start 10.0.1.5 is outside 10.0.0.0/24"},
        {"{\"name\":\"n\",\"kind\":\"nat\",\"ipv4\":{\"address\":\"10.0.0.1\",\"prefix\":24,"
         "\"dhcp\":{\"start\":\"10.0.0.50\",\"end\":\"10.0.0.9\"}}}",
         "network.ipv4.dhcp.start must not be after network.ipv4.dhcp.end"},
        {"{\"name\":\"n\",\"kind\":\"nat\",\"ipv4\":{\"address\":\"10.0.0.1\",\"prefix\":24,"
         "\"dhcp\":{\"start\":\"10.0.0.2\",\"end\":\"10.0.0.255\"}}}",
         "broadcast"},
        {"{\"name\":\"n\",\"kind\":\"nat\",\"ipv4\":{\"address\":\"10.0.0.1\",\"prefix\":24,"
         "\"hosts\":[{\"mac\":\"52:54:00:00:00:01\",\"ip\":\"10.0.0.5\"},{\"mac\":\"52:54:00:00:00:"
         "02\",\"ip\":\"10.0.0.5\"}]}}",
         "10.0.0.5 is already leased"},
        {"{\"name\":\"n\",\"kind\":\"nat\",\"ipv4\":{\"address\":\"10.0.0.1\",\"prefix\":24,"
         "\"hosts\":[{\"ip\":\"10.0.0.5\"}]}}",
         "network.ipv4.hosts[0].mac is required"},
        {"{\"name\":\"n\",\"kind\":\"nat\",\"ipv6\":{\"address\":\"10.0.0.1\",\"prefix\":64}}",
         "network.ipv6.address must be an IPv6 address"},
        {"{\"name\":\"n\",\"kind\":\"nat\",\"dns\":{\"forwarders\":[\"dns.example\"]}}",
         "network.dns.forwarders[0] must be an IPv4 or IPv6 address"},
        {"{\"name\":\"n\",\"kind\":\"nat\",\"dns\":{\"hosts\":[{\"ip\":\"10.0.0.2\",\"names\":[\"a "
         "b\"]}]}}",
         "network.dns.hosts[0].names[0] must be a host name"},
        {"{\"name\":\"../x\",\"kind\":\"nat\"}", "network.name must be a name"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *j = cJSON_Parse(cases[i].json);
        assert_non_null(j);
        vg_netspec s;
        vg_err err = {0};
        if (vg_netspec_parse(j, &s, &err) == VG_OK)
            fail_msg("accepted %s", cases[i].json);
        if (!strstr(err.msg, cases[i].msg))
            fail_msg("%s: error \"%s\" lacks \"%s\"", cases[i].json, err.msg, cases[i].msg);
        assert_int_equal(err.code, VG_E_BAD_REQUEST);
        cJSON_Delete(j);
    }
}

static void test_lease_add(void **state)
{
    (void)state;
    cJSON *j = cJSON_Parse(
        "{\"name\":\"n\",\"kind\":\"isolated\",\"ipv4\":{\"address\":\"10.5.0.1\","
        "\"prefix\":24,\"hosts\":[{\"mac\":\"52:54:00:00:00:01\",\"ip\":\"10.5.0.7\"}]}}");
    vg_netspec s;
    vg_err err = {0};
    assert_int_equal(vg_netspec_parse(j, &s, &err), VG_OK);
    assert_int_equal(vg_netspec_lease_add(&s, "52:54:00:00:00:02", "10.5.0.8", "vm2", &err), VG_OK);
    assert_int_equal(vg_netspec_lease_add(&s, "52:54:00:00:00:03", "10.5.0.8", "vm3", &err),
                     VG_ERR);
    assert_int_equal(err.code, VG_E_CONFLICT);
    assert_int_equal(vg_netspec_lease_add(&s, "52:54:00:00:00:03", "10.6.0.8", "vm3", &err),
                     VG_ERR);
    assert_non_null(strstr(err.msg, "outside 10.5.0.0/24"));
    assert_int_equal(vg_netspec_lease_add(&s, "52:54:00:00:00:03", "fd00::8", "vm3", &err), VG_ERR);
    assert_non_null(strstr(err.msg, "has no IPv6 subnet"));
    char *xml = vg_netspec_xml(&s, NULL, &err);
    assert_non_null(strstr(xml, "<host mac='52:54:00:00:00:02' name='vm2' ip='10.5.0.8'/>"));
    free(xml);
    vg_netspec_free(&s);
    cJSON_Delete(j);
}

static void test_nwfilter_refusals(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        {"{\"rules\":[]}", "filter.name is required"},
        {"{\"name\":\"f\",\"rules\":[{\"direction\":\"in\"}]}",
         "filter.rules[0].action is required"},
        {"{\"name\":\"f\",\"rules\":[{\"action\":\"allow\"}]}",
         "filter.rules[0].action must be one of"},
        {"{\"name\":\"f\",\"rules\":[{\"action\":\"accept\",\"protocol\":\"tcp\",\"port_min\":"
         "70000}]}",
         "filter.rules[0].port_min must be an integer 1-65535"},
        {"{\"name\":\"f\",\"rules\":[{\"action\":\"accept\",\"protocol\":\"tcp\",\"port_min\":90,"
         "\"port_max\":80}]}",
         "port_max must not be below port_min"},
        {"{\"name\":\"f\",\"rules\":[{\"action\":\"accept\",\"protocol\":\"icmp\",\"port_min\":9}]"
         "}",
         "ports need protocol tcp or udp"},
        {"{\"name\":\"f\",\"rules\":[{\"action\":\"accept\",\"direction\":\"in\",\"remote\":\"10.0."
         "0.300/33\"}]}",
         "filter.rules[0].remote must be an address or CIDR"},
        {"{\"name\":\"f\",\"rules\":[{\"action\":\"accept\",\"direction\":\"in\",\"remote\":\"10.0."
         "0.0/33\"}]}",
         "filter.rules[0].remote must be an address or CIDR"},
        {"{\"name\":\"f\",\"rules\":[{\"action\":\"accept\",\"direction\":\"in\",\"protocol\":"
         "\"tcp\",\"remote\":\"fd00::/8\"}]}",
         "is an IPv6 address but protocol tcp is IPv4"},
        {"{\"name\":\"f\",\"rules\":[{\"action\":\"accept\",\"remote\":\"10.0.0.0/8\"}]}",
         "needs direction in or out"},
        {"{\"name\":\"f\",\"include\":[\"f\"]}", "names the filter itself"},
        {"{\"name\":\"f\",\"chain\":\"nat\"}", "filter.chain must be one of"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *j = cJSON_Parse(cases[i].json);
        assert_non_null(j);
        static vg_nwfilter f;
        vg_err err = {0};
        if (vg_nwfilter_parse(j, &f, &err) == VG_OK)
            fail_msg("accepted %s", cases[i].json);
        if (!strstr(err.msg, cases[i].msg))
            fail_msg("%s: error \"%s\" lacks \"%s\"", cases[i].json, err.msg, cases[i].msg);
        cJSON_Delete(j);
    }
}

static void test_cidr(void **state)
{
    (void)state;
    vg_ip a, b;
    int pa, pb;
    assert_true(vg_cidr_parse("10.1.0.0/16", &a, &pa));
    assert_true(vg_cidr_parse("10.1.7.0/24", &b, &pb));
    assert_true(vg_ip_overlap(&a, pa, &b, pb));
    assert_true(vg_cidr_parse("10.2.0.0/16", &b, &pb));
    assert_false(vg_ip_overlap(&a, pa, &b, pb));
    assert_true(vg_cidr_parse("fd00::/8", &b, &pb));
    assert_false(vg_ip_overlap(&a, pa, &b, pb));
    assert_false(vg_cidr_parse("10.0.0.300/33", &a, &pa));
    assert_false(vg_cidr_parse("10.0.0.0/", &a, &pa));
    assert_false(vg_cidr_parse("/8", &a, &pa));
    assert_true(vg_cidr_parse("192.0.2.1", &a, &pa));
    assert_int_equal(pa, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_network_golden),    cmocka_unit_test(test_nwfilter_golden),
        cmocka_unit_test(test_network_refusals),  cmocka_unit_test(test_lease_add),
        cmocka_unit_test(test_nwfilter_refusals), cmocka_unit_test(test_cidr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
