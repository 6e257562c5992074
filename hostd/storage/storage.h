/* Storage on this host through libvirt (docs/protocol.md §4 "Storage", M8): pools defined from a
 * checked spec (poolxml.h), their volumes, and the secrets iSCSI CHAP needs. The methods are in
 * hostd/libvirt/vmops_table.c with the VM methods; volume streams are in stream.h. A volume a
 * running VM uses is not deleted, resized or uploaded to (`conflict`). */
#ifndef HD_STORAGE_H
#define HD_STORAGE_H

#include "link/rpc.h"

#include <libvirt/libvirt.h>

/* roots: comma-separated directories a pool's own directory (dir, fs, netfs) must lie below.
 * The string must outlive hostd. */
void hd_storage_configure(const char *roots);

rpc_method_fn hd_storage_pool_list, hd_storage_pool_define, hd_storage_pool_undefine,
    hd_storage_pool_start, hd_storage_pool_stop, hd_storage_pool_refresh, hd_storage_pool_autostart,
    hd_storage_vol_list, hd_storage_vol_get, hd_storage_vol_create, hd_storage_vol_resize,
    hd_storage_vol_clone, hd_storage_vol_delete, hd_storage_vol_check_idle, hd_storage_vol_prepare,
    hd_storage_secret_define, hd_storage_secret_undefine;

/* The pool params.pool names, on *c (caller frees), or NULL with err. */
virStoragePoolPtr hd_storage_call_pool(virConnectPtr *c, const cJSON *params, vg_err *err);
/* The volume params.pool / params.volume name (caller frees), or NULL with err. */
virStorageVolPtr hd_storage_call_volume(virConnectPtr c, const cJSON *params, vg_err *err);
/* VG_ERR with `conflict` naming the VM when a running domain uses the volume at path. */
int hd_storage_vol_idle(virConnectPtr c, const char *pool, const char *vol, const char *path,
                        vg_err *err);
/* {name, path, format, capacity, allocation, backing?} of a volume; NULL when out of memory. */
cJSON *hd_storage_vol_json(virStorageVolPtr v);

#endif
