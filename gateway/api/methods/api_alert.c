/* Alerts and webhooks (docs/api.md "Alerts", docs/monitoring.md "Alerts"): the alerts a caller
 * may see, the threshold rules and the webhooks administrators define. Evaluation and delivery
 * run on their own (backend/alerts.c, backend/webhook.c); these methods only read and change
 * what they work from, each with one Lua script. */
#include "api/api_json.h"

#include "vg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THRESHOLD_MAX 1000000000000000LL
#define FOR_MAX 86400
#define RULE_NAMES_MAX 100
#define URL_MAX 512

static const char *const arrays[] = {"alerts", "recent", "rules", "names", "webhooks", NULL};

static void json_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call_answer_json(priv, reply, arrays);
}

static void eval_json(gw_call *c, const char *script, const char *op, const char *name,
                      const char *json)
{
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    const char *argv[] = {op, name, json, now};
    gw_call_eval(c, script, json_cb, 4, argv);
}

/* params.<field> as compact JSON text ("[]" when absent); NULL after ending the call. */
static char *names_json(gw_call *c, const char *field)
{
    const cJSON *v = gw_param(c->req.params, field);
    char *s = v ? cJSON_PrintUnformatted(v) : strdup("[]");
    if (!s)
        gw_call_fail(c, VG_E_INTERNAL, "out of memory");
    return s;
}

/* ---- alert.list ---- */

static const gw_field list_params[] = {
    {"recent", GW_F_INT, 0, 0, 1000, NULL, "how many past transitions (default 50)"},
    {NULL},
};

static void run_list(gw_call *c)
{
    char limit[24];
    snprintf(limit, sizeof(limit), "%lld", gw_param_int(c, "recent", 50));
    const char *argv[] = {c->user, strcmp(c->role, "admin") == 0 ? "1" : "0", limit};
    gw_call_eval(c, "alert_list", json_cb, 3, argv);
}

/* ---- alert.rule.* ---- */

static const gw_field rule_create_params[] = {
    {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the rule (and its alerts') name"},
    {"target", GW_F_ENUM, GW_F_REQUIRED, 0, 0, "vm|host", "watches VMs or hosts"},
    {"metric", GW_F_ENUM, GW_F_REQUIRED, 0, 0,
     "cpu_pct|mem_pct|disk_rd_bps|disk_wr_bps|disk_rd_iops|disk_wr_iops|net_rx_bps|net_tx_bps|"
     "disk_bps|net_bps|load1|load5|load15",
     "a field of the targets' latest metrics (metrics.latest)"},
    {"op", GW_F_ENUM, GW_F_REQUIRED, 0, 0, ">|>=|<|<=", "how the value compares to threshold"},
    {"threshold", GW_F_INT, GW_F_REQUIRED, -THRESHOLD_MAX, THRESHOLD_MAX, NULL,
     "the value's limit"},
    {"for_s", GW_F_INT, 0, 0, FOR_MAX, NULL,
     "seconds the condition must hold before the alert fires (default 0)"},
    {"names", GW_F_NAMES, 0, 0, RULE_NAMES_MAX, NULL, "only these VMs or hosts (default: all)"},
    {NULL},
};

static const char *const host_metrics[] = {"cpu_pct", "mem_pct", "disk_bps", "net_bps",
                                           "load1",   "load5",   "load15",   NULL};

static int rule_check(const cJSON *params, vg_err *err)
{
    const char *target = cJSON_GetObjectItemCaseSensitive(params, "target")->valuestring;
    const char *metric = cJSON_GetObjectItemCaseSensitive(params, "metric")->valuestring;
    int on_host = 0, both = !strcmp(metric, "cpu_pct") || !strcmp(metric, "mem_pct");
    for (const char *const *m = host_metrics; *m; m++)
        on_host |= !strcmp(*m, metric);
    if (!both && on_host != !strcmp(target, "host"))
        return vg_fail(err, VG_E_BAD_REQUEST, "metric: %s is not a metric of a %s", metric, target);
    return VG_OK;
}

static void run_rule_create(gw_call *c)
{
    char *names = names_json(c, "names");
    if (!names)
        return;
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "name", gw_param_str(c, "name", ""));
    cJSON_AddStringToObject(r, "target", gw_param_str(c, "target", ""));
    cJSON_AddStringToObject(r, "metric", gw_param_str(c, "metric", ""));
    cJSON_AddStringToObject(r, "op", gw_param_str(c, "op", ""));
    cJSON_AddNumberToObject(r, "threshold", (double)gw_param_int(c, "threshold", 0));
    cJSON_AddNumberToObject(r, "for_s", (double)gw_param_int(c, "for_s", 0));
    cJSON_AddRawToObject(r, "names", names);
    free(names);
    char *json = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    if (!json) {
        gw_call_fail(c, VG_E_INTERNAL, "out of memory");
        return;
    }
    eval_json(c, "alert_rule", "create", gw_param_str(c, "name", ""), json);
    free(json);
}

static const gw_field name_params[] = {
    {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "its name"},
    {NULL},
};

static void run_rule_list(gw_call *c)
{
    eval_json(c, "alert_rule", "list", "", "");
}

static void run_rule_delete(gw_call *c)
{
    eval_json(c, "alert_rule", "delete", gw_param_str(c, "name", ""), "");
}

/* ---- webhook.* ---- */

static const gw_field webhook_create_params[] = {
    {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the webhook's name"},
    {"url", GW_F_STRING, GW_F_REQUIRED, 8, URL_MAX, NULL, "http:// or https:// URL to POST to"},
    {"secret", GW_F_STRING, GW_F_REQUIRED, 16, 256, NULL,
     "key of the HMAC-SHA256 signature (at least 16 characters)"},
    {"alerts", GW_F_NAMES, 0, 0, RULE_NAMES_MAX, NULL,
     "only the alerts of these rules (default: every alert)"},
    {NULL},
};

/* http[s]://host[:port][/path] with a host and nothing a request line could not carry. */
static int webhook_check(const cJSON *params, vg_err *err)
{
    const char *url = cJSON_GetObjectItemCaseSensitive(params, "url")->valuestring;
    const char *rest = !strncmp(url, "http://", 7)    ? url + 7
                       : !strncmp(url, "https://", 8) ? url + 8
                                                      : NULL;
    if (!rest)
        return vg_fail(err, VG_E_BAD_REQUEST, "url: must begin with http:// or https://");
    if (!*rest || *rest == '/' || *rest == ':')
        return vg_fail(err, VG_E_BAD_REQUEST, "url: names no host");
    for (const char *p = url; *p; p++)
        if (*p <= ' ' || *p == 0x7f || *p == '#' || *p == '@')
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "url: no spaces, control characters, fragment or user part");
    return VG_OK;
}

static void run_webhook_create(gw_call *c)
{
    char *alerts = names_json(c, "alerts");
    if (!alerts)
        return;
    cJSON *w = cJSON_CreateObject();
    cJSON_AddStringToObject(w, "name", gw_param_str(c, "name", ""));
    cJSON_AddStringToObject(w, "url", gw_param_str(c, "url", ""));
    cJSON_AddStringToObject(w, "secret", gw_param_str(c, "secret", ""));
    cJSON_AddRawToObject(w, "alerts", alerts);
    free(alerts);
    char *json = cJSON_PrintUnformatted(w);
    cJSON_Delete(w);
    if (!json) {
        gw_call_fail(c, VG_E_INTERNAL, "out of memory");
        return;
    }
    eval_json(c, "webhook", "create", gw_param_str(c, "name", ""), json);
    free(json);
}

static void run_webhook_list(gw_call *c)
{
    eval_json(c, "webhook", "list", "", "");
}

static void run_webhook_delete(gw_call *c)
{
    eval_json(c, "webhook", "delete", gw_param_str(c, "name", ""), "");
}

const gw_method gw_api_alert_methods[] = {
    {"alert.list", GW_SCOPE_ANY, GW_LEVEL_VIEWER, 0, list_params, NULL, run_list},
    {"alert.rule.list", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, 0, gw_no_fields, NULL, run_rule_list},
    {"alert.rule.create", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, rule_create_params,
     rule_check, run_rule_create},
    {"alert.rule.delete", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, name_params, NULL,
     run_rule_delete},
    {"webhook.list", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, 0, gw_no_fields, NULL, run_webhook_list},
    {"webhook.create", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, webhook_create_params,
     webhook_check, run_webhook_create},
    {"webhook.delete", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, name_params, NULL,
     run_webhook_delete},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};
