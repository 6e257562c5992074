#include "storage/poolcap.h"

#include "storage/poolxml.h"

#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Where libvirt and mount(8) find their helpers. */
static const char *const tool_dirs[] = {"/usr/sbin", "/sbin", "/usr/bin", "/bin",
                                        "/usr/local/sbin"};

static int have_tool(const char *name)
{
    char path[128];
    for (size_t i = 0; i < sizeof(tool_dirs) / sizeof(tool_dirs[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", tool_dirs[i], name);
        if (access(path, X_OK) == 0)
            return 1;
    }
    return 0;
}

/* The kernel lists fstype in /proc/filesystems (built in or loaded). */
static int kernel_has_fs(const char *fstype)
{
    FILE *f = fopen("/proc/filesystems", "r");
    char line[128];
    int found = 0;
    while (f && !found && fgets(line, sizeof(line), f)) {
        char *name = strrchr(line, '\t');
        name = name ? name + 1 : line;
        name[strcspn(name, "\n")] = '\0';
        found = !strcmp(name, fstype);
    }
    if (f)
        fclose(f);
    return found;
}

/* A network filesystem mounts when mount has a helper for it or the kernel knows it. */
static int netfs_ok(const vg_poolspec *s, vg_err *err)
{
    const char *fstype = s->format[0] && strcmp(s->format, "auto") ? s->format : "nfs";
    char helper[32];
    snprintf(helper, sizeof(helper), "mount.%s", fstype);
    if (have_tool(helper) || kernel_has_fs(fstype))
        return VG_OK;
    return vg_fail(err, VG_E_UNSUPPORTED,
                   "this host cannot mount %s (no %s, and the kernel has no %s filesystem)", fstype,
                   helper, fstype);
}

static int logical_ok(vg_err *err)
{
    if (access("/dev/mapper/control", F_OK) != 0)
        return vg_fail(err, VG_E_UNSUPPORTED,
                       "this host has no device-mapper (/dev/mapper/control) for LVM");
    if (!have_tool("pvs") || !have_tool("vgchange"))
        return vg_fail(err, VG_E_UNSUPPORTED, "this host has no LVM tools (pvs, vgchange)");
    return VG_OK;
}

static int iscsi_ok(vg_err *err)
{
    if (!have_tool("iscsiadm"))
        return vg_fail(err, VG_E_UNSUPPORTED,
                       "this host has no iSCSI initiator (iscsiadm); an iscsi-direct pool needs "
                       "none");
    return VG_OK;
}

int hd_poolcap_check(virConnectPtr c, const vg_poolspec *s, vg_err *err)
{
    const char *type = vg_pool_type_name(s->type);
    char *caps = virConnectGetStoragePoolCapabilities(c, 0);
    int supported = hd_poolxml_supported(caps, type);
    free(caps);
    virResetLastError();
    /* A libvirt without the capabilities call (older than 5.2) is left to answer itself. */
    if (supported == 0)
        return vg_fail(err, VG_E_UNSUPPORTED, "libvirt on this host has no %s storage driver",
                       type);
    switch (s->type) {
    case VG_POOL_NETFS:
        return netfs_ok(s, err);
    case VG_POOL_LOGICAL:
        return logical_ok(err);
    case VG_POOL_ISCSI:
        return iscsi_ok(err);
    default:
        return VG_OK;
    }
}
