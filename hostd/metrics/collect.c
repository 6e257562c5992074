#include "metrics/collect.h"

#include "metrics/hdstats.h"
#include "metrics/round.h"
#include "vg_log.h"
#include "vg_redis.h"
#include "vg_util.h"
#include "libvirt/worker.h"

#include <libvirt/virterror.h>
#include <stdlib.h>
#include <time.h>

#define METRICS_FIRST_S 1.0  /* the first round, soon after start */
#define METRICS_DEFAULT_S 10 /* until the write script says otherwise */

static struct ev_loop *loop;
static const metrics_config *cfg;
static vg_redis *redis;
static vg_rscript *write_script;
static ev_timer tick;
static int busy; /* a worker or a write is in flight: a slow round is skipped, never stacked */
static long interval_s = METRICS_DEFAULT_S;
static hd_mround state;    /* the previous round */
static double round_t0;    /* monotonic seconds when the round in flight began */
static int writes_pending; /* scripts of the round in flight not answered yet */
static int write_failed;   /* one of them failed */

/* ---- in the worker: the one libvirt call of the round ---- */

/* Every active pool's size and use. A pool's figures are those of its last refresh, so it is
 * refreshed first; a refresh refused (a volume transfer runs) leaves the previous figures. */
static cJSON *collect_pools(virConnectPtr conn)
{
    virStoragePoolPtr *pools = NULL;
    int n = virConnectListAllStoragePools(conn, &pools, VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE);
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        virStoragePoolInfo info;
        virStoragePoolRefresh(pools[i], 0);
        const char *name = virStoragePoolGetName(pools[i]);
        if (arr && name && vg_valid_name(name) && virStoragePoolGetInfo(pools[i], &info) == 0 &&
            info.capacity > 0) {
            cJSON *p = cJSON_CreateObject();
            cJSON_AddStringToObject(p, "name", name);
            cJSON_AddNumberToObject(p, "capacity", (double)info.capacity);
            cJSON_AddNumberToObject(p, "allocation", (double)info.allocation);
            cJSON_AddNumberToObject(p, "available", (double)info.available);
            cJSON_AddItemToArray(arr, p);
        }
        virStoragePoolFree(pools[i]);
    }
    free(pools);
    return arr;
}

static int collect_domains(virConnectPtr conn, const cJSON *params, cJSON **result, vg_err *err)
{
    (void)params;
    virDomainStatsRecordPtr *recs = NULL;
    /* NOWAIT: a domain busy with a job (a suspend, a migration) is reported without the stats
     * that would wait for it, rather than delaying that job's next step. */
    int n = virConnectGetAllDomainStats(conn, 0, &recs, VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT);
    if (n < 0)
        return vg_fail(err, VG_E_UNAVAILABLE, "virConnectGetAllDomainStats: %s",
                       virGetLastErrorMessage());
    cJSON *res = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(res, "domains");
    for (int i = 0; arr && i < n; i++)
        cJSON_AddItemToArray(arr, hd_mround_domain(virDomainGetName(recs[i]->dom), recs[i]->params,
                                                   recs[i]->nparams));
    virDomainStatsRecordListFree(recs);
    cJSON *pools = collect_pools(conn);
    if (pools)
        cJSON_AddItemToObject(res, "pools", pools);
    *result = res;
    return VG_OK;
}

/* ---- on the loop ---- */

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_written(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    (void)priv;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        if (reply && !write_failed)
            vg_warn("metrics", "write failed: %s", reply->str);
        write_failed = 1;
    }
    if (--writes_pending > 0)
        return;
    busy = 0;
    if (write_failed) {
        hd_stat.rounds_failed++;
        return;
    }
    double took = mono_s() - round_t0;
    hd_stat.rounds++;
    hd_stat.round_seconds_sum += took;
    for (int b = 0; b < HD_ROUND_BOUNDS; b++)
        hd_stat.round_le[b] += took <= hd_round_bounds[b];
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 &&
        reply->element[0]->type == REDIS_REPLY_INTEGER && reply->element[0]->integer > 0 &&
        reply->element[0]->integer != interval_s) {
        interval_s = (long)reply->element[0]->integer;
        vg_info("metrics", "interval now %ld s", interval_s);
        ev_timer_stop(loop, &tick);
        ev_timer_set(&tick, (double)interval_s, (double)interval_s);
        ev_timer_start(loop, &tick);
    }
}

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Sends the round's payloads to Redis; VG_ERR when none could be sent. */
static int write_round(char **payloads, int n)
{
    writes_pending = 0;
    write_failed = 0;
    for (int i = 0; i < n; i++) {
        const char *argv[] = {cfg->host_id, payloads[i]};
        if (vg_redis_eval(redis, write_script, on_written, NULL, 0, 2, argv, NULL) == VG_OK)
            writes_pending++;
        else if (writes_pending)
            write_failed = 1; /* the ones sent still answer; the round counts as failed */
    }
    return writes_pending ? VG_OK : VG_ERR;
}

static void on_stats(void *priv, cJSON *result, const vg_err *werr)
{
    (void)priv;
    if (!loop) /* stopped meanwhile */
        goto out;
    double c0 = cpu_ms();
    vg_err err;
    char **payloads = NULL;
    int n = 0;
    if (werr || hd_mround_next(&state, result, vg_mono_ms(), vg_now_ms() / 1000, cfg->host_id,
                               &payloads, &n, &err) != VG_OK) {
        vg_warn("metrics", "round skipped: %s", werr ? werr->msg : err.msg);
        hd_stat.rounds_failed++;
        busy = 0;
        goto out;
    }
    if (write_round(payloads, n) != VG_OK) {
        hd_stat.rounds_failed++;
        busy = 0;
    }
    for (int i = 0; i < n; i++)
        free(payloads[i]);
    free(payloads);
    double spent = cpu_ms() - c0;
    hd_stat.round_cpu_seconds += spent / 1e3;
    vg_debug("metrics", "round of %zu domains: %.2f ms CPU in hostd", state.prev.n, spent);
out:
    cJSON_Delete(result);
}

static void on_tick(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
    if (busy || !vg_redis_up(redis))
        return;
    vg_err err;
    round_t0 = mono_s();
    if (hd_worker_start(collect_domains, NULL, on_stats, NULL, &err) != VG_OK) {
        vg_warn("metrics", "round skipped: %s", err.msg);
        hd_stat.rounds_failed++;
        return;
    }
    busy = 1;
}

int hd_metrics_start(struct ev_loop *l, const metrics_config *c, vg_err *err)
{
    write_script = vg_rscript_open(c->scripts_dir, "hostd_metrics_write.lua", err);
    if (!write_script)
        return VG_ERR;
    vg_redis_config rcfg = {
        .name = "metrics",
        .host = c->redis_host,
        .port = c->redis_port,
        .sentinels = c->redis_sentinels,
        .master_name = c->redis_master_name,
        .password = c->password,
        .scripts = &write_script,
        .nscripts = 1,
    };
    loop = l;
    cfg = c;
    redis = vg_redis_new(loop, &rcfg, err);
    if (!redis) {
        vg_rscript_free(write_script);
        write_script = NULL;
        loop = NULL;
        return VG_ERR;
    }
    ev_timer_init(&tick, on_tick, METRICS_FIRST_S, (double)interval_s);
    ev_timer_start(loop, &tick);
    return VG_OK;
}

void hd_metrics_stop(void)
{
    if (!loop)
        return;
    ev_timer_stop(loop, &tick);
    loop = NULL;
    vg_redis_free(redis);
    redis = NULL;
    vg_rscript_free(write_script);
    write_script = NULL;
    hd_mround_free(&state);
}

const cJSON *hd_metrics_pools(void)
{
    return state.pools;
}
