/* Checked fields of JSON objects (VM, network and filter specs) and the address formats those
 * specs use. Every checker names the offending field by its path (`at` + "." + key) in err and
 * returns VG_ERR; an absent optional member leaves dst unchanged. Pure. */
#ifndef VG_JFIELD_H
#define VG_JFIELD_H

#include "vg.h"

#include <cjson/cJSON.h>

int vg_jf_one_of(const char *s, const char *const *values);
/* "a, b, c" for error messages. */
const char *vg_jf_list(const char *const *values, char *buf, size_t cap);
/* Valid UTF-8 that XML 1.0 can carry: no control characters but tab and (multiline) newline. */
int vg_jf_text_ok(const char *s, int multiline);
/* Refuses members that are not in keys (typos must not pass silently) and duplicates. */
int vg_jf_known(const cJSON *obj, const char *at, const char *const *keys, vg_err *err);
const cJSON *vg_jf_member(const cJSON *obj, const char *key);
int vg_jf_str(const cJSON *obj, const char *at, const char *key, char *dst, size_t cap,
              int multiline, vg_err *err);
int vg_jf_enum(const cJSON *obj, const char *at, const char *key, const char *const *values,
               char *dst, size_t cap, vg_err *err);
/* 1 when it is an integral number in min..max, stored in dst. */
int vg_jf_int_value(const cJSON *it, long long min, long long max, long long *dst);
int vg_jf_int(const cJSON *obj, const char *at, const char *key, long long min, long long max,
              long long *dst, vg_err *err);
int vg_jf_bool(const cJSON *obj, const char *at, const char *key, int *dst, vg_err *err);
int vg_jf_object(const cJSON *obj, const char *at, const char *key, const cJSON **dst, vg_err *err);
/* "52:54:00:12:34:56" (either case). */
int vg_mac_parse(const char *s, unsigned char mac[6]);

/* An IPv4 or IPv6 address (IPv4 in the first 4 bytes). */
typedef struct vg_ip {
    int v6;
    unsigned char b[16];
} vg_ip;

int vg_ip_parse(const char *s, vg_ip *out);
int vg_ip_bits(const vg_ip *ip);
void vg_ip_format(const vg_ip *ip, char *buf, size_t cap);
/* Orders IPv4 before IPv6, then by value. */
int vg_ip_cmp(const vg_ip *a, const vg_ip *b);
/* 1 when ip lies in net/prefix (same family). */
int vg_ip_in(const vg_ip *net, int prefix, const vg_ip *ip);
int vg_ip_overlap(const vg_ip *a, int pa, const vg_ip *b, int pb);
/* 1 for an IPv4 subnet's network or broadcast address (prefixes up to /30). */
int vg_ip_edge(const vg_ip *net, int prefix, const vg_ip *ip);
/* "10.0.0.0/24", "fd00::/64" or a bare address (full-length prefix). */
int vg_cidr_parse(const char *s, vg_ip *ip, int *prefix);
/* A Linux interface name: 1-15 bytes, no blank, '/' or ':'. */
int vg_ifname_ok(const char *s);

#endif
