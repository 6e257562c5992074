/* Long libvirt operations (migrate, managed save, snapshots) in a forked child, so hostd's loop
 * keeps serving consoles while they run (contract §3). The child opens its own libvirt
 * connection (a connection must not be shared across fork), runs the operation synchronously,
 * writes one JSON answer to a pipe and exits; the parent reads the pipe with an ev_io and reaps
 * the child with an ev_child, and calls done once both have happened. */
#ifndef WORKER_H
#define WORKER_H

#include "vg.h"

#include <cjson/cJSON.h>
#include <ev.h>
#include <libvirt/libvirt.h>

/* Runs in the child. Sets *result (an object) on success; fills err otherwise. */
typedef int worker_fn(virConnectPtr conn, const cJSON *params, cJSON **result, vg_err *err);
/* Runs in the parent: exactly one of result (owned by the callee) and err is non-NULL. */
typedef void worker_done(void *priv, cJSON *result, const vg_err *err);

/* The loop must be the default loop (ev_child). */
void hd_worker_init(struct ev_loop *loop, const char *uri);
/* Forks; done runs later from the loop. On VG_ERR nothing was started and done never runs. */
int hd_worker_start(worker_fn *fn, const cJSON *params, worker_done *done, void *priv, vg_err *err);
/* Number of children still running. */
int hd_worker_count(void);

#endif
