/* Checked fields of JSON objects (VM, network and filter specs), named by their path in errors
 * (`spec.nics[1].mac must be ...`), and the address formats those specs use. Pure. */
#include "vg_jfield.h"
#include "vg_utf8.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vg_jf_one_of(const char *s, const char *const *values)
{
    for (; *values; values++)
        if (strcmp(s, *values) == 0)
            return 1;
    return 0;
}

const char *vg_jf_list(const char *const *values, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (const char *const *v = values; *v && len < cap; v++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", v == values ? "" : ", ", *v);
    return buf;
}

/* Valid UTF-8 that XML 1.0 can carry: no other control characters than tab and (multiline)
 * newline, no surrogates, no U+FFFE/U+FFFF. Escaping cannot repair any of these. */
int vg_jf_text_ok(const char *s, int multiline)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        if (c < 0x80) {
            if ((c < 0x20 && !(c == '\t' || (multiline && c == '\n'))) || c == 0x7f)
                return 0;
            p++;
            continue;
        }
        /* a NUL is no continuation byte: the check never reads past the string's end */
        size_t n = vg_utf8_seq(p, 4);
        if (!n || (n == 3 && p[0] == 0xef && p[1] == 0xbf && p[2] >= 0xbe)) /* U+FFFE, U+FFFF */
            return 0;
        p += n;
    }
    return 1;
}

/* Refuses members that are not in keys (typos must not pass silently) and duplicates. */
int vg_jf_known(const cJSON *obj, const char *at, const char *const *keys, vg_err *err)
{
    for (const cJSON *c = obj->child; c; c = c->next) {
        if (!vg_jf_one_of(c->string, keys))
            return vg_fail(err, VG_E_BAD_REQUEST, "%s.%.40s is not a known field", at, c->string);
        for (const cJSON *d = obj->child; d != c; d = d->next)
            if (strcmp(d->string, c->string) == 0)
                return vg_fail(err, VG_E_BAD_REQUEST, "%s.%.40s appears twice", at, c->string);
    }
    return VG_OK;
}

const cJSON *vg_jf_member(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* An optional string member copied into dst (unchanged when absent). */
int vg_jf_str(const cJSON *obj, const char *at, const char *key, char *dst, size_t cap,
              int multiline, vg_err *err)
{
    const cJSON *it = vg_jf_member(obj, key);
    if (!it)
        return VG_OK;
    if (!cJSON_IsString(it))
        return vg_fail(err, VG_E_BAD_REQUEST, "%s.%s must be a string", at, key);
    if (strlen(it->valuestring) >= cap)
        return vg_fail(err, VG_E_BAD_REQUEST, "%s.%s must be at most %zu bytes", at, key, cap - 1);
    if (!vg_jf_text_ok(it->valuestring, multiline))
        return vg_fail(err, VG_E_BAD_REQUEST, "%s.%s must be UTF-8 text without control characters",
                       at, key);
    memcpy(dst, it->valuestring, strlen(it->valuestring) + 1);
    return VG_OK;
}

/* An optional member that must be one of values (dst unchanged when absent). */
int vg_jf_enum(const cJSON *obj, const char *at, const char *key, const char *const *values,
               char *dst, size_t cap, vg_err *err)
{
    const cJSON *it = vg_jf_member(obj, key);
    if (!it)
        return VG_OK;
    char all[160];
    if (!cJSON_IsString(it) || !vg_jf_one_of(it->valuestring, values) ||
        strlen(it->valuestring) >= cap)
        return vg_fail(err, VG_E_BAD_REQUEST, "%s.%s must be one of %s", at, key,
                       vg_jf_list(values, all, sizeof(all)));
    memcpy(dst, it->valuestring, strlen(it->valuestring) + 1);
    return VG_OK;
}

int vg_jf_int_value(const cJSON *it, long long min, long long max, long long *dst)
{
    if (!cJSON_IsNumber(it))
        return 0;
    double d = it->valuedouble;
    if (!(d >= (double)min && d <= (double)max)) /* also refuses NaN */
        return 0;
    long long n = (long long)d;
    if ((double)n != d)
        return 0;
    *dst = n;
    return 1;
}

int vg_jf_int(const cJSON *obj, const char *at, const char *key, long long min, long long max,
              long long *dst, vg_err *err)
{
    const cJSON *it = vg_jf_member(obj, key);
    if (it && !vg_jf_int_value(it, min, max, dst))
        return vg_fail(err, VG_E_BAD_REQUEST, "%s.%s must be an integer %lld-%lld", at, key, min,
                       max);
    return VG_OK;
}

int vg_jf_bool(const cJSON *obj, const char *at, const char *key, int *dst, vg_err *err)
{
    const cJSON *it = vg_jf_member(obj, key);
    if (!it)
        return VG_OK;
    if (!cJSON_IsBool(it))
        return vg_fail(err, VG_E_BAD_REQUEST, "%s.%s must be true or false", at, key);
    *dst = cJSON_IsTrue(it);
    return VG_OK;
}

int vg_jf_object(const cJSON *obj, const char *at, const char *key, const cJSON **dst, vg_err *err)
{
    const cJSON *it = vg_jf_member(obj, key);
    *dst = it;
    if (it && !cJSON_IsObject(it))
        return vg_fail(err, VG_E_BAD_REQUEST, "%s.%s must be an object", at, key);
    return VG_OK;
}

int vg_mac_parse(const char *s, unsigned char mac[6])
{
    static const char hex[] = "0123456789abcdef";
    if (strlen(s) != 17)
        return 0;
    for (int i = 0; i < 6; i++) {
        const char *h = strchr(hex, s[3 * i] | 0x20), *l = strchr(hex, s[3 * i + 1] | 0x20);
        if (!h || !l || !*h || !*l || (i < 5 && s[3 * i + 2] != ':'))
            return 0;
        mac[i] = (unsigned char)((h - hex) << 4 | (l - hex));
    }
    return 1;
}

int vg_ip_parse(const char *s, vg_ip *out)
{
    memset(out, 0, sizeof(*out));
    if (!s || strlen(s) >= 46)
        return 0;
    if (inet_pton(AF_INET, s, out->b) == 1) {
        out->v6 = 0;
        return 1;
    }
    if (inet_pton(AF_INET6, s, out->b) == 1) {
        out->v6 = 1;
        return 1;
    }
    return 0;
}

int vg_ip_bits(const vg_ip *ip)
{
    return ip->v6 ? 128 : 32;
}

void vg_ip_format(const vg_ip *ip, char *buf, size_t cap)
{
    if (!inet_ntop(ip->v6 ? AF_INET6 : AF_INET, ip->b, buf, (socklen_t)cap) && cap)
        buf[0] = '\0';
}

int vg_ip_cmp(const vg_ip *a, const vg_ip *b)
{
    if (a->v6 != b->v6)
        return a->v6 - b->v6;
    return memcmp(a->b, b->b, 16);
}

int vg_ip_in(const vg_ip *net, int prefix, const vg_ip *ip)
{
    if (net->v6 != ip->v6 || prefix < 0 || prefix > vg_ip_bits(net))
        return 0;
    int full = prefix / 8, rest = prefix % 8;
    if (memcmp(net->b, ip->b, (size_t)full) != 0)
        return 0;
    if (rest) {
        unsigned char m = (unsigned char)(0xff << (8 - rest));
        if ((net->b[full] & m) != (ip->b[full] & m))
            return 0;
    }
    return 1;
}

int vg_ip_overlap(const vg_ip *a, int pa, const vg_ip *b, int pb)
{
    return a->v6 == b->v6 && (pa <= pb ? vg_ip_in(a, pa, b) : vg_ip_in(b, pb, a));
}

int vg_ip_edge(const vg_ip *net, int prefix, const vg_ip *ip)
{
    if (net->v6 || prefix >= 31)
        return 0;
    int lo = 1, hi = 1;
    for (int bit = prefix; bit < 32; bit++) {
        int v = (ip->b[bit / 8] >> (7 - bit % 8)) & 1;
        lo &= !v;
        hi &= v;
    }
    return lo || hi;
}

int vg_cidr_parse(const char *s, vg_ip *ip, int *prefix)
{
    char addr[64];
    const char *slash = s ? strchr(s, '/') : NULL;
    size_t n = slash ? (size_t)(slash - s) : (s ? strlen(s) : 0);
    if (!s || n == 0 || n >= sizeof(addr))
        return 0;
    memcpy(addr, s, n);
    addr[n] = '\0';
    if (!vg_ip_parse(addr, ip))
        return 0;
    if (!slash) {
        *prefix = vg_ip_bits(ip);
        return 1;
    }
    const char *p = slash + 1;
    if (!*p || strlen(p) > 3 || strspn(p, "0123456789") != strlen(p))
        return 0;
    *prefix = atoi(p);
    return *prefix <= vg_ip_bits(ip);
}

int vg_ifname_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
        return 0;
    for (; *s; s++)
        if (*s <= ' ' || *s == '/' || *s == ':' || *s == 0x7f || (unsigned char)*s >= 0x80)
            return 0;
    return 1;
}
