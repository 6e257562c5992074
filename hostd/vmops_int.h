/* What the vmops_*.c files share: the configuration, libvirt error mapping, lookups of the
 * call's domain and volumes, and handing a call to a forked worker. Nothing else includes
 * this header. */
#ifndef VMOPS_INT_H
#define VMOPS_INT_H

#include "vmops.h"
#include "worker.h"

#include <libvirt/libvirt.h>

const vmops_config *vmops_cfg(void);

/* libvirt's last error as ours (returns VG_ERR): libvirt's message, our code for its kind. */
int vmops_lv_fail(vg_err *err);
/* hostd's libvirt connection, or NULL with `unavailable` while it reconnects. */
virConnectPtr vmops_conn(vg_err *err);
/* not_found for a name outside vm_filter. */
int vmops_managed(const char *name, vg_err *err);
virDomainPtr vmops_domain(virConnectPtr c, const char *name, vg_err *err);
/* The domain params.vm names (bad_request, unavailable or not_found otherwise). */
virDomainPtr vmops_call_domain(const cJSON *params, vg_err *err);
const char *vmops_dom_state(virDomainPtr d);
/* {"state": ...} */
cJSON *vmops_state_result(virDomainPtr d);
virStorageVolPtr vmops_volume(virConnectPtr c, const char *pool, const char *vol, vg_err *err);
/* "pool/volume" as vm.cdrom and specs name a medium. */
virStorageVolPtr vmops_media_volume(virConnectPtr c, const char *media, vg_err *err);
int vmops_vol_format(virStorageVolPtr v, char *fmt, size_t cap, vg_err *err);
/* Runs fn in a worker once params.vm is known to exist; the worker's answer ends the call. */
void vmops_run_worker(rpc_call *call, const cJSON *params, worker_fn *fn);
void vmops_worker_answer(void *priv, cJSON *result, const vg_err *err);
/* In a worker: the domain params.vm names, on the worker's own connection. */
virDomainPtr vmops_child_domain(virConnectPtr c, const cJSON *params, vg_err *err);

#endif
