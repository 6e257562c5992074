/* vg-bench-metrics-round: the CPU hostd spends on one metrics round of VMS domains, through
 * hostd's own code (metrics/round.c, the vg_redis client) against a real redis-server. Every
 * domain is a stats record as libvirt's QEMU driver returns it (typed parameters of 1 vCPU, a
 * balloon, 1 disk and 1 NIC, counters advancing every round). A round is what collect.c does:
 * in the worker, the records made into JSON and the answer printed (as the worker writes it to
 * its pipe); on the loop, the answer parsed, hd_mround_next, the payloads sent to
 * hostd_metrics_write.lua, until Redis answered the last. Only the fork and libvirt's own call
 * are left out. Prints one JSON line: the CPU ms of this process per round, worker and loop
 * side, as p50 and max over ROUNDS rounds (the first, without rates, is not counted).
 *
 * usage: vg-bench-metrics-round REDIS_PORT SCRIPTS_DIR [VMS [ROUNDS [PASSWORD]]] */
#include "metrics/round.h"
#include "vg_json.h"
#include "vg_redis.h"
#include "vg_rscript.h"
#include "vg_util.h"

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct domain {
    char name[32];
    virTypedParameterPtr params;
    int nparams, maxparams;
} domain;

static domain *doms;
static int ndoms, rounds, done_rounds, pending;
static double *worker_ms, *loop_ms, round_c0, round_worker;
static hd_mround state;
static vg_redis *redis;
static vg_rscript *script;
static struct ev_loop *loop;
static ev_timer next;

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The fields virConnectGetAllDomainStats gives for a running QEMU domain, round r. */
static void fill(domain *d, int i, unsigned long long r)
{
    virTypedParamsFree(d->params, d->nparams);
    d->params = NULL;
    d->nparams = d->maxparams = 0;
    virTypedParameterPtr *p = &d->params;
    int *n = &d->nparams, *m = &d->maxparams;
    unsigned long long k = (unsigned long long)i + 1;
    virTypedParamsAddInt(p, n, m, "state.state", 1);
    virTypedParamsAddInt(p, n, m, "state.reason", 1);
    virTypedParamsAddULLong(p, n, m, "cpu.time", r * 2000000000ULL * (k % 50) / 100);
    virTypedParamsAddULLong(p, n, m, "cpu.user", r * 1000000000ULL);
    virTypedParamsAddULLong(p, n, m, "cpu.system", r * 300000000ULL);
    virTypedParamsAddULLong(p, n, m, "balloon.current", 1048576);
    virTypedParamsAddULLong(p, n, m, "balloon.maximum", 1048576);
    virTypedParamsAddULLong(p, n, m, "balloon.swap_in", 0);
    virTypedParamsAddULLong(p, n, m, "balloon.swap_out", 0);
    virTypedParamsAddULLong(p, n, m, "balloon.major_fault", 312);
    virTypedParamsAddULLong(p, n, m, "balloon.minor_fault", 88000 + r);
    virTypedParamsAddULLong(p, n, m, "balloon.unused", 600000 - k * 10);
    virTypedParamsAddULLong(p, n, m, "balloon.available", 1000000);
    virTypedParamsAddULLong(p, n, m, "balloon.usable", 700000);
    virTypedParamsAddULLong(p, n, m, "balloon.last-update", 1700000000 + r * 10);
    virTypedParamsAddULLong(p, n, m, "balloon.disk_caches", 120000);
    virTypedParamsAddULLong(p, n, m, "balloon.rss", 400000);
    virTypedParamsAddUInt(p, n, m, "vcpu.current", 1);
    virTypedParamsAddUInt(p, n, m, "vcpu.maximum", 1);
    virTypedParamsAddInt(p, n, m, "vcpu.0.state", 1);
    virTypedParamsAddULLong(p, n, m, "vcpu.0.time", r * 900000000ULL);
    virTypedParamsAddULLong(p, n, m, "vcpu.0.wait", 0);
    virTypedParamsAddULLong(p, n, m, "vcpu.0.delay", r * 1000);
    virTypedParamsAddUInt(p, n, m, "net.count", 1);
    virTypedParamsAddString(p, n, m, "net.0.name", "vnet0");
    virTypedParamsAddULLong(p, n, m, "net.0.rx.bytes", r * 15000 * k);
    virTypedParamsAddULLong(p, n, m, "net.0.rx.pkts", r * 100);
    virTypedParamsAddULLong(p, n, m, "net.0.rx.errs", 0);
    virTypedParamsAddULLong(p, n, m, "net.0.rx.drop", 0);
    virTypedParamsAddULLong(p, n, m, "net.0.tx.bytes", r * 9000 * k);
    virTypedParamsAddULLong(p, n, m, "net.0.tx.pkts", r * 70);
    virTypedParamsAddULLong(p, n, m, "net.0.tx.errs", 0);
    virTypedParamsAddULLong(p, n, m, "net.0.tx.drop", 0);
    virTypedParamsAddUInt(p, n, m, "block.count", 1);
    virTypedParamsAddString(p, n, m, "block.0.name", "vda");
    virTypedParamsAddString(p, n, m, "block.0.path", "/var/lib/libvirt/images/disk.qcow2");
    virTypedParamsAddUInt(p, n, m, "block.0.backingIndex", 1);
    virTypedParamsAddULLong(p, n, m, "block.0.rd.reqs", r * 30);
    virTypedParamsAddULLong(p, n, m, "block.0.rd.bytes", r * 40960 * k);
    virTypedParamsAddULLong(p, n, m, "block.0.rd.times", r * 100000);
    virTypedParamsAddULLong(p, n, m, "block.0.wr.reqs", r * 90);
    virTypedParamsAddULLong(p, n, m, "block.0.wr.bytes", r * 655360 * k);
    virTypedParamsAddULLong(p, n, m, "block.0.wr.times", r * 300000);
    virTypedParamsAddULLong(p, n, m, "block.0.fl.reqs", r * 10);
    virTypedParamsAddULLong(p, n, m, "block.0.fl.times", r * 50000);
    virTypedParamsAddULLong(p, n, m, "block.0.allocation", 2147483648ULL);
    virTypedParamsAddULLong(p, n, m, "block.0.capacity", 10737418240ULL);
    virTypedParamsAddULLong(p, n, m, "block.0.physical", 2147483648ULL);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void summary(const char *name, double *v, int n, int comma)
{
    qsort(v, (size_t)n, sizeof(*v), by_value);
    printf("\"%s\":{\"p50\":%.2f,\"max\":%.2f}%s", name, v[(n - 1) / 2], v[n - 1],
           comma ? "," : "");
}

static void on_written(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    (void)priv;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "write failed: %s\n", reply ? reply->str : "no connection");
        exit(1);
    }
    if (--pending > 0)
        return;
    if (done_rounds > 0) { /* the first round has no rates: not counted */
        worker_ms[done_rounds - 1] = round_worker;
        loop_ms[done_rounds - 1] = cpu_ms() - round_c0 - round_worker;
    }
    if (++done_rounds > rounds) {
        ev_break(loop, EVBREAK_ALL);
        return;
    }
    ev_timer_start(loop, &next);
}

static void on_round(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
    if (!vg_redis_up(redis)) {
        ev_timer_start(loop, &next);
        return;
    }
    for (int i = 0; i < ndoms; i++)
        fill(&doms[i], i, (unsigned long long)done_rounds + 1);
    round_c0 = cpu_ms();
    /* the worker */
    cJSON *answer = cJSON_CreateObject(), *result = cJSON_AddObjectToObject(answer, "result");
    cJSON *arr = cJSON_AddArrayToObject(result, "domains");
    for (int i = 0; i < ndoms; i++)
        cJSON_AddItemToArray(arr, hd_mround_domain(doms[i].name, doms[i].params, doms[i].nparams));
    char *text = cJSON_PrintUnformatted(answer);
    cJSON_Delete(answer);
    round_worker = cpu_ms() - round_c0;
    /* the loop */
    vg_err err;
    cJSON *got = vg_json_parse(text, strlen(text), &err);
    free(text);
    char **payloads = NULL;
    int n = 0;
    if (!got ||
        hd_mround_next(&state, cJSON_GetObjectItemCaseSensitive(got, "result"), vg_mono_ms(),
                       vg_now_ms() / 1000, "bench-host", &payloads, &n, &err) != VG_OK) {
        fprintf(stderr, "round: %s\n", err.msg);
        exit(1);
    }
    cJSON_Delete(got);
    for (int i = 0; i < n; i++) {
        const char *argv[] = {"bench-host", payloads[i]};
        if (vg_redis_eval(redis, script, on_written, NULL, 0, 2, argv, NULL) != VG_OK) {
            fprintf(stderr, "cannot send a payload\n");
            exit(1);
        }
        pending++;
        free(payloads[i]);
    }
    free(payloads);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s REDIS_PORT SCRIPTS_DIR [VMS [ROUNDS [PASSWORD]]]\n", argv[0]);
        return 2;
    }
    ndoms = argc > 3 ? atoi(argv[3]) : 1000;
    rounds = argc > 4 ? atoi(argv[4]) : 20;
    if (ndoms < 1 || rounds < 1) {
        fprintf(stderr, "VMS and ROUNDS are positive\n");
        return 2;
    }
    vg_err err;
    if (virInitialize() < 0) { /* the typed parameter calls use libvirt's error state */
        fprintf(stderr, "virInitialize failed\n");
        return 1;
    }
    script = vg_rscript_open(argv[2], "hostd_metrics_write.lua", &err);
    if (!script) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    doms = calloc((size_t)ndoms, sizeof(*doms));
    worker_ms = calloc((size_t)rounds, sizeof(double));
    loop_ms = calloc((size_t)rounds, sizeof(double));
    if (!doms || !worker_ms || !loop_ms)
        return 1;
    for (int i = 0; i < ndoms; i++)
        snprintf(doms[i].name, sizeof(doms[i].name), "vgt-syn-%04d", i);
    loop = ev_default_loop(0);
    vg_redis_config cfg = {.name = "bench",
                           .host = "127.0.0.1",
                           .port = atoi(argv[1]),
                           .password = argc > 5 ? argv[5] : NULL,
                           .scripts = &script,
                           .nscripts = 1};
    redis = vg_redis_new(loop, &cfg, &err);
    if (!redis) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    ev_timer_init(&next, on_round, 0.01, 0);
    ev_timer_start(loop, &next);
    ev_run(loop, 0);
    printf("{\"bench\":\"metrics-round\",\"vms\":%d,\"rounds\":%d,\"hostd_cpu_ms\":{", ndoms,
           rounds);
    double *total = calloc((size_t)rounds, sizeof(double));
    for (int i = 0; total && i < rounds; i++)
        total[i] = worker_ms[i] + loop_ms[i];
    summary("worker", worker_ms, rounds, 1);
    summary("loop", loop_ms, rounds, total != NULL);
    if (total)
        summary("total", total, rounds, 0);
    printf("}}\n");
    free(total);
    vg_redis_free(redis);
    vg_rscript_free(script);
    hd_mround_free(&state);
    for (int i = 0; i < ndoms; i++)
        virTypedParamsFree(doms[i].params, doms[i].nparams);
    free(doms);
    free(worker_ms);
    free(loop_ms);
    return 0;
}
