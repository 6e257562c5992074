#include "core/settings.h"

#include <string.h>

const gw_setting gw_settings[] = {
    {"heartbeat_ms", 100, 600000, 2000, "every hostd, within one heartbeat (pub/sub)",
     "milliseconds between a hostd's registry heartbeats (default: hostd's heartbeat_ms option)"},
    {"host_dead_after", 2, 100, 3, "every gateway's host watch, within 500 ms",
     "missed heartbeats before a host is declared down"},
    {"metrics_interval", 1, 60, 10, "every hostd, at its next round",
     "seconds between metric rounds; a divisor of 60"},
    {"metrics_raw_retention", 600, 2592000, 7200, "hostd, for buckets written from then on",
     "seconds raw metric points are kept"},
    {"metrics_m1_retention", 3600, 31536000, 604800, "hostd, for buckets written from then on",
     "seconds 1-minute rollups are kept"},
    {"metrics_h1_retention", 86400, 315360000, 34560000, "hostd, for buckets written from then on",
     "seconds 1-hour rollups are kept"},
    {"alert_console_after_ms", 1000, 3600000, 30000, "every gateway, at the next evaluation",
     "milliseconds a console may stay disconnected before console.gone fires"},
    {"alert_pool_full_pct", 50, 100, 90, "every gateway, at the next evaluation",
     "percent of a storage pool's capacity in use at which pool.full fires"},
    {"webhook_max_attempts", 1, 100, 10, "every gateway, at the next delivery",
     "attempts of a webhook delivery before it is given up"},
    {"session_ttl", 60, 2592000, 28800,
     "every gateway, for sessions renewed from then on (pub/sub)",
     "seconds a session lives without use (default: the gateway's session_ttl option)"},
    {"ticket_ttl", 1, 30, 30, "every gateway, for tickets minted from then on (pub/sub)",
     "seconds a console ticket stays valid (default: the gateway's ticket_ttl option)"},
    {"record_input", 0, 1, 0, "every gateway, for consoles attached from then on (pub/sub)",
     "1: console recordings keep what the writer typed too (asciicast \"i\" events)"},
    {NULL, 0, 0, 0, NULL, NULL},
};

const gw_setting *gw_setting_find(const char *name)
{
    for (const gw_setting *s = gw_settings; s->name; s++)
        if (!strcmp(s->name, name))
            return s;
    return NULL;
}

int gw_setting_check(const char *name, long long value, vg_err *err)
{
    const gw_setting *s = gw_setting_find(name);
    if (!s)
        return vg_fail(err, VG_E_NOT_FOUND, "unknown setting \"%.64s\"", name);
    if (value < s->min || value > s->max)
        return vg_fail(err, VG_E_BAD_REQUEST, "\"value\": %s must be %lld..%lld", name, s->min,
                       s->max);
    if (!strcmp(name, "metrics_interval") && 60 % value)
        return vg_fail(err, VG_E_BAD_REQUEST, "\"value\": metrics_interval must divide 60");
    return VG_OK;
}
