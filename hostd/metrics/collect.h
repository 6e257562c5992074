/* Metrics collection (issue 13, docs/monitoring.md): every metrics_interval (vg:settings,
 * default 10 s) one virConnectGetAllDomainStats call in a forked worker (worker.h, so a slow
 * libvirt never stalls the consoles on hostd's loop), the host's counters from /proc, rates
 * against the previous round (round.h, mstats.h), and calls of
 * redis-scripts/hostd_metrics_write.lua of at most HD_MROUND_CHUNK VMs each. The script answers
 * the interval in force, which the timer follows. */
#ifndef COLLECT_H
#define COLLECT_H

#include "vg.h"

#include <cjson/cJSON.h>
#include <ev.h>

typedef struct metrics_config {
    const char *host_id;
    const char *redis_host;
    int redis_port;
    const char *redis_sentinels, *redis_master_name; /* vg_redis_config */
    const char *password;                            /* NULL: no AUTH */
    const char *scripts_dir;
} metrics_config;

/* The struct must outlive hd_metrics_stop. */
int hd_metrics_start(struct ev_loop *loop, const metrics_config *cfg, vg_err *err);
void hd_metrics_stop(void);
/* The active pools of the last round, [{name, capacity, allocation, available}] in bytes (NULL
 * before the first round); valid until the next round. */
const cJSON *hd_metrics_pools(void);

#endif
