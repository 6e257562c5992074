/* One metrics round of this host (issue 13, docs/monitoring.md), pure so it is unit-tested:
 * the counters of every domain as one virConnectGetAllDomainStats call gave them (flattened to
 * JSON by the collection worker), the rates between two rounds, and the JSON target that
 * redis-scripts/hostd_metrics_write.lua stores. */
#ifndef MSTATS_H
#define MSTATS_H

#include "vg.h"

#include <cjson/cJSON.h>

#define MSTATS_DEV_MAX 16

/* A disk (a = read bytes, b = written bytes, c = read requests, d = write requests) or a NIC
 * (a = received bytes, b = sent bytes, c = received packets, d = sent packets). */
typedef struct mstats_dev {
    char name[33];
    double a, b, c, d;
} mstats_dev;

typedef struct mstats_vm {
    char name[65];
    int state;        /* virDomainState */
    double cpu_ns;    /* cpu.time */
    int vcpus;        /* vcpu.current (1 when absent) */
    double mem_used;  /* KiB: balloon available - unused when the guest reports them, else the
                         balloon's current size */
    double mem_total; /* KiB: balloon available, else maximum, else current */
    size_t ndisks, nnics;
    mstats_dev disks[MSTATS_DEV_MAX], nics[MSTATS_DEV_MAX];
} mstats_vm;

typedef struct mstats_round {
    mstats_vm *vms; /* sorted by name */
    size_t n;
} mstats_round;

/* domains: [{"name": "...", "p": {"<libvirt stats field>": number or string, ...}}, ...] as the
 * worker writes them. A malformed entry is bad_request; nothing is kept then. */
int hd_mstats_parse(const cJSON *domains, mstats_round *out, vg_err *err);
void hd_mstats_free(mstats_round *r);
const mstats_vm *hd_mstats_find(const mstats_round *r, const char *name);
/* 1 for a state that has counters worth storing (running, blocked, paused, in shutdown). */
int hd_mstats_active(const mstats_vm *v);

/* The store's target for a VM: {"name", "s": [cpu %, mem %, disk B/s, net B/s], "l": {latest
 * fields}}. prev is the same VM one round earlier (NULL: rates are 0), dt_s the time between. */
cJSON *hd_mstats_vm_target(const mstats_vm *cur, const mstats_vm *prev, double dt_s,
                           const char *host);

/* Host counters from /proc, parsed purely. */
typedef struct mstats_host {
    unsigned long long cpu_busy, cpu_total; /* /proc/stat jiffies */
    double mem_total_kib, mem_avail_kib;
    double load1, load5, load15;
    double disk_bytes; /* read + written by whole disks (sectors * 512) */
    double net_bytes;  /* received + sent, every interface but lo */
} mstats_host;

/* The three load averages of /proc/loadavg. */
int hd_mstats_parse_loadavg(const char *text, mstats_host *out, vg_err *err);
/* Bytes read + written of /proc/diskstats, counting only devices whole(name) accepts (whole
 * disks, not their partitions, which would count every byte twice). */
int hd_mstats_parse_diskstats(const char *text, int (*whole)(const char *name), double *bytes,
                              vg_err *err);
/* The host's target: s = [cpu %, mem %, disk B/s, net B/s] against prev (NULL: rates 0), and
 * the VM counts by state of round in "l". */
cJSON *hd_mstats_host_target(const mstats_host *cur, const mstats_host *prev, double dt_s,
                             const mstats_round *round);

#endif
