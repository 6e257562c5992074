/* Domain, snapshot, volume and pool XML as libvirt hands it to hostd's vmops (vmxml.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libvirt/vmxml.h"

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
    if (hd_vmxml_disks(xml, disks, 4, &n, &err) == VG_OK && n > 4)
        abort();
    char dev[16], bus[16], fmt[16], path[64];
    hd_vmxml_cdrom(xml, dev, sizeof(dev), bus, sizeof(bus), &err);
    hd_vmxml_volume_format(xml, fmt, sizeof(fmt), &err);
    hd_vmxml_pool_path(xml, path, sizeof(path), &err);
    hd_vmxml_volume_backing(xml, path, sizeof(path), &err);
    vmxml_snapshot snap;
    hd_vmxml_snapshot_parse(xml, &snap, &err);
    free(hd_vmxml_rewrite_dir(xml, "/run/a", "/run/bb", &err));
    free(xml);
    return 0;
}
