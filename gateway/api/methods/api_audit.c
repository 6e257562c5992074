/* The audit trail: query with filters and paging, export as JSON lines or CSV, purge before a
 * date (docs/api.md "Audit"). The entries are written by gateway/core/audit.c; filtering and
 * purging run in Lua next to the stream. */
#include "api/api_int.h"

#include "vg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUERY_LIMIT_DEFAULT 100
#define QUERY_LIMIT_MAX 1000
/* An export travels as one message: 2000 entries stay well below the 4 MiB a WebSocket client
 * may have queued (gateway/net/apiws.c). */
#define EXPORT_LIMIT_MAX 2000
/* Entries one call may read while filtering: bounds the time Redis spends in one script. */
#define SCAN_MAX "100000"
#define FILTER_MAX 128
#define TIME_MAX (1LL << 50)

/* The columns of CSV, also the order fields appear in every entry (gateway/core/audit.c). */
static const char *const columns[] = {"id",     "ts", "kind",    "user",   "addr",
                                      "method", "vm", "project", "result", "detail"};
#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))

static int valid_stream_id(const char *s)
{
    size_t digits = strspn(s, "0123456789");
    if (digits == 0 || digits > 20 || s[digits] != '-')
        return 0;
    size_t seq = strspn(s + digits + 1, "0123456789");
    return seq > 0 && seq <= 20 && s[digits + 1 + seq] == '\0';
}

/* The fields of audit.query and audit.export but limit and format. */
/* clang-format off */
#define FILTER_FIELDS                                                                              \
    {"from", GW_F_INT, 0, 0, TIME_MAX, NULL, "entries from this time on (ms since the epoch)"},    \
    {"to", GW_F_INT, 0, 0, TIME_MAX, NULL, "entries up to this time (ms since the epoch)"},        \
    {"kind", GW_F_STRING, 0, 0, FILTER_MAX, NULL, "login, api, console, purge or notice"},         \
    {"user", GW_F_STRING, 0, 0, FILTER_MAX, NULL, "the user who acted"},                           \
    {"vm", GW_F_STRING, 0, 0, FILTER_MAX, NULL, "the VM acted on"},                                \
    {"addr", GW_F_STRING, 0, 0, FILTER_MAX, NULL, "the client address"},                           \
    {"result", GW_F_STRING, 0, 0, FILTER_MAX, NULL, "ok, an error code, or error (not ok)"},       \
    {"cursor", GW_F_STRING, 0, 0, 48, NULL, "the next_cursor of the previous answer"},             \
    {"order", GW_F_ENUM, 0, 0, 0, "asc|desc", "asc: oldest first (the default)"}
/* clang-format on */

static const gw_field query_params[] = {
    FILTER_FIELDS,
    {"limit", GW_F_INT, 0, 1, QUERY_LIMIT_MAX, NULL, "entries per page (default 100)"},
    {NULL},
};

static const gw_field export_params[] = {
    FILTER_FIELDS,
    {"limit", GW_F_INT, 0, 1, EXPORT_LIMIT_MAX, NULL, "entries (default 2000)"},
    {"format", GW_F_ENUM, GW_F_REQUIRED, 0, 0, "jsonl|csv", "JSON lines or CSV"},
    {NULL},
};

static int check_cursor(const cJSON *params, vg_err *err)
{
    const cJSON *cur = gw_param(params, "cursor");
    if (cur && cur->valuestring[0] && !valid_stream_id(cur->valuestring))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "\"cursor\" must be the next_cursor of a previous answer");
    return VG_OK;
}

/* ---- answers ---- */

static cJSON *entry_json(const redisReply *e)
{
    cJSON *o = cJSON_CreateObject();
    const redisReply *f = e->type == REDIS_REPLY_ARRAY && e->elements == 2 ? e->element[1] : NULL;
    if (!o || !f || f->type != REDIS_REPLY_ARRAY) {
        cJSON_Delete(o);
        return NULL;
    }
    cJSON_AddStringToObject(o, "id", gw_reply_str(e, 0));
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const char *k = gw_reply_str(f, i);
        if (!strcmp(k, "ts"))
            cJSON_AddNumberToObject(o, k, (double)gw_reply_int(f, i + 1));
        else
            cJSON_AddStringToObject(o, k, gw_reply_str(f, i + 1));
    }
    return o;
}

/* RFC 4180 quoting; a cell that a spreadsheet would run as a formula gets a leading '. */
static void csv_cell(FILE *f, const char *s)
{
    fputc('"', f);
    if (*s == '=' || *s == '+' || *s == '-' || *s == '@')
        fputc('\'', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_row(FILE *f, const cJSON *entry)
{
    for (size_t i = 0; i < NCOLUMNS; i++) {
        if (i)
            fputc(',', f);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(entry, columns[i]);
        if (!entry)
            fputs(columns[i], f);
        else if (cJSON_IsNumber(v))
            fprintf(f, "%.0f", v->valuedouble);
        else
            csv_cell(f, cJSON_IsString(v) ? v->valuestring : "");
    }
    fputs("\r\n", f);
}

static char *export_text(const cJSON *entries, int csv)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    if (csv)
        csv_row(f, NULL);
    int ok = 1;
    for (const cJSON *e = entries->child; ok && e; e = e->next) {
        if (csv) {
            csv_row(f, e);
            continue;
        }
        char *line = cJSON_PrintUnformatted(e);
        ok = line != NULL;
        if (ok)
            fprintf(f, "%s\n", line);
        free(line);
    }
    ok = fclose(f) == 0 && ok;
    if (!ok) {
        free(text);
        return NULL;
    }
    return text;
}

static void query_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_lua_ok(c, reply))
        return;
    const redisReply *list = reply->elements > 2 ? reply->element[2] : NULL;
    cJSON *entries = cJSON_CreateArray();
    for (size_t i = 0; entries && list && list->type == REDIS_REPLY_ARRAY && i < list->elements;
         i++)
        cJSON_AddItemToArray(entries, entry_json(list->element[i]));
    cJSON *res = cJSON_CreateObject();
    if (!res || !entries) {
        cJSON_Delete(entries);
        cJSON_Delete(res);
        gw_call_fail(c, VG_E_INTERNAL, "out of memory");
        return;
    }
    cJSON_AddStringToObject(res, "next_cursor", gw_reply_str(reply, 1));
    if (!strcmp(c->m->name, "audit.query")) {
        cJSON_AddItemToObject(res, "entries", entries);
        gw_call_succeed(c, res);
        return;
    }
    const char *format = gw_param_str(c, "format", "jsonl");
    char *text = export_text(entries, !strcmp(format, "csv"));
    cJSON_AddStringToObject(res, "format", format);
    cJSON_AddNumberToObject(res, "count", cJSON_GetArraySize(entries));
    cJSON_Delete(entries);
    if (!text) {
        cJSON_Delete(res);
        gw_call_fail(c, VG_E_INTERNAL, "out of memory");
        return;
    }
    cJSON_AddStringToObject(res, "data", text);
    free(text);
    gw_call_succeed(c, res);
}

static void run_query(gw_call *c)
{
    int export = !strcmp(c->m->name, "audit.export");
    char from[24] = "", to[24] = "", limit[24];
    if (gw_param(c->req.params, "from"))
        snprintf(from, sizeof(from), "%lld", gw_param_int(c, "from", 0));
    if (gw_param(c->req.params, "to"))
        snprintf(to, sizeof(to), "%lld", gw_param_int(c, "to", 0));
    snprintf(limit, sizeof(limit), "%lld",
             gw_param_int(c, "limit", export ? EXPORT_LIMIT_MAX : QUERY_LIMIT_DEFAULT));
    const char *argv[] = {from,
                          to,
                          gw_param_str(c, "kind", ""),
                          gw_param_str(c, "user", ""),
                          gw_param_str(c, "vm", ""),
                          gw_param_str(c, "addr", ""),
                          gw_param_str(c, "result", ""),
                          gw_param_str(c, "cursor", ""),
                          limit,
                          gw_param_str(c, "order", "asc"),
                          SCAN_MAX};
    gw_call_eval(c, "audit_query", query_cb, (int)(sizeof(argv) / sizeof(argv[0])), argv);
}

/* ---- audit.purge ---- */

static const gw_field purge_params[] = {
    {"before", GW_F_INT, GW_F_REQUIRED, 1, TIME_MAX, NULL,
     "deletes the entries older than this (ms since the epoch)"},
    GW_ADMIN_PASSWORD_FIELD,
    {NULL},
};

static void purge_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_lua_ok(c, reply))
        return;
    cJSON *res = cJSON_CreateObject();
    if (res) {
        cJSON_AddNumberToObject(res, "deleted", (double)gw_reply_int(reply, 1));
        cJSON_AddStringToObject(res, "purge_id", gw_reply_str(reply, 2));
    }
    gw_call_succeed(c, res);
}

static void run_purge(gw_call *c)
{
    char before[24], now[24];
    snprintf(before, sizeof(before), "%lld", gw_param_int(c, "before", 0));
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    const char *argv[] = {before, c->user, c->addr, now};
    gw_call_eval(c, "audit_purge", purge_cb, 4, argv);
}

const gw_method gw_api_audit_methods[] = {
    {"audit.query", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, 0, query_params, check_cursor, run_query},
    {"audit.export", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, 0, export_params, check_cursor, run_query},
    {"audit.purge", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES | GW_M_REAUTH, purge_params, NULL,
     run_purge},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};
