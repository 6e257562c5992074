/* The libvirt operations behind the management RPC (contract §3, docs/protocol.md §4): VM
 * definition from a spec (M4), lifecycle (M5), snapshots (M6), migration (M7) and host.info
 * (M1). Short calls run inline on hostd's libvirt connection; long ones (managed save and
 * restore, snapshot create/revert/delete, migration) run in a forked worker (worker.h).
 * libvirt's refusals keep libvirt's own message; the code says what kind of refusal it is:
 * conflict (wrong state), not_found, bad_request or internal.
 *
 * vmops.c holds the short calls and what the others share (vmops_int.h); vmops_define.c
 * defines and undefines, vmops_wait.c answers shutdown and probe from timers, vmops_snap.c
 * runs snapshots and migration in workers, vmops_host.c reports the host, vmops_net.c runs
 * networks and network filters. */
#ifndef VMOPS_H
#define VMOPS_H

#include "link/rpc.h"

#include <cjson/cJSON.h>
#include <ev.h>

typedef struct vmops_config {
    struct ev_loop *loop;
    const char *libvirt_uri; /* what the workers connect to */
    const char *migrate_uri; /* published: what a gateway passes as dest_uri to reach us */
    const char *console_dir; /* where generated domains put their console sockets */
    const char *state_dir;   /* disk_mib falls back to its filesystem when no pool is active */
} vmops_config;

/* The struct must outlive every call. */
void hd_vmops_configure(const vmops_config *cfg);
/* Adds capacity, load, console_dir and libvirt_uri to the registry's host record. */
void hd_vmops_host_fields(cJSON *host);

rpc_method_fn hd_vmops_define, hd_vmops_undefine, hd_vmops_xml, hd_vmops_start, hd_vmops_destroy,
    hd_vmops_reboot, hd_vmops_reset, hd_vmops_suspend, hd_vmops_resume, hd_vmops_shutdown,
    hd_vmops_save, hd_vmops_restore, hd_vmops_cdrom, hd_vmops_autostart, hd_vmops_probe,
    hd_vmops_migrate, hd_vmops_snapshot_create, hd_vmops_snapshot_list, hd_vmops_snapshot_revert,
    hd_vmops_snapshot_delete, hd_vmops_host_info, hd_vmops_network_check, hd_vmops_network_define,
    hd_vmops_network_undefine, hd_vmops_network_start, hd_vmops_network_stop, hd_vmops_network_list,
    hd_vmops_network_leases, hd_vmops_network_lease, hd_vmops_filter_list, hd_vmops_filter_define,
    hd_vmops_filter_undefine, hd_vmops_sendkey;
/* Every method above by its RPC name, for hd_rpc_conn_new. */
extern const rpc_method hd_vmops_methods[];

#endif
