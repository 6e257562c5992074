#include "core/metcodec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MC_SERIES 4  /* cpu, mem, disk, net: #MET_SERIES */
#define MC_LINEAR 2  /* the first two series are percentages, the others logarithmic */
#define MC_SPREAD 16 /* MET_SPREAD's entries */

typedef struct mc_head {
    const char *tier;
    long long step, t0, n, tier_step;
    int w, stats, packed, rec, per;
    int nseries, index[MC_SERIES];
    const char *names[MC_SERIES];
    int spread[MC_SPREAD];
} mc_head;

static double decode(int c, int series, int w)
{
    if (c == 0)
        return NAN;
    double q = c - 1;
    if (series <= MC_LINEAR)
        return q / (w == 1 ? 2 : 100);
    return pow(2, q / (w == 1 ? 6 : 1000)) - 1;
}

static int encode(double v, int series, int w)
{
    if (isnan(v) || v < 0)
        return 0;
    double q =
        series <= MC_LINEAR ? v * (w == 1 ? 2 : 100) : log(1 + v) / log(2) * (w == 1 ? 6 : 1000);
    double c = floor(q + 0.5) + 1, max = w == 1 ? 255 : 65535;
    return (int)(c < max ? c : max);
}

/* One record's codes as {min, avg, max} per series (a raw value is all three). */
static void unpack(const mc_head *h, const unsigned char *r, int codes[MC_SERIES][3])
{
    for (int s = 0; s < MC_SERIES; s++) {
        if (h->packed) {
            int av = r[s * 2], sp = r[s * 2 + 1];
            int mn = av - h->spread[sp / 16], mx = av + h->spread[sp % 16];
            codes[s][0] = av ? (mn > 1 ? mn : 1) : 0;
            codes[s][1] = av;
            codes[s][2] = av ? (mx < 255 ? mx : 255) : 0;
        } else if (h->stats == 1) {
            int c = h->w == 1 ? r[s] : r[s * 2] * 256 + r[s * 2 + 1];
            codes[s][0] = codes[s][1] = codes[s][2] = c;
        } else {
            for (int k = 0; k < 3; k++)
                codes[s][k] = r[s * 3 + k];
        }
    }
}

static int any_code(const mc_head *h, const unsigned char *r)
{
    for (int i = 0; i < h->rec; i++)
        if (r[i])
            return 1;
    return 0;
}

/* The answer is written into one buffer sized for its longest form up front: 121,000 values
 * through a growing buffer with a length check and strlen each took most of the call. */
#define MC_NUM 24 /* the longest printed value or time, with its comma */

typedef struct mc_out {
    char *p;
    size_t len;
} mc_out;

static void put(mc_out *o, const char *s, size_t n)
{
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void put_int(mc_out *o, long long v)
{
    char tmp[MC_NUM];
    int n = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do
        tmp[n++] = (char)('0' + u % 10);
    while ((u /= 10) > 0);
    if (v < 0)
        tmp[n++] = '-';
    while (n > 0)
        o->p[o->len++] = tmp[--n];
}

/* Digits beyond the code's precision (1/6 or 1/1000 of an octave for bytes/s) only make the
 * answer longer. */
static int format(char *buf, size_t size, int c, int series, int w)
{
    double v = decode(c, series, w);
    if (series <= MC_LINEAR)
        return snprintf(buf, size, "%.14g", v);
    if (v >= 100)
        return snprintf(buf, size, "%.0f", v);
    return snprintf(buf, size, w == 1 ? "%.3g" : "%.5g", v);
}

/* A code's value as the answer prints it ("null" for 0); 1-byte codes are formatted once. */
static void put_code(mc_out *o, int c, int series, int w)
{
    static char text[2][256][MC_NUM];
    static unsigned char len[2][256];
    if (c == 0) {
        put(o, "null", 4);
        return;
    }
    int kind = series <= MC_LINEAR ? 0 : 1;
    if (w != 1) {
        char tmp[MC_NUM];
        int n = format(tmp, sizeof(tmp), c, series, w);
        put(o, tmp, (size_t)(n > 0 && n < MC_NUM ? n : 0));
        return;
    }
    if (!len[kind][c]) {
        int n = format(text[kind][c], MC_NUM, c, series, w);
        len[kind][c] = (unsigned char)(n > 0 && n < MC_NUM ? n : 0);
    }
    put(o, text[kind][c], len[kind][c]);
}

static long long num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;
}

static int read_head(const cJSON *o, mc_head *h)
{
    memset(h, 0, sizeof(*h));
    const cJSON *tier = cJSON_GetObjectItemCaseSensitive(o, "tier");
    const cJSON *series = cJSON_GetObjectItemCaseSensitive(o, "series");
    const cJSON *spread = cJSON_GetObjectItemCaseSensitive(o, "spread"), *e;
    h->tier = cJSON_IsString(tier) ? tier->valuestring : NULL;
    h->step = num(o, "step");
    h->t0 = num(o, "t0");
    h->n = num(o, "n");
    h->tier_step = num(o, "tier_step");
    h->w = (int)num(o, "w");
    h->stats = (int)num(o, "stats");
    h->packed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "packed"));
    h->rec = (int)num(o, "rec");
    if (!h->tier || h->step <= 0 || h->tier_step <= 0 || h->step % h->tier_step || h->n < 0 ||
        h->t0 < 0 || (h->w != 1 && h->w != 2) || (h->stats != 1 && h->stats != 3) ||
        h->rec != MC_SERIES * (h->packed ? 2 : h->stats) * h->w ||
        cJSON_GetArraySize(spread) != MC_SPREAD || !cJSON_IsArray(series) ||
        cJSON_GetArraySize(series) > MC_SERIES)
        return VG_ERR;
    h->per = (int)(h->step / h->tier_step);
    int i = 0;
    cJSON_ArrayForEach(e, spread) h->spread[i++] = e->valueint;
    cJSON_ArrayForEach(e, series)
    {
        const cJSON *name = cJSON_GetArrayItem(e, 0), *idx = cJSON_GetArrayItem(e, 1);
        if (!cJSON_IsString(name) || !cJSON_IsNumber(idx) || idx->valueint < 1 ||
            idx->valueint > MC_SERIES)
            return VG_ERR;
        h->names[h->nseries] = name->valuestring;
        h->index[h->nseries++] = idx->valueint;
    }
    return VG_OK;
}

/* Point k's {min, avg, max} codes of each series, from its per records: decoded, combined (min
 * of mins, mean of means, max of maxes) and encoded again, as met_rollup does. */
static void point(const mc_head *h, const unsigned char *recs, long long k, int out[MC_SERIES][3])
{
    const unsigned char *r = recs + (size_t)(k * h->per) * (size_t)h->rec;
    if (h->per == 1) {
        unpack(h, r, out);
        return;
    }
    double lo[MC_SERIES] = {0}, hi[MC_SERIES] = {0}, sum[MC_SERIES] = {0};
    int n[MC_SERIES] = {0};
    for (int j = 0; j < h->per; j++, r += h->rec) {
        int codes[MC_SERIES][3];
        if (!any_code(h, r))
            continue;
        unpack(h, r, codes);
        for (int s = 0; s < MC_SERIES; s++) {
            double av = decode(codes[s][1], s + 1, h->w);
            if (isnan(av))
                continue;
            double mn = decode(codes[s][0], s + 1, h->w), mx = decode(codes[s][2], s + 1, h->w);
            lo[s] = n[s] && lo[s] < mn ? lo[s] : mn;
            hi[s] = n[s] && hi[s] > mx ? hi[s] : mx;
            sum[s] = (n[s] ? sum[s] : 0) + av;
            n[s]++;
        }
    }
    for (int s = 0; s < MC_SERIES; s++) {
        out[s][0] = n[s] ? encode(lo[s], s + 1, h->w) : 0;
        out[s][1] = n[s] ? encode(sum[s] / n[s], s + 1, h->w) : 0;
        out[s][2] = n[s] ? encode(hi[s], s + 1, h->w) : 0;
    }
}

char *gw_metcodec_answer(const cJSON *head, const unsigned char *recs, size_t len, vg_err *err)
{
    mc_head h;
    if (read_head(head, &h) != VG_OK || len != (size_t)h.n * (size_t)h.per * (size_t)h.rec) {
        vg_fail(err, VG_E_INTERNAL, "metrics records do not match their description");
        return NULL;
    }
    int(*codes)[MC_SERIES][3] = h.n ? malloc((size_t)h.n * sizeof(*codes)) : NULL;
    if (h.n && !codes) {
        vg_fail(err, VG_E_INTERNAL, "out of memory");
        return NULL;
    }
    for (long long k = 0; k < h.n; k++)
        point(&h, recs, k, codes[k]);
    size_t names = 0;
    for (int i = 0; i < h.nseries; i++)
        names += strlen(h.names[i]) + 64;
    mc_out o = {
        malloc(strlen(h.tier) + names + 128 + (size_t)h.n * MC_NUM * (1 + 3 * (size_t)h.nseries)),
        0};
    if (!o.p) {
        free(codes);
        vg_fail(err, VG_E_INTERNAL, "out of memory");
        return NULL;
    }
    o.len = (size_t)sprintf(o.p, "{\"tier\":\"%s\",\"step\":%lld,\"t\":[", h.tier, h.step);
    for (long long k = 0; k < h.n; k++) {
        if (k)
            put(&o, ",", 1);
        put_int(&o, h.t0 + k * h.step);
    }
    put(&o, "],\"series\":{", 12);
    static const char *const stat[3] = {"\"min\":[", "\"avg\":[", "\"max\":["};
    for (int i = 0; i < h.nseries; i++) {
        int s = h.index[i] - 1;
        o.len += (size_t)sprintf(o.p + o.len, "%s\"%s\":{", i ? "," : "", h.names[i]);
        for (int st = 0; st < 3; st++) {
            if (st)
                put(&o, ",", 1);
            put(&o, stat[st], 7);
            for (long long k = 0; k < h.n; k++) {
                if (k)
                    put(&o, ",", 1);
                put_code(&o, codes[k][s][st], s + 1, h.w);
            }
            put(&o, "]", 1);
        }
        put(&o, "}", 1);
    }
    put(&o, "}}", 3); /* with the terminating NUL */
    free(codes);
    return o.p;
}
