/* A storage pool as the API describes it (docs/api.md "Storage pools"): its type, target and
 * source, checked once so that the gateway refuses bad input before any host is asked and hostd
 * renders only checked values into libvirt's pool XML (hostd/storage/poolxml.c). Pure. */
#ifndef VG_POOLSPEC_H
#define VG_POOLSPEC_H

#include "vg.h"

#include <cjson/cJSON.h>

#define VG_POOL_PATH_MAX 512
#define VG_POOL_DEVICES_MAX 8
#define VG_POOL_IQN_MAX 224

typedef enum vg_pool_type {
    VG_POOL_DIR,
    VG_POOL_FS,
    VG_POOL_NETFS,
    VG_POOL_LOGICAL,
    VG_POOL_ISCSI,
    VG_POOL_ISCSI_DIRECT,
    VG_POOL_DISK,
} vg_pool_type;

typedef struct vg_poolspec {
    char name[65];
    vg_pool_type type;
    char target[VG_POOL_PATH_MAX]; /* "" where libvirt chooses (iscsi-direct) */
    char devices[VG_POOL_DEVICES_MAX][VG_POOL_PATH_MAX];
    size_t ndevices;
    char host[254];
    int port; /* 0: the protocol's default */
    char dir[VG_POOL_PATH_MAX];
    char vgname[65];
    char format[16];
    char iqn[VG_POOL_IQN_MAX];
    char initiator[VG_POOL_IQN_MAX];
    char auth_user[65];
    char auth_secret[65]; /* a secret's name (secret.set) */
} vg_poolspec;

/* "dir", "fs", ... as libvirt names the type; NULL for a value out of range. */
const char *vg_pool_type_name(vg_pool_type t);
/* name and spec ({type, target?, source?}) into out: bad_request naming the field on any
 * offence (unknown type, relative or ".." paths, a device outside /dev, a missing source). */
int vg_poolspec_parse(const char *name, const cJSON *spec, vg_poolspec *out, vg_err *err);
/* 1 when the pool has a directory of its own on the host (dir, fs, netfs): its target must
 * then lie below an allowed root. */
int vg_poolspec_local_target(const vg_poolspec *s);
/* 1 when path is below (not equal to) one of roots, a comma-separated list of absolute
 * directories. path must have passed vg_poolspec_parse (no "." or ".." components). */
int vg_poolspec_under_roots(const char *path, const char *roots);

#endif
