/* The data path of a metrics round (issue 13, docs/monitoring.md), apart from the timer, the
 * worker and the Redis connection of collect.c so a benchmark (tools/bench/metrics_round.c) runs
 * the very same code on synthetic domains: a domain's libvirt stats record as the worker turns it
 * into JSON, then on hostd's loop the worker's answer, the host's /proc counters and the previous
 * round made into the payloads of redis-scripts/hostd_metrics_write.lua. */
#ifndef ROUND_H
#define ROUND_H

#include "metrics/mstats.h"
#include "vg.h"

#include <cjson/cJSON.h>
#include <libvirt/libvirt.h>
#include <stdint.h>

/* A round is written in scripts of at most HD_MROUND_CHUNK VMs: Redis runs one script at a
 * time, so one script for 1,000 VMs held every other client (heartbeats, logins, attaches) for
 * ~0.4 s (docs/performance.md "Metrics"). */
#define HD_MROUND_CHUNK 100

/* In the worker: {"name", "p": {field: value}} of the fields of params the round uses. */
cJSON *hd_mround_domain(const char *name, const virTypedParameter *params, int nparams);

typedef struct hd_mround {
    mstats_round prev;
    mstats_host prev_host;
    int64_t prev_ms; /* monotonic ms of prev, 0 before the first round */
    cJSON *pools;    /* the active pools of the last round that reported them, or NULL */
} hd_mround;

/* On the loop: answer is the worker's {"domains": [...], "pools"?: [...]}, now_ms the monotonic
 * time, t the round's time (seconds since the epoch), host_id this host. On VG_OK *out holds *n
 * payloads, the first with the host and its pools, the last with "last" (the caller frees each
 * and the array); st moves to this round. A malformed answer is VG_ERR and changes nothing. */
int hd_mround_next(hd_mround *st, cJSON *answer, int64_t now_ms, int64_t t, const char *host_id,
                   char ***out, int *n, vg_err *err);
void hd_mround_free(hd_mround *st);

#endif
