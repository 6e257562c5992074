/* Domain XML from a parsed spec and what hostd resolved (disk files, console directory). The
 * shape of the serial console is the one tools/up.sh gives the demo VMs, which hostd's
 * domxml_parse recognises: a unix socket with a durable log, mirrored by a <console>. */
#include "vg_domspec_int.h"
#include "vg_util.h"
#include "vg_xbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUN_PATH_MAX 107 /* sun_path of struct sockaddr_un, without its NUL */

/* Host-supplied files: absolute and free of control characters (XML cannot carry those). */
static int file_ok(const char *s)
{
    if (!s || s[0] != '/' || strlen(s) >= VG_SPEC_PATH_MAX)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

static int format_ok(const char *f)
{
    size_t n = strlen(f);
    return n >= 1 && n < 16 && strspn(f, "abcdefghijklmnopqrstuvwxyz0123456789") == n;
}

/* The format each disk's file really has: what hostd says, else what the spec implies. */
static const char *disk_format(const vg_spec *s, const vg_domspec_host *h, size_t i)
{
    if (h->disk_format[i])
        return format_ok(h->disk_format[i]) ? h->disk_format[i] : NULL;
    return s->disks[i].kind == VG_DISK_VOLUME ? NULL : s->disks[i].format;
}

static int check_host(const vg_spec *s, const vg_domspec_host *h, vg_err *err)
{
    if (!file_ok(h->console_dir))
        return vg_fail(err, VG_E_INTERNAL, "console directory must be an absolute path");
    /* "<dir>/com-<name>.sock"; hvc- and chn- have the same length. */
    size_t sock = strlen(h->console_dir) + strlen("/com-.sock") + strlen(s->name);
    if (sock > SUN_PATH_MAX)
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "spec.name is too long for this host: its console socket path would be "
                       "%zu bytes, more than %d",
                       sock, SUN_PATH_MAX);
    if (h->uuid && !vg_uuid_ok(h->uuid))
        return vg_fail(err, VG_E_INTERNAL, "uuid %.40s is not a UUID", h->uuid);
    for (size_t i = 0; i < s->ndisks; i++) {
        if (!file_ok(h->disk_path[i]))
            return vg_fail(err, VG_E_INTERNAL, "disk %zu has no absolute file path", i);
        if (!disk_format(s, h, i))
            return vg_fail(err, VG_E_INTERNAL, "disk %zu has no valid format", i);
    }
    if (h->cdrom_path && !file_ok(h->cdrom_path))
        return vg_fail(err, VG_E_INTERNAL, "CD-ROM medium must be an absolute path");
    return VG_OK;
}

static int is_x86(const vg_spec *s)
{
    return strcmp(s->arch, "aarch64") != 0;
}

static void os_xml(vg_xbuf *b, const vg_spec *s)
{
    vg_xbuf_putf(b, "  <os>\n    <type arch='%s' machine='%s'>hvm</type>\n", s->arch, s->machine);
    if (s->kernel[0]) {
        vg_xbuf_elem(b, "    ", "kernel", s->kernel);
        if (s->initrd[0])
            vg_xbuf_elem(b, "    ", "initrd", s->initrd);
        if (s->cmdline[0])
            vg_xbuf_elem(b, "    ", "cmdline", s->cmdline);
    }
    for (size_t i = 0; i < s->nboot; i++)
        vg_xbuf_putf(b, "    <boot dev='%s'/>\n", s->boot[i]);
    if (s->boot_menu)
        vg_xbuf_putf(b, "    <bootmenu enable='yes'/>\n");
    vg_xbuf_putf(b, "  </os>\n");
}

static void disks_xml(vg_xbuf *b, const vg_spec *s, const vg_domspec_host *h)
{
    for (size_t i = 0; i < s->ndisks; i++) {
        const vg_spec_disk *d = &s->disks[i];
        vg_xbuf_putf(b, "    <disk type='file' device='disk'>\n      <driver name='qemu' type='%s'",
                     disk_format(s, h, i));
        /* "default" leaves the choice to QEMU, as libvirt does when the attribute is absent. */
        if (strcmp(d->cache, "default") != 0)
            vg_xbuf_putf(b, " cache='%s'", d->cache);
        vg_xbuf_putf(b, "/>\n");
        vg_xbuf_attr(b, "      <source file='", h->disk_path[i], "'/>\n");
        vg_xbuf_putf(b, "      <target dev='%s' bus='%s'/>\n    </disk>\n", d->target, d->bus);
    }
    if (!s->has_cdrom)
        return;
    /* The CD-ROM follows the disks on its bus: sata shares sd* with scsi, ide has hd*. */
    int ide = strcmp(s->cdrom_bus, "ide") == 0, n = 0;
    for (size_t i = 0; i < s->ndisks; i++)
        if (ide ? strcmp(s->disks[i].bus, "ide") == 0
                : strcmp(s->disks[i].bus, "sata") == 0 || strcmp(s->disks[i].bus, "scsi") == 0)
            n++;
    vg_xbuf_putf(b,
                 "    <disk type='file' device='cdrom'>\n      <driver name='qemu' type='raw'/>\n");
    if (h->cdrom_path)
        vg_xbuf_attr(b, "      <source file='", h->cdrom_path, "'/>\n");
    vg_xbuf_putf(b, "      <target dev='%s%c' bus='%s'/>\n      <readonly/>\n    </disk>\n",
                 ide ? "hd" : "sd", 'a' + n, s->cdrom_bus);
}

/* The NIC's filter: its security groups' compiled one, or the filter it names, which learns
 * the NIC's fixed address as IP unless the parameters say otherwise. */
static void filterref_xml(vg_xbuf *b, const vg_spec_nic *n)
{
    char sg[32];
    if (n->has_secgroups) {
        vg_domspec_secgroup_filter(n->mac, sg, sizeof(sg));
        vg_xbuf_putf(b, "      <filterref filter='%s'/>\n", sg);
        return;
    }
    if (!n->filter[0])
        return;
    int has_ip = 0;
    vg_xbuf_attr(b, "      <filterref filter='", n->filter, "'");
    if (!n->nparams && !n->ip[0]) {
        vg_xbuf_putf(b, "/>\n");
        return;
    }
    vg_xbuf_putf(b, ">\n");
    for (size_t i = 0; i < n->nparams; i++) {
        has_ip |= !strcmp(n->params[i].name, "IP");
        vg_xbuf_putf(b, "        <parameter name='%s'", n->params[i].name);
        vg_xbuf_attr(b, " value='", n->params[i].value, "'/>\n");
    }
    if (n->ip[0] && !has_ip)
        vg_xbuf_putf(b, "        <parameter name='IP' value='%s'/>\n", n->ip);
    vg_xbuf_putf(b, "      </filterref>\n");
}

static void nics_xml(vg_xbuf *b, const vg_spec *s)
{
    for (size_t i = 0; i < s->nnics; i++) {
        const vg_spec_nic *n = &s->nics[i];
        vg_xbuf_putf(b, "    <interface type='network'>\n      <mac address='%s'/>\n", n->mac);
        vg_xbuf_attr(b, "      <source network='", n->network, "'/>\n");
        vg_xbuf_putf(b, "      <model type='%s'/>\n", n->model);
        filterref_xml(b, n);
        vg_xbuf_putf(b, "    </interface>\n");
    }
}

/* A unix socket "<dir>/<prefix>-<name>.<ext>" as an attribute value. */
static void sock_attr(vg_xbuf *b, const char *prefix, const char *dir, const char *kind,
                      const char *name, const char *ext, const char *suffix)
{
    vg_xbuf_put(b, prefix, strlen(prefix));
    vg_xbuf_esc(b, dir);
    vg_xbuf_putf(b, "/%s-", kind);
    vg_xbuf_esc(b, name);
    vg_xbuf_putf(b, ".%s", ext);
    vg_xbuf_put(b, suffix, strlen(suffix));
}

static void consoles_xml(vg_xbuf *b, const vg_spec *s, const char *dir)
{
    vg_xbuf_putf(b, "    <serial type='unix'>\n");
    sock_attr(b, "      <source mode='bind' path='", dir, "com", s->name, "sock", "'/>\n");
    sock_attr(b, "      <log file='", dir, "com", s->name, "log", "' append='on'/>\n");
    vg_xbuf_putf(b, "      <target port='0'/>\n    </serial>\n    <console type='unix'>\n");
    sock_attr(b, "      <source mode='bind' path='", dir, "com", s->name, "sock", "'/>\n");
    vg_xbuf_putf(b, "      <target type='serial' port='0'/>\n    </console>\n");
    if (s->virtio_console) {
        vg_xbuf_putf(b, "    <console type='unix'>\n");
        sock_attr(b, "      <source mode='bind' path='", dir, "hvc", s->name, "sock", "'/>\n");
        vg_xbuf_putf(b, "      <target type='virtio' port='1'/>\n    </console>\n");
    }
    if (s->channel) {
        vg_xbuf_putf(b, "    <channel type='unix'>\n");
        sock_attr(b, "      <source mode='bind' path='", dir, "chn", s->name, "sock", "'/>\n");
        vg_xbuf_putf(b,
                     "      <target type='virtio' name='org.qemu.guest_cloud'/>\n    </channel>\n");
    }
}

static void graphics_xml(vg_xbuf *b, const vg_spec *s)
{
    if (strcmp(s->graphics, "none") == 0)
        return;
    int spice = strcmp(s->graphics, "spice") == 0;
    vg_xbuf_putf(b, "    <graphics type='%s' autoport='yes' listen='127.0.0.1'/>\n", s->graphics);
    /* qxl is SPICE's own adapter; aarch64 boards have no VGA. */
    vg_xbuf_putf(b, "    <video>\n      <model type='%s'/>\n    </video>\n",
                 !is_x86(s) ? "virtio"
                 : spice    ? "qxl"
                            : "vga");
}

char *vg_domspec_xml(const vg_spec *s, const vg_domspec_host *h, vg_err *err)
{
    if (s->raw_xml)
        return vg_domspec_raw_xml(s, h, err);
    if (check_host(s, h, err) != VG_OK)
        return NULL;
    /* The console directory without a trailing slash, so the socket paths have one. */
    char dir[VG_SPEC_PATH_MAX];
    size_t dlen = strlen(h->console_dir);
    while (dlen > 1 && h->console_dir[dlen - 1] == '/')
        dlen--;
    memcpy(dir, h->console_dir, dlen);
    dir[dlen] = '\0';

    vg_xbuf b = {0};
    /* TCG: this platform has no usable KVM (docs/vmspec.md). */
    vg_xbuf_putf(&b, "<domain type='qemu'>\n");
    vg_xbuf_elem(&b, "  ", "name", s->name);
    if (h->uuid)
        vg_xbuf_elem(&b, "  ", "uuid", h->uuid);
    if (s->description[0])
        vg_xbuf_elem(&b, "  ", "description", s->description);
    vg_xbuf_putf(&b, "  <memory unit='MiB'>%lld</memory>\n  <vcpu>%d</vcpu>\n", s->memory_mib,
                 s->vcpus);
    os_xml(&b, s);
    /* ACPI makes shutdown and reboot work on x86; aarch64 has ACPI only with UEFI. */
    if (is_x86(s))
        vg_xbuf_putf(&b, "  <features><acpi/></features>\n");
    vg_xbuf_putf(
        &b,
        "  <on_poweroff>%s</on_poweroff>\n  <on_reboot>%s</on_reboot>\n"
        "  <on_crash>%s</on_crash>\n  <devices>\n    <controller type='usb' model='none'/>\n",
        s->on_poweroff, s->on_reboot, s->on_crash);
    for (size_t i = 0; i < s->ndisks; i++)
        if (strcmp(s->disks[i].bus, "scsi") == 0) {
            vg_xbuf_putf(&b, "    <controller type='scsi' model='virtio-scsi'/>\n");
            break;
        }
    disks_xml(&b, s, h);
    nics_xml(&b, s);
    consoles_xml(&b, s, dir);
    graphics_xml(&b, s);
    vg_xbuf_putf(&b, "    <memballoon model='none'/>\n  </devices>\n</domain>\n");
    return vg_xbuf_finish(&b, err);
}
