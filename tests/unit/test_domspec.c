/* vg_domspec: golden domain XML for every case in tests/unit/data/domspec/ (<case>.json spec,
 * <case>.host.json what hostd resolved, <case>.xml expected), refusals of every kind of bad
 * field, round trips through vg_domspec_to_json, generated MACs and vg_domspec_disk_mib.
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

#include "vg_domspec.h"

#define SEED 42u
#define CASES VG_TEST_DATA_DIR "/domspec"

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

static cJSON *load_json(const char *path)
{
    char *text = slurp(path);
    if (!text)
        fail_msg("cannot read %s", path);
    cJSON *j = cJSON_Parse(text);
    if (!j)
        fail_msg("%s is not JSON", path);
    free(text);
    return j;
}

static const char *str_or_null(const cJSON *j)
{
    return cJSON_IsString(j) ? j->valuestring : NULL;
}

/* Fills host from a <case>.host.json; the strings stay owned by j. */
static void load_host(const cJSON *j, vg_domspec_host *host)
{
    memset(host, 0, sizeof(*host));
    host->console_dir = str_or_null(cJSON_GetObjectItem(j, "console_dir"));
    host->cdrom_path = str_or_null(cJSON_GetObjectItem(j, "cdrom_path"));
    host->uuid = str_or_null(cJSON_GetObjectItem(j, "uuid"));
    const cJSON *paths = cJSON_GetObjectItem(j, "disk_path");
    const cJSON *formats = cJSON_GetObjectItem(j, "disk_format");
    for (int i = 0; i < VG_SPEC_MAX_DISKS; i++) {
        host->disk_path[i] = str_or_null(cJSON_GetArrayItem(paths, i));
        host->disk_format[i] = str_or_null(cJSON_GetArrayItem(formats, i));
    }
}

static int is_spec_file(const char *name)
{
    size_t n = strlen(name);
    return n > 5 && strcmp(name + n - 5, ".json") == 0 &&
           !(n > 10 && strcmp(name + n - 10, ".host.json") == 0);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The case names (<case>.json without .host.json), sorted. */
static size_t list_cases(char **names, size_t cap)
{
    DIR *d = opendir(CASES);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < cap;)
        if (is_spec_file(e->d_name)) {
            names[n] = strdup(e->d_name);
            names[n][strlen(names[n]) - 5] = '\0';
            n++;
        }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_names);
    return n;
}

static char *xml_for(const char *spec_path, const char *host_path, vg_spec *spec)
{
    cJSON *j = load_json(spec_path), *h = load_json(host_path);
    vg_err err = {0};
    if (vg_domspec_parse(j, spec, SEED, &err) != VG_OK)
        fail_msg("%s: %s", spec_path, err.msg);
    vg_domspec_host host;
    load_host(h, &host);
    char *xml = vg_domspec_xml(spec, &host, &err);
    if (!xml)
        fail_msg("%s: %s", host_path, err.msg);
    cJSON_Delete(j);
    cJSON_Delete(h);
    return xml;
}

static void test_golden(void **state)
{
    (void)state;
    char *names[64];
    size_t n = list_cases(names, 64);
    assert_true(n >= 5);
    int update = getenv("VG_UPDATE_GOLDEN") && strcmp(getenv("VG_UPDATE_GOLDEN"), "1") == 0;
    for (size_t i = 0; i < n; i++) {
        char spec_path[512], host_path[512], xml_path[512];
        snprintf(spec_path, sizeof(spec_path), "%s/%s.json", CASES, names[i]);
        snprintf(host_path, sizeof(host_path), "%s/%s.host.json", CASES, names[i]);
        snprintf(xml_path, sizeof(xml_path), "%s/%s.xml", CASES, names[i]);
        vg_spec *spec = malloc(sizeof(*spec));
        char *xml = xml_for(spec_path, host_path, spec);
        /* whatever the golden file says, the output must be a well-formed <domain> */
        xmlDoc *doc = xmlReadMemory(xml, (int)strlen(xml), "gen.xml", NULL, XML_PARSE_NONET);
        if (!doc)
            fail_msg("%s: generated XML is not well-formed", names[i]);
        assert_string_equal((const char *)xmlDocGetRootElement(doc)->name, "domain");
        xmlFreeDoc(doc);
        if (update) {
            FILE *f = fopen(xml_path, "wb");
            assert_non_null(f);
            fputs(xml, f);
            fclose(f);
            printf("updated %s\n", xml_path);
        } else {
            char *want = slurp(xml_path);
            if (!want)
                fail_msg("%s missing (run with VG_UPDATE_GOLDEN=1 to create it)", xml_path);
            if (strcmp(want, xml) != 0) {
                printf("--- %s\n%s+++ generated\n%s", xml_path, want, xml);
                fail_msg("%s: generated XML differs from the golden file", names[i]);
            }
            free(want);
        }
        free(xml);
        vg_domspec_free(spec);
        free(spec);
        free(names[i]);
    }
}

/* parse -> to_json -> parse gives the same spec (same JSON again, same XML), also with a
 * different seed: generated MACs are part of the stored spec. */
static void test_round_trip(void **state)
{
    (void)state;
    char *names[64];
    size_t n = list_cases(names, 64);
    for (size_t i = 0; i < n; i++) {
        char spec_path[512], host_path[512];
        snprintf(spec_path, sizeof(spec_path), "%s/%s.json", CASES, names[i]);
        snprintf(host_path, sizeof(host_path), "%s/%s.host.json", CASES, names[i]);
        vg_spec *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
        char *xa = xml_for(spec_path, host_path, a);
        cJSON *ja = vg_domspec_to_json(a);
        assert_non_null(ja);
        vg_err err = {0};
        if (vg_domspec_parse(ja, b, SEED + 1, &err) != VG_OK)
            fail_msg("%s: to_json output does not parse: %s", names[i], err.msg);
        cJSON *jb = vg_domspec_to_json(b);
        char *sa = cJSON_PrintUnformatted(ja), *sb = cJSON_PrintUnformatted(jb);
        assert_string_equal(sa, sb);
        cJSON *h = load_json(host_path);
        vg_domspec_host host;
        load_host(h, &host);
        char *xb = vg_domspec_xml(b, &host, &err);
        assert_non_null(xb);
        assert_string_equal(xa, xb);
        assert_int_equal(vg_domspec_disk_mib(a), vg_domspec_disk_mib(b));
        assert_int_equal(a->vcpus, b->vcpus);
        assert_int_equal(a->memory_mib, b->memory_mib);
        free(sa);
        free(sb);
        free(xa);
        free(xb);
        cJSON_Delete(ja);
        cJSON_Delete(jb);
        cJSON_Delete(h);
        vg_domspec_free(a);
        vg_domspec_free(b);
        free(a);
        free(b);
        free(names[i]);
    }
}

typedef struct bad_case {
    const char *json;
    const char *msg; /* must appear in the error message */
} bad_case;

/* Every kind of bad field: wrong type, out of range, unknown value, unknown or repeated member,
 * inconsistent combination. Each names the field. */
static const bad_case bad[] = {
    {"[]", "spec must be an object"},
    {"{}", "spec.name must be a name"},
    {"{\"name\":\"\"}", "spec.name must be a name"},
    {"{\"name\":\".x\"}", "spec.name must be a name"},
    {"{\"name\":\"a/b\"}", "spec.name must be a name"},
    {"{\"name\":5}", "spec.name must be a name"},
    {"{\"name\":\"v\",\"nmae\":1}", "spec.nmae is not a known field"},
    {"{\"name\":\"v\",\"Name\":\"v\"}", "spec.Name is not a known field"},
    {"{\"name\":\"v\",\"vcpus\":1,\"vcpus\":2}", "spec.vcpus appears twice"},
    {"{\"name\":\"v\",\"description\":7}", "spec.description must be a string"},
    {"{\"name\":\"v\",\"description\":\"a\\u0001b\"}", "spec.description must be UTF-8 text"},
    {"{\"name\":\"v\",\"description\":\"\xff\"}", "spec.description must be UTF-8 text"},
    {"{\"name\":\"v\",\"vcpus\":0}", "spec.vcpus must be an integer 1-64"},
    {"{\"name\":\"v\",\"vcpus\":65}", "spec.vcpus must be an integer 1-64"},
    {"{\"name\":\"v\",\"vcpus\":1.5}", "spec.vcpus must be an integer 1-64"},
    {"{\"name\":\"v\",\"vcpus\":\"2\"}", "spec.vcpus must be an integer 1-64"},
    {"{\"name\":\"v\",\"vcpus\":true}", "spec.vcpus must be an integer 1-64"},
    {"{\"name\":\"v\",\"vcpus\":null}", "spec.vcpus must be an integer 1-64"},
    {"{\"name\":\"v\",\"memory_mib\":15}", "spec.memory_mib must be an integer 16-1048576"},
    {"{\"name\":\"v\",\"memory_mib\":1e300}", "spec.memory_mib must be an integer 16-1048576"},
    {"{\"name\":\"v\",\"arch\":\"sparc\"}", "spec.arch must be one of x86_64, i686, aarch64"},
    {"{\"name\":\"v\",\"machine\":\"pc q35\"}", "spec.machine must be a machine type"},
    {"{\"name\":\"v\",\"machine\":[]}", "spec.machine must be a string"},
    {"{\"name\":\"v\",\"boot\":[]}", "spec.boot must be an object"},
    {"{\"name\":\"v\",\"boot\":{\"ordre\":[]}}", "spec.boot.ordre is not a known field"},
    {"{\"name\":\"v\",\"boot\":{\"order\":[]}}", "spec.boot.order must be a list of 1-3"},
    {"{\"name\":\"v\",\"boot\":{\"order\":\"hd\"}}", "spec.boot.order must be a list of 1-3"},
    {"{\"name\":\"v\",\"boot\":{\"order\":[\"hd\",\"floppy\"]}}", "spec.boot.order[1] must be"},
    {"{\"name\":\"v\",\"boot\":{\"order\":[\"hd\",\"hd\"]}}", "spec.boot.order[1] repeats hd"},
    {"{\"name\":\"v\",\"boot\":{\"menu\":1}}", "spec.boot.menu must be true or false"},
    {"{\"name\":\"v\",\"kernel\":{}}", "spec.kernel.kernel is required"},
    {"{\"name\":\"v\",\"kernel\":{\"kernel\":\"vmlinuz\"}}", "spec.kernel.kernel must be an abs"},
    {"{\"name\":\"v\",\"kernel\":{\"kernel\":\"/boot/../etc/shadow\"}}", "spec.kernel.kernel must"},
    {"{\"name\":\"v\",\"kernel\":{\"kernel\":\"/k\",\"initrd\":\"/x/..\"}}", "spec.kernel.initrd"},
    {"{\"name\":\"v\",\"kernel\":{\"kernel\":\"/k\",\"initrd\":\"\"}}", "spec.kernel.initrd"},
    {"{\"name\":\"v\",\"kernel\":{\"kernel\":\"/k\",\"cmdline\":\"a\\nb\"}}",
     "spec.kernel.cmdline must be UTF-8 text"},
    {"{\"name\":\"v\",\"kernel\":{\"kernel\":\"/k\",\"append\":\"\"}}",
     "spec.kernel.append is not a known field"},
    {"{\"name\":\"v\",\"kernel\":{\"kernel\":\"/k\"},\"boot\":{\"order\":[\"hd\"]}}",
     "spec.boot.order cannot be combined with spec.kernel"},
    {"{\"name\":\"v\",\"disks\":{}}", "spec.disks must be a list of at most 8 disks"},
    {"{\"name\":\"v\",\"disks\":[{},{},{},{},{},{},{},{},{}]}", "spec.disks must be a list"},
    {"{\"name\":\"v\",\"disks\":[1]}", "spec.disks[0] must be an object"},
    {"{\"name\":\"v\",\"disks\":[{}]}", "spec.disks[0] needs size_mib and pool"},
    {"{\"name\":\"v\",\"disks\":[{\"size_mib\":1}]}", "spec.disks[0].pool is required"},
    {"{\"name\":\"v\",\"disks\":[{\"size_mib\":1,\"pool\":\"p\"},{\"size_mib\":0,\"pool\":\"p\"}]}",
     "spec.disks[1].size_mib must be an integer 1-1048576"},
    {"{\"name\":\"v\",\"disks\":[{\"size_mib\":1048577,\"pool\":\"p\"}]}",
     "spec.disks[0].size_mib must be an integer 1-1048576"},
    {"{\"name\":\"v\",\"disks\":[{\"size_mib\":1,\"pool\":\"p\",\"format\":\"vmdk\"}]}",
     "spec.disks[0].format must be one of qcow2, raw"},
    {"{\"name\":\"v\",\"disks\":[{\"size_mib\":1,\"pool\":\"p/q\"}]}", "spec.disks[0].pool must"},
    {"{\"name\":\"v\",\"disks\":[{\"size_mib\":1,\"pool\":\"p\",\"bus\":\"usb\"}]}",
     "spec.disks[0].bus must be one of virtio, sata, scsi, ide"},
    {"{\"name\":\"v\",\"disks\":[{\"size_mib\":1,\"pool\":\"p\",\"cache\":\"fast\"}]}",
     "spec.disks[0].cache must be one of default, none"},
    {"{\"name\":\"v\",\"disks\":[{\"size_mib\":1,\"pool\":\"p\",\"sise\":1}]}",
     "spec.disks[0].sise is not a known field"},
    {"{\"name\":\"v\",\"disks\":[{\"image\":\"p/i\",\"volume\":\"p/v\"}]}",
     "spec.disks[0] may have image or volume, not both"},
    {"{\"name\":\"v\",\"disks\":[{\"image\":\"p/i\",\"format\":\"raw\"}]}",
     "spec.disks[0].format does not apply to an image disk"},
    {"{\"name\":\"v\",\"disks\":[{\"volume\":\"p/v\",\"size_mib\":5}]}",
     "spec.disks[0].size_mib does not apply to a volume disk"},
    {"{\"name\":\"v\",\"disks\":[{\"image\":\"noslash\"}]}", "spec.disks[0].image must be"},
    {"{\"name\":\"v\",\"disks\":[{\"image\":\"p/\"}]}", "spec.disks[0].image must be"},
    {"{\"name\":\"v\",\"disks\":[{\"image\":\"/v\"}]}", "spec.disks[0].image must be"},
    {"{\"name\":\"v\",\"disks\":[{\"image\":\"p/a/b\"}]}", "spec.disks[0].image must be"},
    {"{\"name\":\"v\",\"disks\":[{\"image\":\"p/i\",\"size_mib\":-1}]}",
     "spec.disks[0].size_mib must be an integer 0-1048576"},
    {"{\"name\":\"v\",\"disks\":[{\"volume\":7}]}", "spec.disks[0].volume must be"},
    {"{\"name\":\"v\",\"machine\":\"q35\",\"disks\":[{\"volume\":\"p/v\",\"bus\":\"ide\"}]}",
     "spec.disks[0].bus ide does not exist on machine q35"},
    {"{\"name\":\"v\",\"disks\":[{\"volume\":\"p/a\",\"bus\":\"ide\"},{\"volume\":\"p/b\",\"bus\":"
     "\"ide\"},{\"volume\":\"p/c\",\"bus\":\"ide\"},{\"volume\":\"p/d\",\"bus\":\"ide\"},"
     "{\"volume\":\"p/e\",\"bus\":\"ide\"}]}",
     "spec.disks[4].bus: at most 4 IDE devices"},
    {"{\"name\":\"v\",\"disks\":[{\"volume\":\"p/a\",\"bus\":\"ide\"},{\"volume\":\"p/b\",\"bus\":"
     "\"ide\"},{\"volume\":\"p/c\",\"bus\":\"ide\"},{\"volume\":\"p/d\",\"bus\":\"ide\"}],"
     "\"cdrom\":{\"bus\":\"ide\"}}",
     "spec.cdrom.bus: at most 4 IDE devices"},
    {"{\"name\":\"v\",\"cdrom\":true}", "spec.cdrom must be an object"},
    {"{\"name\":\"v\",\"cdrom\":{\"bus\":\"scsi\"}}", "spec.cdrom.bus must be one of sata, ide"},
    {"{\"name\":\"v\",\"arch\":\"aarch64\",\"cdrom\":{\"bus\":\"ide\"}}",
     "spec.cdrom.bus ide does not exist on machine virt"},
    {"{\"name\":\"v\",\"cdrom\":{\"media\":\"x.iso\"}}", "spec.cdrom.media must be"},
    {"{\"name\":\"v\",\"cdrom\":{\"media\":false}}", "spec.cdrom.media must be"},
    {"{\"name\":\"v\",\"cdrom\":{\"medium\":null}}", "spec.cdrom.medium is not a known field"},
    {"{\"name\":\"v\",\"nics\":[{},{},{},{},{},{},{},{},{}]}", "spec.nics must be a list"},
    {"{\"name\":\"v\",\"nics\":[\"default\"]}", "spec.nics[0] must be an object"},
    {"{\"name\":\"v\",\"nics\":[{\"model\":\"virtio\"}]}", "spec.nics[0].network is required"},
    {"{\"name\":\"v\",\"nics\":[{\"network\":\"\"}]}", "spec.nics[0].network must be a name"},
    {"{\"name\":\"v\",\"nics\":[{\"network\":\"n\",\"model\":\"ne2k\"}]}",
     "spec.nics[0].model must be one of virtio, e1000, rtl8139"},
    {"{\"name\":\"v\",\"nics\":[{\"network\":\"n\",\"mac\":\"52:54:00:12:34\"}]}",
     "spec.nics[0].mac must be a unicast MAC"},
    {"{\"name\":\"v\",\"nics\":[{\"network\":\"n\",\"mac\":\"52-54-00-12-34-56\"}]}",
     "spec.nics[0].mac must be a unicast MAC"},
    {"{\"name\":\"v\",\"nics\":[{\"network\":\"n\",\"mac\":\"01:00:5e:00:00:01\"}]}",
     "spec.nics[0].mac must be a unicast MAC"},
    {"{\"name\":\"v\",\"nics\":[{\"network\":\"n\",\"mac\":\"00:00:00:00:00:00\"}]}",
     "spec.nics[0].mac must be a unicast MAC"},
    {"{\"name\":\"v\",\"nics\":[{\"network\":\"n\",\"mac\":\"52:54:00:zz:34:56\"}]}",
     "spec.nics[0].mac must be a unicast MAC"},
    {"{\"name\":\"v\",\"nics\":[{\"network\":\"n\",\"mac\":\"52:54:00:12:34:56\"},{\"network\":"
     "\"n\",\"mac\":\"52:54:00:12:34:56\"}]}",
     "spec.nics[1].mac 52:54:00:12:34:56 is used by another NIC"},
    {"{\"name\":\"v\",\"consoles\":{\"virtio\":true}}", "spec.consoles.virtio is not a known"},
    {"{\"name\":\"v\",\"consoles\":{\"channel\":\"yes\"}}",
     "spec.consoles.channel must be true or false"},
    {"{\"name\":\"v\",\"graphics\":\"rdp\"}", "spec.graphics must be one of none, vnc, spice"},
    {"{\"name\":\"v\",\"autostart\":\"true\"}", "spec.autostart must be true or false"},
    {"{\"name\":\"v\",\"on_poweroff\":\"preserve\"}", "spec.on_poweroff must be one of destroy"},
    {"{\"name\":\"v\",\"on_reboot\":\"rename-restart\"}", "spec.on_reboot must be one of"},
    {"{\"name\":\"v\",\"on_crash\":\"explode\"}", "spec.on_crash must be one of destroy"},
    {"{\"name\":\"v\",\"on_poweroff\":\"restart\",\"on_reboot\":\"destroy\"}",
     "spec.on_poweroff restart with spec.on_reboot destroy"},
    {"{\"name\":\"v\",\"placement\":\"host1\"}", "spec.placement must be an object"},
    {"{\"name\":\"v\",\"placement\":{\"host\":\"a\",\"group\":\"b\"}}", "not both"},
    {"{\"name\":\"v\",\"placement\":{\"hots\":\"a\"}}", "spec.placement.hots is not a known"},
    {"{\"name\":\"v\",\"placement\":{\"group\":\"a b\"}}", "spec.placement.group must be a name"},
    {"{\"name\":\"v\",\"placement\":{\"host\":null}}", "spec.placement.host must be a string"},
    {"{\"name\":\"v\",\"raw_xml\":5}", "spec.raw_xml must be a string"},
    {"{\"name\":\"v\",\"raw_xml\":\"<domain>\"}", "spec.raw_xml is not well-formed XML"},
    {"{\"name\":\"v\",\"raw_xml\":\"<network><name>v</name></network>\"}",
     "spec.raw_xml must have a <domain> root"},
    {"{\"name\":\"v\",\"raw_xml\":\"<domain><name>w</name><memory>131072</memory></domain>\"}",
     "spec.raw_xml: <name> must be v"},
    {"{\"name\":\"v\",\"raw_xml\":\"<domain><name>v</name></domain>\"}",
     "spec.raw_xml has no <memory>"},
    {"{\"name\":\"v\",\"raw_xml\":\"<domain><name>v</name><memory unit='parsec'>1</memory>"
     "</domain>\"}",
     "spec.raw_xml: <memory> must be 16-1048576 MiB"},
    {"{\"name\":\"v\",\"raw_xml\":\"<domain><name>v</name><memory unit='TiB'>2</memory>"
     "</domain>\"}",
     "spec.raw_xml: <memory> must be 16-1048576 MiB"},
    {"{\"name\":\"v\",\"raw_xml\":\"<domain><name>v</name><memory>131072</memory><vcpu>0</vcpu>"
     "</domain>\"}",
     "spec.raw_xml: <vcpu> must be 1-64"},
    {"{\"name\":\"v\",\"raw_xml\":\"<!DOCTYPE d [<!ENTITY e 'v'>]><domain><name>&e;</name>"
     "<memory>131072</memory></domain>\"}",
     "spec.raw_xml must not have a DOCTYPE"},
    {"{\"name\":\"v\",\"raw_xml\":\"<domain/>\",\"bogus\":1}", "spec.bogus is not a known field"},
};

static void test_refusals(void **state)
{
    (void)state;
    vg_spec *spec = malloc(sizeof(*spec));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cJSON *j = cJSON_Parse(bad[i].json);
        if (!j)
            fail_msg("case %zu is not JSON: %s", i, bad[i].json);
        vg_err err = {0};
        if (vg_domspec_parse(j, spec, SEED, &err) != VG_ERR)
            fail_msg("case %zu accepted: %s", i, bad[i].json);
        if (err.code != VG_E_BAD_REQUEST || !strstr(err.msg, bad[i].msg))
            fail_msg("case %zu: %s\n  got %s: %s\n  want bad_request: %s", i, bad[i].json,
                     vg_err_code_name(err.code), err.msg, bad[i].msg);
        assert_null(spec->raw_xml); /* nothing to free after a refusal */
        cJSON_Delete(j);
    }
    /* too long raw XML, description and kernel path */
    size_t big = 65537;
    char *s = malloc(big + 1);
    memset(s, ' ', big);
    s[big] = '\0';
    const struct {
        const char *key;
        size_t len;
        const char *msg;
    } longs[] = {
        {"raw_xml", 65537, "spec.raw_xml must be at most 65536 bytes"},
        {"description", 1025, "spec.description must be at most 1024 bytes"},
    };
    for (size_t i = 0; i < 2; i++) {
        s[longs[i].len] = '\0';
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "name", "v");
        cJSON_AddStringToObject(j, longs[i].key, s);
        vg_err err = {0};
        assert_int_equal(vg_domspec_parse(j, spec, SEED, &err), VG_ERR);
        assert_int_equal(err.code, VG_E_BAD_REQUEST);
        assert_string_equal(err.msg, longs[i].msg);
        cJSON_Delete(j);
        s[longs[i].len] = ' ';
    }
    memset(s, 'k', 1024);
    s[0] = '/';
    s[1024] = '\0';
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", "v");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(j, "kernel"), "kernel", s);
    vg_err err = {0};
    assert_int_equal(vg_domspec_parse(j, spec, SEED, &err), VG_ERR);
    assert_string_equal(err.msg, "spec.kernel.kernel must be at most 1023 bytes");
    cJSON_Delete(j);
    free(s);
    free(spec);
}

static vg_spec *parse_ok(const char *json, unsigned seed)
{
    cJSON *j = cJSON_Parse(json);
    assert_non_null(j);
    vg_spec *spec = malloc(sizeof(*spec));
    vg_err err = {0};
    if (vg_domspec_parse(j, spec, seed, &err) != VG_OK)
        fail_msg("%s: %s", json, err.msg);
    cJSON_Delete(j);
    return spec;
}

static void test_defaults(void **state)
{
    (void)state;
    vg_spec *s = parse_ok("{\"name\":\"v\"}", SEED);
    assert_int_equal(s->vcpus, 1);
    assert_int_equal(s->memory_mib, 128);
    assert_string_equal(s->arch, "x86_64");
    assert_string_equal(s->machine, "pc");
    assert_int_equal(s->nboot, 1);
    assert_string_equal(s->boot[0], "hd");
    assert_string_equal(s->graphics, "none");
    assert_string_equal(s->on_poweroff, "destroy");
    assert_string_equal(s->on_reboot, "restart");
    assert_string_equal(s->on_crash, "destroy");
    assert_int_equal(s->has_cdrom, 0);
    assert_int_equal(s->virtio_console + s->channel + s->autostart + s->boot_menu, 0);
    free(s);
    s = parse_ok("{\"name\":\"v\",\"arch\":\"aarch64\"}", SEED);
    assert_string_equal(s->machine, "virt");
    free(s);
    s = parse_ok("{\"name\":\"v\",\"cdrom\":{},\"disks\":[{\"volume\":\"p/v\",\"bus\":\"sata\"},"
                 "{\"size_mib\":1,\"pool\":\"p\"},{\"volume\":\"p/w\",\"bus\":\"scsi\"}]}",
                 SEED);
    assert_string_equal(s->cdrom_bus, "sata");
    assert_string_equal(s->cdrom, "");
    assert_string_equal(s->disks[0].target, "sda");
    assert_string_equal(s->disks[1].target, "vda");
    assert_string_equal(s->disks[1].format, "qcow2");
    assert_string_equal(s->disks[1].bus, "virtio");
    assert_string_equal(s->disks[1].cache, "default");
    assert_string_equal(s->disks[2].target, "sdb");
    free(s);
    /* direct kernel boot has no boot order */
    s = parse_ok("{\"name\":\"v\",\"kernel\":{\"kernel\":\"/k\"}}", SEED);
    assert_int_equal(s->nboot, 0);
    free(s);
    /* raw XML: other fields ignored, vCPUs and memory from the XML */
    s = parse_ok("{\"name\":\"v\",\"vcpus\":9,\"raw_xml\":\"<domain><name>v</name>"
                 "<memory unit='GiB'>2</memory><vcpu>3</vcpu></domain>\"}",
                 SEED);
    assert_int_equal(s->vcpus, 3);
    assert_int_equal(s->memory_mib, 2048);
    vg_domspec_free(s);
    free(s);
    s = parse_ok("{\"name\":\"v\",\"raw_xml\":\"<domain><name>v</name>"
                 "<memory unit='bytes'>100000001</memory></domain>\"}",
                 SEED);
    assert_int_equal(s->vcpus, 1);
    assert_int_equal(s->memory_mib, 96); /* rounded up */
    vg_domspec_free(s);
    free(s);
}

static void test_macs(void **state)
{
    (void)state;
    const char *json = "{\"name\":\"v\",\"nics\":[{\"network\":\"a\"},{\"network\":\"a\"},"
                       "{\"network\":\"a\",\"mac\":\"52:54:00:00:00:01\"}]}";
    vg_spec *a = parse_ok(json, 7), *b = parse_ok(json, 7), *c = parse_ok(json, 8);
    assert_string_equal(a->nics[0].mac, b->nics[0].mac);
    assert_string_equal(a->nics[1].mac, b->nics[1].mac);
    assert_string_not_equal(a->nics[0].mac, a->nics[1].mac);
    assert_string_not_equal(a->nics[0].mac, c->nics[0].mac);
    assert_string_equal(a->nics[2].mac, "52:54:00:00:00:01");
    free(b);
    free(c);
    for (int i = 0; i < 20; i++) { /* seed 0: kernel randomness */
        b = parse_ok(json, 0);
        assert_int_equal(strncmp(b->nics[0].mac, "52:54:00:", 9), 0);
        assert_int_equal(strlen(b->nics[0].mac), 17);
        assert_string_not_equal(b->nics[0].mac, b->nics[1].mac);
        free(b);
    }
    free(a);
    a = parse_ok("{\"name\":\"v\",\"nics\":[{\"network\":\"a\",\"mac\":\"52:54:00:AB:cd:EF\"}]}",
                 0);
    assert_string_equal(a->nics[0].mac, "52:54:00:ab:cd:ef");
    free(a);
}

static void test_disk_mib(void **state)
{
    (void)state;
    vg_spec *s = parse_ok("{\"name\":\"v\"}", SEED);
    assert_int_equal(vg_domspec_disk_mib(s), 0);
    free(s);
    /* NEW and IMAGE count what the spec states; an existing volume costs nothing new */
    s = parse_ok("{\"name\":\"v\",\"disks\":[{\"size_mib\":1000,\"pool\":\"p\"},"
                 "{\"image\":\"p/i\",\"size_mib\":300},{\"image\":\"p/j\"},"
                 "{\"volume\":\"p/v\"},{\"size_mib\":1048576,\"pool\":\"p\",\"format\":\"raw\"}]}",
                 SEED);
    assert_int_equal(vg_domspec_disk_mib(s), 1000 + 300 + 1048576);
    free(s);
}

static void test_host_refusals(void **state)
{
    (void)state;
    vg_spec *s = parse_ok("{\"name\":\"v\",\"disks\":[{\"volume\":\"p/v\"}],\"cdrom\":{}}", SEED);
    vg_domspec_host h = {.console_dir = "/c", .disk_path = {"/p/v"}, .disk_format = {"raw"}};
    vg_err err = {0};
    char *xml = vg_domspec_xml(s, &h, &err);
    assert_non_null(xml);
    /* empty tray: a drive without <source> */
    assert_non_null(strstr(xml, "<disk type='file' device='cdrom'>\n"
                                "      <driver name='qemu' type='raw'/>\n"
                                "      <target dev='sda' bus='sata'/>\n"));
    free(xml);
    const struct {
        vg_domspec_host host;
        vg_err_code code;
        const char *msg;
    } cases[] = {
        {{.console_dir = NULL, .disk_path = {"/p/v"}, .disk_format = {"raw"}},
         VG_E_INTERNAL,
         "console directory"},
        {{.console_dir = "rel", .disk_path = {"/p/v"}, .disk_format = {"raw"}},
         VG_E_INTERNAL,
         "console directory"},
        {{.console_dir = "/c", .disk_path = {NULL}, .disk_format = {"raw"}},
         VG_E_INTERNAL,
         "disk 0 has no absolute file path"},
        {{.console_dir = "/c", .disk_path = {"/p/\nv"}, .disk_format = {"raw"}},
         VG_E_INTERNAL,
         "disk 0 has no absolute file path"},
        /* an existing volume's format only hostd knows */
        {{.console_dir = "/c", .disk_path = {"/p/v"}}, VG_E_INTERNAL, "disk 0 has no valid"},
        {{.console_dir = "/c", .disk_path = {"/p/v"}, .disk_format = {"q'cow"}},
         VG_E_INTERNAL,
         "disk 0 has no valid"},
        {{.console_dir = "/c", .disk_path = {"/p/v"}, .disk_format = {"raw"}, .uuid = "x"},
         VG_E_INTERNAL,
         "uuid x is not a UUID"},
        {{.console_dir = "/c", .disk_path = {"/p/v"}, .disk_format = {"raw"}, .cdrom_path = "i"},
         VG_E_INTERNAL,
         "CD-ROM medium"},
        {{.console_dir = "/a/very/long/console/directory/that/leaves/no/room/for/the/name/"
                         "of/the/socket/at/all/not/even/a/short/one",
          .disk_path = {"/p/v"},
          .disk_format = {"raw"}},
         VG_E_BAD_REQUEST,
         "more than 107"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err = (vg_err){0};
        assert_null(vg_domspec_xml(s, &cases[i].host, &err));
        if (err.code != cases[i].code || !strstr(err.msg, cases[i].msg))
            fail_msg("host case %zu: got %s: %s", i, vg_err_code_name(err.code), err.msg);
    }
    free(s);
}

#define RAW_UUID_FMT                                                                               \
    "{\"name\":\"v\",\"raw_xml\":\"<domain><name>v</name>%s<memory>131072</memory></domain>\"}"

static void test_raw_uuid(void **state)
{
    (void)state;
    char json[256];
    const char *vm_uuid = "0b5e6ac4-2d1f-4e8a-9c3b-7f6e5d4c3b2a";
    vg_domspec_host h = {.console_dir = "/c", .uuid = vm_uuid};
    vg_err err = {0};
    /* the same uuid (any case): unchanged */
    snprintf(json, sizeof(json), RAW_UUID_FMT, "<uuid>0B5E6AC4-2D1F-4E8A-9C3B-7F6E5D4C3B2A</uuid>");
    vg_spec *s = parse_ok(json, SEED);
    char *xml = vg_domspec_xml(s, &h, &err);
    assert_non_null(xml);
    assert_string_equal(xml, s->raw_xml);
    free(xml);
    vg_domspec_free(s);
    free(s);
    /* another uuid: refused, it would be another domain */
    snprintf(json, sizeof(json), RAW_UUID_FMT, "<uuid>11111111-2222-3333-4444-555555555555</uuid>");
    s = parse_ok(json, SEED);
    assert_null(vg_domspec_xml(s, &h, &err));
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "spec.raw_xml: <uuid> must be 0b5e6ac4"));
    /* without a uuid for the host (first definition): as written */
    h.uuid = NULL;
    xml = vg_domspec_xml(s, &h, &err);
    assert_string_equal(xml, s->raw_xml);
    free(xml);
    h.uuid = "nonsense";
    assert_null(vg_domspec_xml(s, &h, &err));
    assert_int_equal(err.code, VG_E_INTERNAL);
    vg_domspec_free(s);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refusals),      cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_macs),          cmocka_unit_test(test_disk_mib),
        cmocka_unit_test(test_host_refusals), cmocka_unit_test(test_raw_uuid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
