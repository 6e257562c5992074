#include "core/prom.h"

#include "api/api_int.h"
#include "backend/hostmux.h"
#include "backend/linktls.h"
#include "console/console.h"
#include "core/apistats.h"
#include "core/relaystats.h"
#include "gateway.h"
#include "vg_redis.h"
#include "vg_json.h"
#include "vg_log.h"
#include "vg_util.h"

#include <ev.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROM_REFRESH_S 10.0
/* The VM and host gauges walk every VM of the registry (gateway_metrics_latest.lua: 2-3 s of
 * Redis at 100,000 VMs, during which it serves no one, on every gateway every 10 s), so they are
 * read only while /metrics is scraped: from the first scrape after a quiet spell (answered with
 * the last gauges, or none) until this long after the last. */
#define PROM_IDLE_MS (5 * 60 * 1000)

int gw_prom_printf(char **out, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *b = n >= 0 ? realloc(*out, *len + (size_t)n + 1) : NULL;
    if (!b)
        return VG_ERR;
    va_start(ap, fmt);
    vsnprintf(b + *len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    *out = b;
    *len += (size_t)n;
    return VG_OK;
}

int gw_prom_render(char **out, size_t *len)
{
    int rc = gw_prom_printf(out, len,
                            "# HELP vmgate_api_calls_total API calls by method and result.\n"
                            "# TYPE vmgate_api_calls_total counter\n");
    const gw_method *m = NULL;
    for (size_t i = 0; rc == VG_OK && i <= GW_APISTATS_METHODS; i++) {
        if (i > 0 && !(m = gw_api_next(m)))
            break;
        const gw_apistats *s = gw_apistats_get(i);
        for (int c = 0; rc == VG_OK && c < GW_APISTATS_CODES; c++)
            if (s->calls[c])
                rc = gw_prom_printf(out, len,
                                    "vmgate_api_calls_total{method=\"%s\",result=\"%s\"} %llu\n",
                                    i ? m->name : "other",
                                    c ? vg_err_code_name((vg_err_code)c) : "ok", s->calls[c]);
    }
    if (rc == VG_OK)
        rc = gw_prom_printf(out, len,
                            "# HELP vmgate_api_call_seconds Time from request to answer.\n"
                            "# TYPE vmgate_api_call_seconds histogram\n");
    m = NULL;
    for (size_t i = 0; rc == VG_OK && i <= GW_APISTATS_METHODS; i++) {
        if (i > 0 && !(m = gw_api_next(m)))
            break;
        const gw_apistats *s = gw_apistats_get(i);
        const char *name = i ? m->name : "other";
        if (!s->count)
            continue;
        for (size_t b = 0; rc == VG_OK && b < GW_APISTATS_BOUNDS; b++)
            rc = gw_prom_printf(out, len,
                                "vmgate_api_call_seconds_bucket{method=\"%s\",le=\"%g\"} %llu\n",
                                name, gw_apistats_bounds[b], s->le[b]);
        if (rc == VG_OK)
            rc = gw_prom_printf(out, len,
                                "vmgate_api_call_seconds_bucket{method=\"%s\",le=\"+Inf\"} %llu\n"
                                "vmgate_api_call_seconds_sum{method=\"%s\"} %.6f\n"
                                "vmgate_api_call_seconds_count{method=\"%s\"} %llu\n",
                                name, s->count, name, s->sum, name, s->count);
    }
    return rc;
}

/* ---- gauges of VMs and hosts, from the metrics store ---- */

static ev_timer refresh;
static char *gauges[2]; /* rendered vm and host gauges */
static int refreshing;  /* the gateway is running: replies may still be stored */
static int64_t last_scrape_ms;

typedef struct gauge_def {
    const char *field, *name, *help;
} gauge_def;

static const gauge_def vm_gauges[] = {
    {"cpu_pct", "vmgate_vm_cpu_percent", "CPU used by the VM, percent of its vCPUs."},
    {"mem_pct", "vmgate_vm_memory_percent", "Memory used by the guest, percent."},
    {"mem_used_bytes", "vmgate_vm_memory_used_bytes", "Memory used by the guest."},
    {"disk_rd_bps", "vmgate_vm_disk_read_bytes_per_second", "Disk bytes read per second."},
    {"disk_wr_bps", "vmgate_vm_disk_write_bytes_per_second", "Disk bytes written per second."},
    {"disk_rd_iops", "vmgate_vm_disk_read_iops", "Disk read requests per second."},
    {"disk_wr_iops", "vmgate_vm_disk_write_iops", "Disk write requests per second."},
    {"net_rx_bps", "vmgate_vm_network_receive_bytes_per_second", "Bytes received per second."},
    {"net_tx_bps", "vmgate_vm_network_transmit_bytes_per_second", "Bytes sent per second."},
    {NULL, NULL, NULL},
};

static const gauge_def host_gauges[] = {
    {"cpu_pct", "vmgate_host_cpu_percent", "CPU used on the host, percent."},
    {"mem_pct", "vmgate_host_memory_percent", "Memory used on the host, percent."},
    {"load1", "vmgate_host_load1", "One-minute load average."},
    {"disk_bps", "vmgate_host_disk_bytes_per_second", "Disk bytes read and written per second."},
    {"net_bps", "vmgate_host_network_bytes_per_second", "Network bytes per second."},
    {"vms_running", "vmgate_host_vms_running", "VMs running on the host."},
    {"vms_shutoff", "vmgate_host_vms_shutoff", "VMs defined and shut off on the host."},
    {NULL, NULL, NULL},
};

/* A label value as the exposition format escapes it (names are [A-Za-z0-9._-] anyway). */
static const char *label(const cJSON *o, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);
    return cJSON_IsString(v) && vg_valid_name(v->valuestring) ? v->valuestring : "";
}

static char *render_gauges(const cJSON *targets, int vm)
{
    char *out = NULL;
    size_t len = 0;
    int rc = gw_prom_printf(&out, &len, "%s", "");
    for (const gauge_def *d = vm ? vm_gauges : host_gauges; rc == VG_OK && d->field; d++) {
        rc = gw_prom_printf(&out, &len, "# HELP %s %s\n# TYPE %s gauge\n", d->name, d->help,
                            d->name);
        const cJSON *t;
        cJSON_ArrayForEach(t, targets)
        {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(t, d->field);
            if (rc != VG_OK || !cJSON_IsNumber(v))
                continue;
            if (vm)
                rc = gw_prom_printf(&out, &len, "%s{vm=\"%s\",project=\"%s\",host=\"%s\"} %.17g\n",
                                    d->name, label(t, "name"), label(t, "project"),
                                    label(t, "host"), v->valuedouble);
            else
                rc = gw_prom_printf(&out, &len, "%s{host=\"%s\"} %.17g\n", d->name,
                                    label(t, "name"), v->valuedouble);
        }
    }
    if (rc != VG_OK) {
        free(out);
        return NULL;
    }
    return out;
}

static void latest_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    int vm = priv != NULL;
    if (!refreshing || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[1]->type != REDIS_REPLY_STRING)
        return;
    cJSON *o = vg_json_parse(reply->element[1]->str, reply->element[1]->len, NULL);
    char *text = o ? render_gauges(cJSON_GetObjectItemCaseSensitive(o, "targets"), vm) : NULL;
    cJSON_Delete(o);
    if (text) {
        free(gauges[vm]);
        gauges[vm] = text;
    }
}

static void on_refresh(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)revents;
    gw *g = w->data;
    if (vg_mono_ms() - last_scrape_ms > PROM_IDLE_MS) {
        ev_timer_stop(l, w);
        return;
    }
    const char *vm_argv[] = {"", "1", "vm", ""};
    const char *host_argv[] = {"", "1", "host", ""};
    vg_redis_eval(g->redis, gw_lua(g, "metrics_latest"), latest_cb, (void *)1, 0, 4, vm_argv, NULL);
    vg_redis_eval(g->redis, gw_lua(g, "metrics_latest"), latest_cb, NULL, 0, 4, host_argv, NULL);
}

void gw_prom_start(gw *g)
{
    refreshing = 1;
    ev_init(&refresh, on_refresh);
    refresh.data = g;
}

void gw_prom_stop(gw *g)
{
    refreshing = 0;
    ev_timer_stop(g->loop, &refresh);
    free(gauges[0]);
    free(gauges[1]);
    gauges[0] = gauges[1] = NULL;
}

/* The relay's and the connections' own figures: gauges counted when scraped, counters kept
 * where the event happens (core/relaystats.h, vg_redis_totals). */
static int render_gateway(gw *g, char **out, size_t *len)
{
    gw_console_census cs;
    gw_console_count(g, &cs);
    int rc = gw_prom_printf(
        out, len,
        "# HELP vmgate_gateway_console_connections Open browser console WebSockets.\n"
        "# TYPE vmgate_gateway_console_connections gauge\n"
        "vmgate_gateway_console_connections %lu\n"
        "# HELP vmgate_gateway_api_websockets Open API WebSockets.\n"
        "# TYPE vmgate_gateway_api_websockets gauge\n"
        "vmgate_gateway_api_websockets %lu\n"
        "# HELP vmgate_gateway_viewers Console viewers by state.\n"
        "# TYPE vmgate_gateway_viewers gauge\n",
        cs.browsers, gw_relay.api_websockets);
    for (int i = 0; rc == VG_OK && i < GW_VIEWER_STATES; i++)
        rc = gw_prom_printf(out, len, "vmgate_gateway_viewers{state=\"%s\"} %lu\n",
                            gw_viewer_state_names[i], cs.by_state[i]);
    if (rc == VG_OK)
        rc = gw_prom_printf(out, len,
                            "# HELP vmgate_gateway_hostd_links Console channels open to hostd, by "
                            "host (one per console viewed; they share the host's link).\n"
                            "# TYPE vmgate_gateway_hostd_links gauge\n");
    for (size_t i = 0; rc == VG_OK && i < cs.nhosts; i++)
        if (vg_valid_name(cs.hosts[i].host))
            rc = gw_prom_printf(out, len, "vmgate_gateway_hostd_links{host=\"%s\"} %lu\n",
                                cs.hosts[i].host, cs.hosts[i].links);
    if (rc == VG_OK && cs.other_links)
        rc = gw_prom_printf(out, len, "vmgate_gateway_hostd_links{host=\"other\"} %lu\n",
                            cs.other_links);
    if (rc == VG_OK)
        rc = gw_prom_printf(
            out, len,
            "# HELP vmgate_gateway_hostd_links_paused Console channels granted no credit while "
            "every viewer of the console is more than half a ring behind.\n"
            "# TYPE vmgate_gateway_hostd_links_paused gauge\n"
            "vmgate_gateway_hostd_links_paused %lu\n"
            "# HELP vmgate_gateway_hostd_connections Links to hostd that are up (one per host "
            "the gateway talks to, carrying its channels and calls).\n"
            "# TYPE vmgate_gateway_hostd_connections gauge\n"
            "vmgate_gateway_hostd_connections %u\n"
            "# HELP vmgate_gateway_link_output_bytes_total Console output read from hostd "
            "(OUTPUT and GAP frames).\n"
            "# TYPE vmgate_gateway_link_output_bytes_total counter\n"
            "vmgate_gateway_link_output_bytes_total %llu\n"
            "# HELP vmgate_gateway_link_handshakes_total TLS handshakes of the links to hostd, "
            "full or resumed (a session of the same hostd).\n"
            "# TYPE vmgate_gateway_link_handshakes_total counter\n"
            "vmgate_gateway_link_handshakes_total{kind=\"full\"} %llu\n"
            "vmgate_gateway_link_handshakes_total{kind=\"resumed\"} %llu\n",
            cs.paused_links, gw_hostmux_up_count(), gw_relay.link_output_bytes,
            gw_linktls_handshakes.full, gw_linktls_handshakes.resumed);
    if (rc == VG_OK)
        rc = gw_prom_printf(
            out, len,
            "# HELP vmgate_gateway_relayed_bytes_total Console bytes relayed, by direction.\n"
            "# TYPE vmgate_gateway_relayed_bytes_total counter\n"
            "vmgate_gateway_relayed_bytes_total{to=\"browser\"} %llu\n"
            "vmgate_gateway_relayed_bytes_total{to=\"hostd\"} %llu\n"
            "# HELP vmgate_gateway_relayed_messages_total Console messages relayed, by "
            "direction.\n"
            "# TYPE vmgate_gateway_relayed_messages_total counter\n"
            "vmgate_gateway_relayed_messages_total{to=\"browser\"} %llu\n"
            "vmgate_gateway_relayed_messages_total{to=\"hostd\"} %llu\n"
            "# HELP vmgate_redis_replies_total Redis round trips (commands answered or lost).\n"
            "# TYPE vmgate_redis_replies_total counter\n"
            "vmgate_redis_replies_total %llu\n"
            "# HELP vmgate_redis_errors_total Redis commands answered with an error or lost.\n"
            "# TYPE vmgate_redis_errors_total counter\n"
            "vmgate_redis_errors_total %llu\n"
            "# HELP vmgate_redis_up 1 while the command connection to Redis exists.\n"
            "# TYPE vmgate_redis_up gauge\n"
            "vmgate_redis_up %d\n",
            gw_relay.browser_bytes, gw_relay.hostd_bytes, gw_relay.browser_msgs,
            gw_relay.hostd_msgs, vg_redis_totals.replies, vg_redis_totals.errors,
            g->redis ? vg_redis_up(g->redis) : 0);
    return rc;
}

char *gw_prom_text(gw *g)
{
    last_scrape_ms = vg_mono_ms();
    if (refreshing && !ev_is_active(&refresh)) {
        ev_timer_set(&refresh, 0., PROM_REFRESH_S);
        ev_timer_start(g->loop, &refresh);
    }
    char *out = NULL;
    size_t len = 0;
    int rc = gw_prom_render(&out, &len);
    if (rc == VG_OK)
        rc = render_gateway(g, &out, &len);
    if (rc == VG_OK)
        rc = gw_prom_printf(&out, &len, "%s%s", gauges[1] ? gauges[1] : "",
                            gauges[0] ? gauges[0] : "");
    if (rc != VG_OK) {
        free(out);
        return NULL;
    }
    return out;
}
