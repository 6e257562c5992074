/* What the storage method modules share (api_storage.c: pools; api_secret.c: secrets;
 * api_volume.c: volumes and their transfers; api_image.c: the image library; the steps below are
 * api_storage_steps.c). A storage call first learns
 * from Redis which hosts a pool lives on (gateway_pool_hosts.lua), then asks their hostds one
 * after the other (docs/protocol.md §4 "Storage"). Any step that fails ends the call. */
#ifndef GW_API_STORAGE_H
#define GW_API_STORAGE_H

#include "api/api_int.h"

#define GW_ST_RPC_MS 30000L   /* pool and volume calls */
#define GW_ST_LONG_MS 600000L /* volume.clone copies the data */

#define GW_ST_SKIP_MISSING 0x1 /* a host without the pool (not_found) is skipped */
#define GW_ST_FIRST 0x2        /* stop at the first host that answers */
#define GW_ST_TOLERANT 0x4     /* a host's refusal is recorded in results, not the end */

typedef struct gw_st gw_st;
typedef void gw_st_step(gw_st *s);

struct gw_st {
    gw_call *c;
    cJSON *info;       /* gateway_pool_hosts.lua's answer: {alive, pools} */
    const cJSON *pool; /* the registered pool's record in info, or NULL */
    cJSON *hosts;      /* the hosts the next gw_st_each asks, in order */
    size_t i;
    char method[48];
    cJSON *params;
    unsigned flags;
    long timeout_ms;
    int answered;   /* hosts that answered in the last gw_st_each */
    vg_err missing; /* the last not_found a skipped host gave */
    cJSON *results; /* [{host, result} | {host, error}] of the last gw_st_each */
    cJSON *answer;  /* the last result */
    char host[65];  /* the host that gave it */
    gw_st_step *next;
    char load_pool[65]; /* what gw_st_check loads */
    void *data;         /* per-method state, freed with data_free */
    void (*data_free)(void *data);
};

/* Starts the call's state; NULL when the call has been failed (out of memory). */
gw_st *gw_st_new(gw_call *c);
/* Reads pool ("" for all) from Redis: s->info, s->pool and s->hosts (the pool's own hosts when
 * vmgate created it, else every host that is up), then next. */
void gw_st_load(gw_st *s, const char *pool, gw_st_step *next);
/* Calls method with params (taken) on each of s->hosts in turn (flags GW_ST_*), then next. A
 * refusal ends the call unless GW_ST_TOLERANT; with GW_ST_SKIP_MISSING no host answering ends
 * it with not_found. */
void gw_st_each(gw_st *s, const char *method, cJSON *params, unsigned flags, long timeout_ms,
                gw_st_step *next);
/* Runs the Lua script (a check that answers the call's error when it refuses), then
 * gw_st_load(pool) and next. */
void gw_st_check(gw_st *s, const char *script, int argc, const char **argv, const char *pool,
                 gw_st_step *next);
/* gw_st_each on every host that is up (GW_ST_SKIP_MISSING): a VM on any of them may have a
 * volume of a shared pool open. */
void gw_st_each_alive(gw_st *s, const char *method, cJSON *params, gw_st_step *next);
/* For gw_call_json when no field of the answer is a list. */
extern const char *const gw_st_no_arrays[];
/* {"pool": pool} plus what the caller adds. */
cJSON *gw_st_params(const char *pool);
/* {"pool": pool, "volume": volume}. */
cJSON *gw_st_vol_params(const char *pool, const char *volume);
/* The parameters {pool} and {pool, volume} of the methods that take no more. */
extern const gw_field gw_st_pool_fields[];
extern const gw_field gw_st_volume_fields[];

#endif
