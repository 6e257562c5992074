/* What the vmops_*.c files share: the configuration, libvirt error mapping, lookups of the
 * call's domain and volumes, and handing a call to a forked worker. Nothing else includes
 * this header. */
#ifndef VMOPS_INT_H
#define VMOPS_INT_H

#include "libvirt/vmops.h"
#include "libvirt/worker.h"

#include <libvirt/libvirt.h>

const vmops_config *hd_vmops_cfg(void);

/* libvirt's last error as ours (returns VG_ERR): libvirt's message, our code for its kind. */
int hd_vmops_lv_fail(vg_err *err);
/* hostd's libvirt connection, or NULL with `unavailable` while it reconnects. */
virConnectPtr hd_vmops_conn(vg_err *err);
/* not_found for a name outside vm_filter. */
int hd_vmops_managed(const char *name, vg_err *err);
virDomainPtr hd_vmops_domain(virConnectPtr c, const char *name, vg_err *err);
/* The domain params.vm names (bad_request, unavailable or not_found otherwise). */
virDomainPtr hd_vmops_call_domain(const cJSON *params, vg_err *err);
const char *hd_vmops_dom_state(virDomainPtr d);
/* {"state": ...} */
cJSON *hd_vmops_state_result(virDomainPtr d);
virStorageVolPtr hd_vmops_volume(virConnectPtr c, const char *pool, const char *vol, vg_err *err);
/* "pool/volume" as vm.cdrom and specs name a medium. */
virStorageVolPtr hd_vmops_media_volume(virConnectPtr c, const char *media, vg_err *err);
int hd_vmops_vol_format(virStorageVolPtr v, char *fmt, size_t cap, vg_err *err);
/* Runs fn in a worker once params.vm is known to exist; the worker's answer ends the call. */
void hd_vmops_run_worker(rpc_call *call, const cJSON *params, worker_fn *fn);
void hd_vmops_worker_answer(void *priv, cJSON *result, const vg_err *err);
/* In a worker: the domain params.vm names, on the worker's own connection. */
virDomainPtr hd_vmops_child_domain(virConnectPtr c, const cJSON *params, vg_err *err);

#endif
