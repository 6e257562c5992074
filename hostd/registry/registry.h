/* This host's part of the Redis registry (C1, M1): host record and alive key, VM -> host and
 * VM -> socket maps, and events on vg:events. Every heartbeat, and soon after every local
 * change, the whole part is re-asserted atomically by redis-scripts/hostd_sync.lua, so a
 * Redis restart or flush is repaired within one heartbeat. Connection loss is retried. */
#ifndef REGISTRY_H
#define REGISTRY_H

#include "vg.h"

#include <cjson/cJSON.h>
#include <ev.h>

typedef struct registry_config {
    const char *host_id;
    const char *redis_host;
    int redis_port;
    const char *redis_sentinels, *redis_master_name; /* vg_redis_config */
    const char *password;                            /* NULL: no AUTH */
    const char *scripts_dir;
    const char *link_url;
    const char *mgmt_addr;
    long heartbeat_ms;
    /* Adds this host's capacity and load to the host record on every sync. */
    void (*host_fields)(cJSON *host);
} registry_config;

int hd_registry_start(struct ev_loop *loop, const registry_config *cfg, vg_err *err);
/* Schedules a sync within a few milliseconds. */
void hd_registry_changed(void);
/* Publishes {"type":type,"vm":vm,"dev":dev,"host":id,"ts":now} on vg:events. */
void hd_registry_event(const char *type, const char *vm, const char *key, const char *value);
void hd_registry_stop(void);

#endif
