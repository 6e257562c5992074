/* The XML documents vmops.c reads and writes besides the domain definition itself (which
 * common/vg_domspec generates): volumes, snapshots, the CD-ROM device, the disks a domain
 * uses, and the migration rewrite of console paths. Pure: libxml2 only, no libvirt, no I/O. */
#ifndef VMXML_H
#define VMXML_H

#include "vg.h"
#include "vg_jfield.h"

#define VMXML_MAX_DISKS 32
#define VMXML_PATH_MAX 1024

typedef struct vmxml_disk {
    char file[VMXML_PATH_MAX]; /* <source file=...> or <source dev=...>, else empty */
    char pool[65];             /* <source pool=... volume=...>, else empty */
    char volume[129];
} vmxml_disk;

typedef struct vmxml_snapshot {
    char state[32];      /* running, paused, shutoff, disk-snapshot ... */
    long long created_s; /* <creationTime> */
    int external;        /* memory or any disk snapshotted externally */
} vmxml_snapshot;

/* The domain's disks (device='disk', not CD-ROMs or floppies), in document order. */
int hd_vmxml_disks(const char *xml, vmxml_disk *out, size_t cap, size_t *n, vg_err *err);
/* The same with every medium: CD-ROMs and floppies too (what a volume's "in use" means). */
int hd_vmxml_media(const char *xml, vmxml_disk *out, size_t cap, size_t *n, vg_err *err);
/* The first CD-ROM drive's target dev and bus; not_found when the domain has none. */
int hd_vmxml_cdrom(const char *xml, char *dev, size_t devcap, char *bus, size_t buscap,
                   vg_err *err);
/* The <disk device='cdrom'> document for a media change; path NULL = empty tray. */
char *hd_vmxml_cdrom_device(const char *dev, const char *bus, const char *path, vg_err *err);
/* Every path= and file= attribute naming a file directly in from_dir is moved to to_dir under
 * the same file name (console sockets and their logs, for migration). Caller frees. */
char *hd_vmxml_rewrite_dir(const char *xml, const char *from_dir, const char *to_dir, vg_err *err);
/* A volume's <target><format type=...>; "raw" when the document names none. */
int hd_vmxml_volume_format(const char *xml, char *fmt, size_t cap, vg_err *err);
/* A volume's <backingStore><path>; empty when it has none. */
int hd_vmxml_volume_backing(const char *xml, char *path, size_t cap, vg_err *err);
/* A storage pool's <target><path>; empty when it has none (iSCSI, RBD). */
int hd_vmxml_pool_path(const char *xml, char *path, size_t cap, vg_err *err);
/* A new volume; backing_path non-NULL makes it a qcow2 overlay on that file. Caller frees. */
char *hd_vmxml_volume(const char *name, long long size_mib, const char *format,
                      const char *backing_path, const char *backing_format, vg_err *err);
/* <domainsnapshot> with a name and an optional description. Caller frees. */
char *hd_vmxml_snapshot_doc(const char *name, const char *description, vg_err *err);
int hd_vmxml_snapshot_parse(const char *xml, vmxml_snapshot *out, vg_err *err);

/* The subnets of a libvirt <network>: each <ip address prefix|netmask>. */
typedef struct vmxml_subnet {
    vg_ip addr;
    int prefix;
} vmxml_subnet;
int hd_vmxml_net_subnets(const char *xml, vmxml_subnet *out, size_t cap, size_t *n, vg_err *err);

#endif
