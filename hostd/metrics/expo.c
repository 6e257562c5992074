#include "metrics/expo.h"

#include "libvirt/worker.h"
#include "link/endpoint.h"
#include "metrics/collect.h"
#include "metrics/hdstats.h"
#include "vg_bindaddr.h"
#include "vg_log.h"
#include "vg_redis.h"
#include "vg_util.h"
#include "vg_xbuf.h"

#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#define EXPO_CHUNK 8192

typedef struct expo_pss {
    char *text; /* the answer being written */
    size_t len, off;
} expo_pss;

static const expo_config *cfg;

/* HELP and TYPE of a metric (vg_xbuf_putf takes lines, not pages). */
static void head(vg_xbuf *b, const char *name, const char *type, const char *help)
{
    vg_xbuf_putf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void gauge(vg_xbuf *b, const char *name, const char *help, double v)
{
    head(b, name, "gauge", help);
    vg_xbuf_putf(b, "%s %.17g\n", name, v);
}

static void counter(vg_xbuf *b, const char *name, const char *help, unsigned long long v)
{
    head(b, name, "counter", help);
    vg_xbuf_putf(b, "%s %llu\n", name, v);
}

static void pool_gauge(vg_xbuf *b, const char *name, const char *help, const char *field)
{
    head(b, name, "gauge", help);
    const cJSON *p;
    cJSON_ArrayForEach(p, hd_metrics_pools())
    {
        const char *pool = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "name"));
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, field);
        /* Pool names from libvirt: only those that need no escaping in a label. */
        if (pool && vg_valid_name(pool) && cJSON_IsNumber(v))
            vg_xbuf_putf(b, "%s{pool=\"%s\"} %.17g\n", name, pool, v->valuedouble);
    }
}

char *hd_expo_text(void)
{
    vg_xbuf b = {0};
    int viewers, api;
    hd_link_census(&viewers, &api);
    head(&b, "vmgate_hostd_info", "gauge", "This hostd's host id and version.");
    vg_xbuf_putf(&b, "vmgate_hostd_info{host=\"%s\",version=\"%s\"} 1\n", cfg->host_id, VG_VERSION);
    gauge(&b, "vmgate_hostd_consoles", "Consoles of managed VMs hostd knows.",
          (double)hd_stat.consoles);
    gauge(&b, "vmgate_hostd_consoles_held", "Consoles whose socket hostd holds.",
          (double)hd_stat.consoles_held);
    counter(&b, "vmgate_hostd_console_read_bytes_total", "Console output bytes put in the rings.",
            hd_stat.console_bytes);
    gauge(&b, "vmgate_hostd_link_connections", "Open connections of the link endpoint.",
          hd_link_count());
    gauge(&b, "vmgate_hostd_viewers", "Console viewers attached over the link.", viewers);
    gauge(&b, "vmgate_hostd_api_links",
          "Management connections: /link/api, and /link/mux (a gateway's one link, calls and "
          "channels).",
          api);
    gauge(&b, "vmgate_hostd_workers", "libvirt worker processes running.", hd_worker_count());
    counter(&b, "vmgate_hostd_libvirt_errors_total", "Errors libvirt reported to hostd.",
            hd_stat.libvirt_errors);
    counter(&b, "vmgate_hostd_collection_failures_total", "Metric rounds that failed.",
            hd_stat.rounds_failed);
    head(&b, "vmgate_hostd_collection_cpu_seconds_total", "counter",
         "hostd CPU spent on metric rounds (the libvirt worker's not included).");
    vg_xbuf_putf(&b, "vmgate_hostd_collection_cpu_seconds_total %.6f\n", hd_stat.round_cpu_seconds);
    head(&b, "vmgate_hostd_collection_round_seconds", "histogram",
         "Metric rounds, from the timer to Redis's answer.");
    for (int i = 0; i < HD_ROUND_BOUNDS; i++)
        vg_xbuf_putf(&b, "vmgate_hostd_collection_round_seconds_bucket{le=\"%g\"} %llu\n",
                     hd_round_bounds[i], hd_stat.round_le[i]);
    vg_xbuf_putf(&b,
                 "vmgate_hostd_collection_round_seconds_bucket{le=\"+Inf\"} %llu\n"
                 "vmgate_hostd_collection_round_seconds_sum %.6f\n"
                 "vmgate_hostd_collection_round_seconds_count %llu\n",
                 hd_stat.rounds, hd_stat.round_seconds_sum, hd_stat.rounds);
    counter(&b, "vmgate_redis_replies_total", "Redis round trips (commands answered or lost).",
            vg_redis_totals.replies);
    counter(&b, "vmgate_redis_errors_total", "Redis commands answered with an error or lost.",
            vg_redis_totals.errors);
    pool_gauge(&b, "vmgate_hostd_pool_capacity_bytes", "Size of an active storage pool.",
               "capacity");
    pool_gauge(&b, "vmgate_hostd_pool_allocation_bytes",
               "Bytes allocated to the volumes of a storage pool.", "allocation");
    pool_gauge(&b, "vmgate_hostd_pool_available_bytes", "Free bytes of a storage pool.",
               "available");
    vg_err err;
    return vg_xbuf_finish(&b, &err);
}

/* "Bearer <token>" with the configured token, compared in constant time. */
static int authorized(struct lws *wsi)
{
    char buf[256];
    int n = lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_AUTHORIZATION);
    return n > 7 && !strncmp(buf, "Bearer ", 7) && vg_const_eq(buf + 7, cfg->token);
}

static int refuse(struct lws *wsi, unsigned status)
{
    lws_return_http_status(wsi, status, NULL);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int answer(struct lws *wsi, expo_pss *pss)
{
    char uri[64] = "";
    if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0)
        return refuse(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED);
    if (strcmp(uri, "/metrics") != 0)
        return refuse(wsi, HTTP_STATUS_NOT_FOUND);
    if (!authorized(wsi)) {
        char addr[64] = "";
        lws_get_peer_simple(wsi, addr, sizeof(addr));
        vg_info("metrics", "refused /metrics from %s", addr);
        return refuse(wsi, HTTP_STATUS_UNAUTHORIZED);
    }
    free(pss->text);
    pss->text = hd_expo_text();
    if (!pss->text)
        return refuse(wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR);
    pss->len = strlen(pss->text);
    pss->off = 0;
    unsigned char buf[LWS_PRE + 256], *start = buf + LWS_PRE, *p = start,
                                      *end = buf + sizeof(buf) - 1;
    if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "text/plain; version=0.0.4",
                                    (lws_filepos_t)pss->len, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int write_more(struct lws *wsi, expo_pss *pss)
{
    if (!pss->text)
        return 0;
    static unsigned char buf[LWS_PRE + EXPO_CHUNK];
    size_t n = pss->len - pss->off < EXPO_CHUNK ? pss->len - pss->off : EXPO_CHUNK;
    memcpy(buf + LWS_PRE, pss->text + pss->off, n);
    pss->off += n;
    int last = pss->off == pss->len;
    if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
        return -1;
    if (!last) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    free(pss->text);
    pss->text = NULL;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    (void)in;
    (void)len;
    expo_pss *pss = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return answer(wsi, pss);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return write_more(wsi, pss);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (pss) {
            free(pss->text);
            pss->text = NULL;
        }
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {"http", callback, sizeof(expo_pss), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

int hd_expo_start(const expo_config *c, vg_err *err)
{
    struct sockaddr_storage want, got;
    if (vg_bindaddr_parse(c->bind, c->port, &want, err) != VG_OK)
        return VG_ERR;
    struct lws_context *ctx = hd_link_context();
    if (!ctx)
        return vg_fail(err, VG_E_INTERNAL, "the metrics listener needs the link's context");
    cfg = c;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.vhost_name = "metrics";
    info.port = c->port;
    info.iface = c->bind;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
    if (want.ss_family == AF_INET)
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    else
        info.options |= LWS_SERVER_OPTION_IPV6_V6ONLY_MODIFY | LWS_SERVER_OPTION_IPV6_V6ONLY_VALUE;
    if (c->tls_cert && c->tls_key) {
        /* lws gives a vhost TLS only with this option, even when the context has it already. */
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = c->tls_cert;
        info.ssl_private_key_filepath = c->tls_key;
    }
    info.timeout_secs = 10;
    char want_s[64], got_s[64];
    vg_bindaddr_format(&want, want_s, sizeof(want_s));
    if (!lws_create_vhost(ctx, &info))
        return vg_fail(err, VG_E_INTERNAL,
                       "cannot serve /metrics on %s (port busy, address not on this host, TLS "
                       "files?)",
                       want_s);
    if (vg_bindaddr_listeners(c->port, &got) != 1 || !vg_bindaddr_equal(&want, &got))
        return vg_fail(err, VG_E_INTERNAL, "/metrics was to listen on %s but does not", want_s);
    vg_bindaddr_format(&got, got_s, sizeof(got_s));
    vg_info("metrics", "serving /metrics on %s://%s", info.ssl_cert_filepath ? "https" : "http",
            got_s);
    return VG_OK;
}
