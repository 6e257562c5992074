#include "metrics/mstats.h"

#include <libvirt/libvirt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double num(const cJSON *p, const char *field, double def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, field);
    return cJSON_IsNumber(v) && v->valuedouble >= 0 ? v->valuedouble : def;
}

static const char *str(const cJSON *p, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, field);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* block.<i>.* or net.<i>.*: the first MSTATS_DEV_MAX devices of the record. */
static size_t parse_devs(const cJSON *p, const char *kind, const char *const f[4], mstats_dev *out)
{
    size_t n = (size_t)num(p, strcmp(kind, "block") ? "net.count" : "block.count", 0);
    if (n > MSTATS_DEV_MAX)
        n = MSTATS_DEV_MAX;
    for (size_t i = 0; i < n; i++) {
        char key[64];
        snprintf(key, sizeof(key), "%s.%zu.name", kind, i);
        const char *name = str(p, key);
        snprintf(out[i].name, sizeof(out[i].name), "%s", name ? name : "?");
        double *v[4] = {&out[i].a, &out[i].b, &out[i].c, &out[i].d};
        for (int k = 0; k < 4; k++) {
            snprintf(key, sizeof(key), "%s.%zu.%s", kind, i, f[k]);
            *v[k] = num(p, key, 0);
        }
    }
    return n;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const mstats_vm *)a)->name, ((const mstats_vm *)b)->name);
}

int hd_mstats_parse(const cJSON *domains, mstats_round *out, vg_err *err)
{
    static const char *const block_f[4] = {"rd.bytes", "wr.bytes", "rd.reqs", "wr.reqs"};
    static const char *const net_f[4] = {"rx.bytes", "tx.bytes", "rx.pkts", "tx.pkts"};
    memset(out, 0, sizeof(*out));
    if (!cJSON_IsArray(domains))
        return vg_fail(err, VG_E_BAD_REQUEST, "domain stats are not an array");
    size_t n = (size_t)cJSON_GetArraySize(domains);
    out->vms = calloc(n ? n : 1, sizeof(*out->vms));
    if (!out->vms)
        return vg_fail(err, VG_E_INTERNAL, "out of memory");
    const cJSON *d;
    cJSON_ArrayForEach(d, domains)
    {
        const char *name = str(d, "name");
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(d, "p");
        if (!name || !cJSON_IsObject(p) || strlen(name) >= sizeof(out->vms[0].name)) {
            hd_mstats_free(out);
            return vg_fail(err, VG_E_BAD_REQUEST, "malformed domain stats record");
        }
        mstats_vm *v = &out->vms[out->n++];
        snprintf(v->name, sizeof(v->name), "%s", name);
        v->state = (int)num(p, "state.state", 0);
        v->cpu_ns = num(p, "cpu.time", 0);
        v->vcpus = (int)num(p, "vcpu.current", 1);
        if (v->vcpus < 1)
            v->vcpus = 1;
        double cur = num(p, "balloon.current", 0), avail = num(p, "balloon.available", -1),
               unused = num(p, "balloon.unused", -1);
        v->mem_used = avail > 0 && unused >= 0 && unused <= avail ? avail - unused : cur;
        v->mem_total = avail > 0 ? avail : num(p, "balloon.maximum", cur);
        v->ndisks = parse_devs(p, "block", block_f, v->disks);
        v->nnics = parse_devs(p, "net", net_f, v->nics);
    }
    qsort(out->vms, out->n, sizeof(*out->vms), by_name);
    return VG_OK;
}

void hd_mstats_free(mstats_round *r)
{
    free(r->vms);
    memset(r, 0, sizeof(*r));
}

const mstats_vm *hd_mstats_find(const mstats_round *r, const char *name)
{
    mstats_vm key;
    snprintf(key.name, sizeof(key.name), "%s", name);
    return r->n ? bsearch(&key, r->vms, r->n, sizeof(*r->vms), by_name) : NULL;
}

int hd_mstats_active(const mstats_vm *v)
{
    return v->state == VIR_DOMAIN_RUNNING || v->state == VIR_DOMAIN_BLOCKED ||
           v->state == VIR_DOMAIN_PAUSED || v->state == VIR_DOMAIN_SHUTDOWN;
}

/* A counter's rate; a counter that went back (a restarted guest, a replugged disk) is 0. */
static double rate(double cur, double prev, double dt_s)
{
    return dt_s > 0 && cur >= prev ? (cur - prev) / dt_s : 0;
}

static const mstats_dev *find_dev(const mstats_dev *devs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(devs[i].name, name))
            return &devs[i];
    return NULL;
}

/* Per-device rates as a JSON text for the latest hash; totals[4] gets their sums. */
static char *devs_json(const mstats_dev *cur, size_t n, const mstats_dev *prev, size_t np,
                       double dt_s, const char *const names[4], double totals[4])
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < n; i++) {
        const mstats_dev *p = prev ? find_dev(prev, np, cur[i].name) : NULL;
        double r[4] = {p ? rate(cur[i].a, p->a, dt_s) : 0, p ? rate(cur[i].b, p->b, dt_s) : 0,
                       p ? rate(cur[i].c, p->c, dt_s) : 0, p ? rate(cur[i].d, p->d, dt_s) : 0};
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", cur[i].name);
        for (int k = 0; k < 4; k++) {
            cJSON_AddNumberToObject(o, names[k], r[k]);
            totals[k] += r[k];
        }
        cJSON_AddItemToArray(arr, o);
    }
    char *s = arr ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    return s;
}

static void add_fixed(cJSON *o, const char *name, double v)
{
    char buf[40];
    snprintf(buf, sizeof(buf), "%.2f", v);
    cJSON_AddRawToObject(o, name, buf);
}

cJSON *hd_mstats_vm_target(const mstats_vm *cur, const mstats_vm *prev, double dt_s,
                           const char *host)
{
    static const char *const disk_n[4] = {"rd_bps", "wr_bps", "rd_iops", "wr_iops"};
    static const char *const nic_n[4] = {"rx_bps", "tx_bps", "rx_pps", "tx_pps"};
    double disk[4] = {0}, net[4] = {0};
    double cpu = prev ? rate(cur->cpu_ns, prev->cpu_ns, dt_s) / 1e9 / cur->vcpus * 100.0 : 0;
    if (cpu > 100)
        cpu = 100;
    double mem = cur->mem_total > 0 ? 100.0 * cur->mem_used / cur->mem_total : 0;
    char *disks = devs_json(cur->disks, cur->ndisks, prev ? prev->disks : NULL,
                            prev ? prev->ndisks : 0, dt_s, disk_n, disk);
    char *nics = devs_json(cur->nics, cur->nnics, prev ? prev->nics : NULL, prev ? prev->nnics : 0,
                           dt_s, nic_n, net);
    cJSON *t = cJSON_CreateObject();
    cJSON *s = cJSON_AddArrayToObject(t, "s");
    cJSON *l = cJSON_AddObjectToObject(t, "l");
    if (!disks || !nics || !s || !l) {
        free(disks);
        free(nics);
        cJSON_Delete(t);
        return NULL;
    }
    cJSON_AddStringToObject(t, "name", cur->name);
    double series[4] = {cpu, mem, disk[0] + disk[1], net[0] + net[1]};
    for (int k = 0; k < 4; k++)
        cJSON_AddItemToArray(s, cJSON_CreateNumber(series[k]));
    cJSON_AddStringToObject(l, "host", host);
    add_fixed(l, "cpu_pct", cpu);
    add_fixed(l, "mem_pct", mem);
    add_fixed(l, "mem_used_bytes", cur->mem_used * 1024);
    add_fixed(l, "mem_total_bytes", cur->mem_total * 1024);
    for (int k = 0; k < 4; k++) {
        char name[32];
        snprintf(name, sizeof(name), "disk_%s", disk_n[k]);
        add_fixed(l, name, disk[k]);
        snprintf(name, sizeof(name), "net_%s", nic_n[k]);
        add_fixed(l, name, net[k]);
    }
    cJSON_AddNumberToObject(l, "vcpus", cur->vcpus);
    cJSON_AddStringToObject(l, "disks", disks);
    cJSON_AddStringToObject(l, "nics", nics);
    free(disks);
    free(nics);
    return t;
}

int hd_mstats_parse_loadavg(const char *text, mstats_host *out, vg_err *err)
{
    if (sscanf(text, "%lf %lf %lf", &out->load1, &out->load5, &out->load15) != 3)
        return vg_fail(err, VG_E_BAD_REQUEST, "/proc/loadavg: not three load averages");
    return VG_OK;
}

int hd_mstats_parse_diskstats(const char *text, int (*whole)(const char *name), double *bytes,
                              vg_err *err)
{
    /* major minor name reads merged sectors_read ms writes merged sectors_written ... */
    *bytes = 0;
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (*p == '\n')
            continue;
        char name[64];
        unsigned long long f[7];
        if (sscanf(p, "%*u %*u %63s %llu %llu %llu %llu %llu %llu %llu", name, &f[0], &f[1], &f[2],
                   &f[3], &f[4], &f[5], &f[6]) != 8)
            return vg_fail(err, VG_E_BAD_REQUEST, "/proc/diskstats: malformed line");
        if (whole(name))
            *bytes += (double)(f[2] + f[6]) * 512.0;
    }
    return VG_OK;
}

cJSON *hd_mstats_host_target(const mstats_host *cur, const mstats_host *prev, double dt_s,
                             const mstats_round *round)
{
    double cpu = 0, disk = 0, net = 0;
    if (prev && cur->cpu_total > prev->cpu_total && cur->cpu_busy >= prev->cpu_busy)
        cpu = 100.0 * (double)(cur->cpu_busy - prev->cpu_busy) /
              (double)(cur->cpu_total - prev->cpu_total);
    if (prev) {
        disk = rate(cur->disk_bytes, prev->disk_bytes, dt_s);
        net = rate(cur->net_bytes, prev->net_bytes, dt_s);
    }
    double mem = cur->mem_total_kib > 0
                     ? 100.0 * (cur->mem_total_kib - cur->mem_avail_kib) / cur->mem_total_kib
                     : 0;
    long running = 0, paused = 0, shutoff = 0, other = 0;
    for (size_t i = 0; round && i < round->n; i++) {
        int st = round->vms[i].state;
        running += st == VIR_DOMAIN_RUNNING || st == VIR_DOMAIN_BLOCKED;
        paused += st == VIR_DOMAIN_PAUSED || st == VIR_DOMAIN_PMSUSPENDED;
        shutoff += st == VIR_DOMAIN_SHUTOFF;
        other += st == VIR_DOMAIN_NOSTATE || st == VIR_DOMAIN_SHUTDOWN || st == VIR_DOMAIN_CRASHED;
    }
    cJSON *t = cJSON_CreateObject();
    cJSON *s = cJSON_AddArrayToObject(t, "s");
    cJSON *l = cJSON_AddObjectToObject(t, "l");
    if (!s || !l) {
        cJSON_Delete(t);
        return NULL;
    }
    double series[4] = {cpu, mem, disk, net};
    for (int k = 0; k < 4; k++)
        cJSON_AddItemToArray(s, cJSON_CreateNumber(series[k]));
    add_fixed(l, "cpu_pct", cpu);
    add_fixed(l, "mem_pct", mem);
    add_fixed(l, "mem_total_bytes", cur->mem_total_kib * 1024);
    add_fixed(l, "mem_avail_bytes", cur->mem_avail_kib * 1024);
    add_fixed(l, "load1", cur->load1);
    add_fixed(l, "load5", cur->load5);
    add_fixed(l, "load15", cur->load15);
    add_fixed(l, "disk_bps", disk);
    add_fixed(l, "net_bps", net);
    cJSON_AddNumberToObject(l, "vms_running", (double)running);
    cJSON_AddNumberToObject(l, "vms_paused", (double)paused);
    cJSON_AddNumberToObject(l, "vms_shutoff", (double)shutoff);
    cJSON_AddNumberToObject(l, "vms_other", (double)other);
    return t;
}
