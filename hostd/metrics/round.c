#include "metrics/round.h"

#include "libvirt/vms.h"
#include "registry/hostinfo.h"
#include "vg_log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ROUND_PROC_MAX 262144 /* bytes read of a /proc file */

/* ---- in the worker ---- */

static int wanted_field(const char *f)
{
    static const char *const prefixes[] = {"state.state", "cpu.time", "vcpu.current",
                                           "balloon.",    "block.",   "net."};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (!strncmp(f, prefixes[i], strlen(prefixes[i])))
            return 1;
    return 0;
}

cJSON *hd_mround_domain(const char *name, const virTypedParameter *params, int nparams)
{
    cJSON *d = cJSON_CreateObject(), *p = cJSON_AddObjectToObject(d, "p");
    cJSON_AddStringToObject(d, "name", name);
    for (int k = 0; p && k < nparams; k++) {
        const virTypedParameter *tp = &params[k];
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
    return d;
}

/* ---- on the loop ---- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = malloc(ROUND_PROC_MAX);
    size_t n = buf ? fread(buf, 1, ROUND_PROC_MAX - 1, f) : 0;
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

/* One script's payload: the round's time, its VMs [from, to), and for the first the host and
 * its pools, for the last the flag that ends the round. */
static char *chunk_json(int64_t t, const cJSON *targets, int from, int to, cJSON *host,
                        const cJSON *pools, int last)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "t", (double)t);
    if (host) {
        cJSON_AddItemReferenceToObject(o, "host", host);
        if (pools)
            cJSON_AddItemReferenceToObject(o, "pools", (cJSON *)pools);
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

/* The payloads of a round's host target h and VM targets, VG_ERR when memory ran out. */
static int payloads(int64_t t, const cJSON *targets, cJSON *h, const cJSON *pools, char ***out,
                    int *n, vg_err *err)
{
    int nt = cJSON_GetArraySize(targets),
        nc = nt ? (nt + HD_MROUND_CHUNK - 1) / HD_MROUND_CHUNK : 1;
    char **p = calloc((size_t)nc, sizeof(*p));
    for (int c = 0; p && c < nc; c++) {
        int from = c * HD_MROUND_CHUNK,
            to = from + HD_MROUND_CHUNK < nt ? from + HD_MROUND_CHUNK : nt;
        p[c] = chunk_json(t, targets, from, to, c == 0 ? h : NULL, pools, c == nc - 1);
        if (!p[c]) {
            while (c > 0)
                free(p[--c]);
            free(p);
            p = NULL;
        }
    }
    if (!p)
        return vg_fail(err, VG_E_INTERNAL, "out of memory");
    *out = p;
    *n = nc;
    return VG_OK;
}

int hd_mround_next(hd_mround *st, cJSON *answer, int64_t now_ms, int64_t t, const char *host_id,
                   char ***out, int *n, vg_err *err)
{
    mstats_round cur;
    mstats_host host;
    if (hd_mstats_parse(cJSON_GetObjectItemCaseSensitive(answer, "domains"), &cur, err) != VG_OK)
        return VG_ERR;
    cJSON *pools = cJSON_DetachItemFromObjectCaseSensitive(answer, "pools");
    if (cJSON_IsArray(pools)) {
        cJSON_Delete(st->pools);
        st->pools = pools;
    } else {
        cJSON_Delete(pools);
    }
    vg_err herr;
    int have_host = sample_host(&host, &herr) == VG_OK;
    if (!have_host)
        vg_warn("metrics", "host counters: %s", herr.msg);
    double dt_s = st->prev_ms ? (double)(now_ms - st->prev_ms) / 1000.0 : 0;

    cJSON *h =
        hd_mstats_host_target(&host, have_host && st->prev_ms ? &st->prev_host : NULL, dt_s, &cur);
    cJSON *targets = cJSON_CreateArray();
    for (size_t i = 0; targets && i < cur.n; i++) {
        const mstats_vm *v = &cur.vms[i];
        if (!hd_mstats_active(v) || !hd_vms_wanted(v->name))
            continue;
        const mstats_vm *p = st->prev_ms ? hd_mstats_find(&st->prev, v->name) : NULL;
        cJSON *tg = hd_mstats_vm_target(v, p && hd_mstats_active(p) ? p : NULL, dt_s, host_id);
        if (tg)
            cJSON_AddItemToArray(targets, tg);
    }
    int rc = h && targets ? payloads(t, targets, h, st->pools, out, n, err)
                          : vg_fail(err, VG_E_INTERNAL, "out of memory");
    cJSON_Delete(h);
    cJSON_Delete(targets);
    hd_mstats_free(&st->prev);
    st->prev = cur;
    if (have_host)
        st->prev_host = host;
    st->prev_ms = now_ms;
    return rc;
}

void hd_mround_free(hd_mround *st)
{
    hd_mstats_free(&st->prev);
    cJSON_Delete(st->pools);
    memset(st, 0, sizeof(*st));
}
