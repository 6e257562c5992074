/* vmgate-domxml: prints the libvirt domain XML that hostd's vm.define makes from a VM spec
 * (docs/vmspec.md), without libvirt. tools/guest-xml.sh defines the demo, bench and test guests
 * with it, so a hand-defined guest has exactly the shape of an API-defined one.
 *
 *   vmgate-domxml --console-dir DIR [--uuid UUID] [--disk FORMAT:FILE]... SPEC-JSON
 *
 * hostd resolves each disk of the spec to its volume's file and format; here the caller names
 * them, one --disk per spec disk, in spec order. */
#include "vg_domspec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 2

static const char usage[] =
    "usage: vmgate-domxml --console-dir DIR [--uuid UUID] [--disk FORMAT:FILE]... SPEC-JSON\n";

static int fail_usage(const char *what)
{
    fprintf(stderr, "vmgate-domxml: %s\n%s", what, usage);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    vg_domspec_host host = {0};
    size_t ndisks = 0;
    const char *spec_text = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (strcmp(a, "--console-dir") != 0 && strcmp(a, "--uuid") != 0 &&
            strcmp(a, "--disk") != 0) {
            if (a[0] == '-')
                return fail_usage("unknown option");
            if (spec_text)
                return fail_usage("one SPEC-JSON only");
            spec_text = a;
            continue;
        }
        if (++i == argc)
            return fail_usage("an option lacks its value");
        if (strcmp(a, "--console-dir") == 0) {
            host.console_dir = argv[i];
        } else if (strcmp(a, "--uuid") == 0) {
            host.uuid = argv[i];
        } else {
            char *colon = strchr(argv[i], ':');
            if (!colon || colon == argv[i])
                return fail_usage("--disk takes FORMAT:FILE, e.g. qcow2:/pool/vm.qcow2");
            if (ndisks == VG_SPEC_MAX_DISKS)
                return fail_usage("too many --disk");
            *colon = '\0';
            host.disk_format[ndisks] = argv[i];
            host.disk_path[ndisks++] = colon + 1;
        }
    }
    if (!host.console_dir || !spec_text)
        return fail_usage("--console-dir and SPEC-JSON are required");

    cJSON *json = cJSON_Parse(spec_text);
    if (!json) {
        fprintf(stderr, "vmgate-domxml: SPEC-JSON is not valid JSON\n");
        return 1;
    }
    vg_spec spec;
    vg_err err;
    char *xml = NULL;
    int rc = vg_domspec_parse(json, &spec, 0, &err);
    cJSON_Delete(json);
    if (rc == VG_OK && ndisks != spec.ndisks)
        rc = vg_fail(&err, VG_E_BAD_REQUEST, "the spec has %zu disks but %zu --disk were given",
                     spec.ndisks, ndisks);
    /* hostd would resolve the medium's volume; this tool knows no pools. */
    if (rc == VG_OK && spec.cdrom[0])
        rc = vg_fail(&err, VG_E_BAD_REQUEST, "spec.cdrom.media is not supported here");
    if (rc == VG_OK && !(xml = vg_domspec_xml(&spec, &host, &err)))
        rc = VG_ERR;
    vg_domspec_free(&spec);
    if (rc != VG_OK) {
        fprintf(stderr, "vmgate-domxml: %s: %s\n", vg_err_code_name(err.code), err.msg);
        return 1;
    }
    fputs(xml, stdout);
    free(xml);
    return 0;
}
