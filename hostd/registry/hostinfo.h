/* This host's capacity and load (M1) from /proc and statvfs: what the registry publishes every
 * heartbeat and host.info answers. CPU % and network MB/s are rates, computed from the
 * difference to the previous sample, so the first sample reports 0 for them.
 * The parsers are pure (text in, numbers out) for the unit tests. */
#ifndef HOSTINFO_H
#define HOSTINFO_H

#include "vg.h"

typedef struct hostinfo_cpu {
    unsigned long long busy; /* jiffies spent on anything but idle and iowait */
    unsigned long long total;
} hostinfo_cpu;

typedef struct hostinfo {
    long cpus;
    long long mem_mib;  /* physical memory */
    long long disk_mib; /* size of the filesystem(s) VM disks live on */
    double cpu_pct;     /* 0..100 over all CPUs since the previous sample */
    double mem_pct;     /* in use: (MemTotal - MemAvailable) / MemTotal */
    double net_mbps;    /* received + sent, MB/s (10^6 bytes), every interface but lo */
} hostinfo;

/* The aggregate "cpu" line of /proc/stat. */
int hd_hostinfo_parse_stat(const char *text, hostinfo_cpu *out, vg_err *err);
/* MemTotal and MemAvailable of /proc/meminfo, in KiB. */
int hd_hostinfo_parse_meminfo(const char *text, long long *total_kib, long long *avail_kib,
                              vg_err *err);
/* Bytes received + sent over every interface of /proc/net/dev except the loopback. */
int hd_hostinfo_parse_netdev(const char *text, unsigned long long *bytes, vg_err *err);

/* Takes a sample now. disk_paths: NULL-terminated directories whose filesystems hold the VM
 * disks (each filesystem counted once); none usable falls back to fallback_dir. */
int hd_hostinfo_sample(const char *const *disk_paths, const char *fallback_dir, hostinfo *out,
                       vg_err *err);

#endif
