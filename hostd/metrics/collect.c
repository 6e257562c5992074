#include "metrics/collect.h"

#include "metrics/hdstats.h"
#include "metrics/mstats.h"
#include "registry/hostinfo.h"
#include "vg_log.h"
#include "vg_redis.h"
#include "vg_util.h"
#include "libvirt/vms.h"
#include "libvirt/worker.h"

#include <errno.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define METRICS_FIRST_S 1.0     /* the first round, soon after start */
#define METRICS_DEFAULT_S 10    /* until the write script says otherwise */
#define METRICS_PROC_MAX 262144 /* bytes read of a /proc file */

static struct ev_loop *loop;
static const metrics_config *cfg;
static vg_redis *redis;
static vg_rscript *write_script;
static ev_timer tick;
static int busy; /* a worker or a write is in flight: a slow round is skipped, never stacked */
static long interval_s = METRICS_DEFAULT_S;
static mstats_round prev;
static mstats_host prev_host;
static int64_t prev_ms; /* monotonic time of prev, 0 before the first round */
static double round_t0; /* monotonic seconds when the round in flight began */
/* A round is written in scripts of at most WRITE_CHUNK VMs: Redis runs one script at a time, so
 * one script for 1,000 VMs held every other client (heartbeats, logins, attaches) for ~0.4 s
 * (docs/performance.md "Metrics"). */
#define WRITE_CHUNK 100
static int writes_pending; /* scripts of the round in flight not answered yet */
static int write_failed;   /* one of them failed */
static cJSON *last_pools;  /* the pools of the last round, for /metrics */

/* ---- in the worker: the one libvirt call of the round ---- */

static int wanted_field(const char *f)
{
    static const char *const prefixes[] = {"state.state", "cpu.time", "vcpu.current",
                                           "balloon.",    "block.",   "net."};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (!strncmp(f, prefixes[i], strlen(prefixes[i])))
            return 1;
    return 0;
}

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
    for (int i = 0; arr && i < n; i++) {
        cJSON *d = cJSON_CreateObject(), *p = cJSON_AddObjectToObject(d, "p");
        cJSON_AddStringToObject(d, "name", virDomainGetName(recs[i]->dom));
        for (int k = 0; p && k < recs[i]->nparams; k++) {
            const virTypedParameter *tp = &recs[i]->params[k];
            if (!wanted_field(tp->field))
                continue;
            switch (tp->type) {
            case VIR_TYPED_PARAM_INT:
                cJSON_AddNumberToObject(p, tp->field, tp->value.i);
                break;
            case VIR_TYPED_PARAM_UINT:
                cJSON_AddNumberToObject(p, tp->field, tp->value.ui);
                break;
            case VIR_TYPED_PARAM_LLONG:
                cJSON_AddNumberToObject(p, tp->field, (double)tp->value.l);
                break;
            case VIR_TYPED_PARAM_ULLONG:
                cJSON_AddNumberToObject(p, tp->field, (double)tp->value.ul);
                break;
            case VIR_TYPED_PARAM_STRING:
                cJSON_AddStringToObject(p, tp->field, tp->value.s);
                break;
            default:
                break;
            }
        }
        cJSON_AddItemToArray(arr, d);
    }
    virDomainStatsRecordListFree(recs);
    cJSON *pools = collect_pools(conn);
    if (pools)
        cJSON_AddItemToObject(res, "pools", pools);
    *result = res;
    return VG_OK;
}

/* ---- on the loop ---- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = malloc(METRICS_PROC_MAX);
    size_t n = buf ? fread(buf, 1, METRICS_PROC_MAX - 1, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

/* Whole disks have a /sys/block entry; partitions, loop and ram devices are left out. */
static int whole_disk(const char *name)
{
    char path[128];
    struct stat st;
    if (!strncmp(name, "loop", 4) || !strncmp(name, "ram", 3))
        return 0;
    snprintf(path, sizeof(path), "/sys/block/%s", name);
    return stat(path, &st) == 0;
}

static int sample_host(mstats_host *h, vg_err *err)
{
    memset(h, 0, sizeof(*h));
    char *stat = slurp("/proc/stat"), *mem = slurp("/proc/meminfo"), *load = slurp("/proc/loadavg"),
         *disk = slurp("/proc/diskstats"), *net = slurp("/proc/net/dev");
    hostinfo_cpu cpu;
    long long total = 0, avail = 0;
    unsigned long long bytes = 0;
    int rc = VG_ERR;
    if (!stat || !mem || !load || !disk || !net)
        vg_fail(err, VG_E_INTERNAL, "cannot read /proc: %s", strerror(errno));
    else if (hd_hostinfo_parse_stat(stat, &cpu, err) == VG_OK &&
             hd_hostinfo_parse_meminfo(mem, &total, &avail, err) == VG_OK &&
             hd_mstats_parse_loadavg(load, h, err) == VG_OK &&
             hd_mstats_parse_diskstats(disk, whole_disk, &h->disk_bytes, err) == VG_OK &&
             hd_hostinfo_parse_netdev(net, &bytes, err) == VG_OK) {
        h->cpu_busy = cpu.busy;
        h->cpu_total = cpu.total;
        h->mem_total_kib = (double)total;
        h->mem_avail_kib = (double)avail;
        h->net_bytes = (double)bytes;
        rc = VG_OK;
    }
    free(stat);
    free(mem);
    free(load);
    free(disk);
    free(net);
    return rc;
}

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

/* One script's payload for hostd_metrics_write.lua: the round's time, its VMs [from, to), and
 * for the first the host and its pools, for the last the flag that ends the round. */
static char *chunk_json(int64_t t, const cJSON *targets, int from, int to, cJSON *host, int last)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "t", (double)t);
    if (host) {
        cJSON_AddItemReferenceToObject(o, "host", host);
        if (last_pools)
            cJSON_AddItemReferenceToObject(o, "pools", last_pools);
    }
    cJSON *vms = cJSON_AddArrayToObject(o, "vms");
    for (int i = from; vms && i < to; i++)
        cJSON_AddItemReferenceToArray(vms, cJSON_GetArrayItem(targets, i));
    if (last)
        cJSON_AddTrueToObject(o, "last");
    char *s = vms ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

/* Sends the round to Redis in scripts of WRITE_CHUNK VMs; VG_ERR when none could be sent. */
static int write_round(const mstats_round *cur, const mstats_host *host, int have_host, double dt_s)
{
    cJSON *h = hd_mstats_host_target(host, have_host && prev_ms ? &prev_host : NULL, dt_s, cur);
    cJSON *targets = cJSON_CreateArray();
    for (size_t i = 0; targets && i < cur->n; i++) {
        const mstats_vm *v = &cur->vms[i];
        if (!hd_mstats_active(v) || !hd_vms_wanted(v->name))
            continue;
        const mstats_vm *p = prev_ms ? hd_mstats_find(&prev, v->name) : NULL;
        cJSON *t = hd_mstats_vm_target(v, p && hd_mstats_active(p) ? p : NULL, dt_s, cfg->host_id);
        if (t)
            cJSON_AddItemToArray(targets, t);
    }
    int n = targets ? cJSON_GetArraySize(targets) : 0, rc = h && targets ? VG_OK : VG_ERR;
    int64_t t = vg_now_ms() / 1000; /* one time for every call of the round */
    writes_pending = 0;
    write_failed = 0;
    for (int from = 0; rc == VG_OK && (from == 0 || from < n); from += WRITE_CHUNK) {
        int to = from + WRITE_CHUNK < n ? from + WRITE_CHUNK : n;
        char *payload = chunk_json(t, targets, from, to, from == 0 ? h : NULL, to == n);
        const char *argv[] = {cfg->host_id, payload};
        if (payload &&
            vg_redis_eval(redis, write_script, on_written, NULL, 0, 2, argv, NULL) == VG_OK)
            writes_pending++;
        else if (!writes_pending)
            rc = VG_ERR;
        else
            write_failed = 1; /* the ones sent still answer; the round counts as failed */
        free(payload);
        if (to == n)
            break;
    }
    cJSON_Delete(h);
    cJSON_Delete(targets);
    return rc;
}

static void on_stats(void *priv, cJSON *result, const vg_err *werr)
{
    (void)priv;
    if (!loop) /* stopped meanwhile */
        goto out;
    double c0 = cpu_ms();
    vg_err err;
    mstats_round cur;
    mstats_host host;
    if (werr ||
        hd_mstats_parse(cJSON_GetObjectItemCaseSensitive(result, "domains"), &cur, &err) != VG_OK) {
        vg_warn("metrics", "round skipped: %s", werr ? werr->msg : err.msg);
        hd_stat.rounds_failed++;
        busy = 0;
        goto out;
    }
    cJSON *pools = cJSON_DetachItemFromObjectCaseSensitive(result, "pools");
    if (cJSON_IsArray(pools)) {
        cJSON_Delete(last_pools);
        last_pools = pools;
    } else {
        cJSON_Delete(pools);
    }
    int have_host = sample_host(&host, &err) == VG_OK;
    if (!have_host)
        vg_warn("metrics", "host counters: %s", err.msg);
    int64_t now = vg_mono_ms();
    double dt_s = prev_ms ? (double)(now - prev_ms) / 1000.0 : 0;
    int written = write_round(&cur, &host, have_host, dt_s);
    hd_mstats_free(&prev);
    prev = cur;
    if (have_host)
        prev_host = host;
    prev_ms = now;
    if (written != VG_OK) {
        hd_stat.rounds_failed++;
        busy = 0;
    }
    double spent = cpu_ms() - c0;
    hd_stat.round_cpu_seconds += spent / 1e3;
    vg_debug("metrics", "round of %zu domains: %.2f ms CPU in hostd", cur.n, spent);
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
    hd_mstats_free(&prev);
    cJSON_Delete(last_pools);
    last_pools = NULL;
}

const cJSON *hd_metrics_pools(void)
{
    return last_pools;
}
