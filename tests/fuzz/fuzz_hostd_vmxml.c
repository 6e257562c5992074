/* Domain, snapshot, volume and pool XML as libvirt hands it to hostd's vmops (vmxml.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmxml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *xml = malloc(size + 1);
    if (!xml)
        return 0;
    memcpy(xml, data, size);
    xml[size] = '\0';
    vg_err err = {0};
    vmxml_disk disks[4];
    size_t n = 99;
    if (vmxml_disks(xml, disks, 4, &n, &err) == VG_OK && n > 4)
        abort();
    char dev[16], bus[16], fmt[16], path[64];
    vmxml_cdrom(xml, dev, sizeof(dev), bus, sizeof(bus), &err);
    vmxml_volume_format(xml, fmt, sizeof(fmt), &err);
    vmxml_pool_path(xml, path, sizeof(path), &err);
    vmxml_volume_backing(xml, path, sizeof(path), &err);
    vmxml_snapshot snap;
    vmxml_snapshot_parse(xml, &snap, &err);
    free(vmxml_rewrite_dir(xml, "/run/a", "/run/bb", &err));
    free(xml);
    return 0;
}
