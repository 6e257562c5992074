#include "registry/hostinfo.h"

#include "vg_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define HOSTINFO_READ_MAX 65536
#define HOSTINFO_MAX_FS 16

/* The previous sample, for the rates. */
static hostinfo_cpu prev_cpu;
static unsigned long long prev_net;
static int64_t prev_ms;

int hd_hostinfo_parse_stat(const char *text, hostinfo_cpu *out, vg_err *err)
{
    /* user nice system idle iowait irq softirq steal (guest and guest_nice are inside user). */
    unsigned long long v[8] = {0};
    if (strncmp(text, "cpu ", 4) != 0)
        return vg_fail(err, VG_E_BAD_REQUEST, "/proc/stat does not start with the cpu line");
    int n = sscanf(text + 4, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    if (n < 4)
        return vg_fail(err, VG_E_BAD_REQUEST, "/proc/stat cpu line has %d fields", n < 0 ? 0 : n);
    out->total = 0;
    for (int i = 0; i < 8; i++)
        out->total += v[i];
    out->busy = out->total - v[3] - v[4];
    return VG_OK;
}

static int field_kib(const char *text, const char *name, long long *out)
{
    size_t len = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, len) == 0 && p[len] == ':')
            return sscanf(p + len + 1, "%lld", out) == 1 && *out >= 0;
    return 0;
}

int hd_hostinfo_parse_meminfo(const char *text, long long *total_kib, long long *avail_kib,
                              vg_err *err)
{
    if (!field_kib(text, "MemTotal", total_kib) || *total_kib == 0)
        return vg_fail(err, VG_E_BAD_REQUEST, "/proc/meminfo has no MemTotal");
    if (!field_kib(text, "MemAvailable", avail_kib) || *avail_kib > *total_kib)
        return vg_fail(err, VG_E_BAD_REQUEST, "/proc/meminfo has no usable MemAvailable");
    return VG_OK;
}

int hd_hostinfo_parse_netdev(const char *text, unsigned long long *bytes, vg_err *err)
{
    /* Two header lines, then "  name: rx_bytes 7 more rx fields tx_bytes ...". */
    *bytes = 0;
    int lines = 0;
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        const char *colon = strchr(p, ':'), *eol = strchr(p, '\n');
        if (!colon || (eol && colon > eol))
            continue;
        const char *name = p;
        while (*name == ' ')
            name++;
        if (colon - name == 2 && strncmp(name, "lo", 2) == 0) {
            lines++;
            continue;
        }
        unsigned long long f[9];
        if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu", &f[0], &f[1], &f[2],
                   &f[3], &f[4], &f[5], &f[6], &f[7], &f[8]) != 9)
            return vg_fail(err, VG_E_BAD_REQUEST, "/proc/net/dev: malformed interface line");
        *bytes += f[0] + f[8];
        lines++;
    }
    if (!lines)
        return vg_fail(err, VG_E_BAD_REQUEST, "/proc/net/dev lists no interface");
    return VG_OK;
}

static char *slurp(const char *path, vg_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return vg_fail(err, VG_E_INTERNAL, "%s: %s", path, strerror(errno)), NULL;
    char *buf = malloc(HOSTINFO_READ_MAX);
    size_t n = buf ? fread(buf, 1, HOSTINFO_READ_MAX - 1, f) : 0;
    fclose(f);
    if (!buf)
        return vg_fail(err, VG_E_INTERNAL, "out of memory"), NULL;
    buf[n] = '\0';
    return buf;
}

static long long disk_mib(const char *const *paths, const char *fallback)
{
    unsigned long seen[HOSTINFO_MAX_FS];
    size_t nseen = 0;
    long long mib = 0;
    for (size_t i = 0; paths && paths[i] && nseen < HOSTINFO_MAX_FS; i++) {
        struct statvfs s;
        if (statvfs(paths[i], &s) != 0)
            continue;
        int dup = 0;
        for (size_t j = 0; j < nseen; j++)
            dup |= seen[j] == s.f_fsid;
        if (dup)
            continue;
        seen[nseen++] = s.f_fsid;
        mib += (long long)((unsigned long long)s.f_blocks * s.f_frsize / (1024 * 1024));
    }
    struct statvfs s;
    if (!nseen && fallback && statvfs(fallback, &s) == 0)
        mib = (long long)((unsigned long long)s.f_blocks * s.f_frsize / (1024 * 1024));
    return mib;
}

int hd_hostinfo_sample(const char *const *disk_paths, const char *fallback_dir, hostinfo *out,
                       vg_err *err)
{
    memset(out, 0, sizeof(*out));
    char *stat = slurp("/proc/stat", err), *mem = slurp("/proc/meminfo", err),
         *net = slurp("/proc/net/dev", err);
    hostinfo_cpu cpu;
    long long total = 0, avail = 0;
    unsigned long long bytes = 0;
    int rc = stat && mem && net && hd_hostinfo_parse_stat(stat, &cpu, err) == VG_OK &&
                     hd_hostinfo_parse_meminfo(mem, &total, &avail, err) == VG_OK &&
                     hd_hostinfo_parse_netdev(net, &bytes, err) == VG_OK
                 ? VG_OK
                 : VG_ERR;
    free(stat);
    free(mem);
    free(net);
    if (rc != VG_OK)
        return rc;
    int64_t now = vg_mono_ms();
    out->cpus = sysconf(_SC_NPROCESSORS_ONLN);
    out->mem_mib = total / 1024;
    out->mem_pct = 100.0 * (double)(total - avail) / (double)total;
    out->disk_mib = disk_mib(disk_paths, fallback_dir);
    if (prev_ms && now > prev_ms) {
        if (cpu.total > prev_cpu.total && cpu.busy >= prev_cpu.busy)
            out->cpu_pct =
                100.0 * (double)(cpu.busy - prev_cpu.busy) / (double)(cpu.total - prev_cpu.total);
        if (bytes >= prev_net)
            out->net_mbps = (double)(bytes - prev_net) / 1e6 / ((double)(now - prev_ms) / 1000.0);
    }
    prev_cpu = cpu;
    prev_net = bytes;
    prev_ms = now;
    return VG_OK;
}
