/* Timers (M10, docs/api.md "Timers"): start, stop or reboot a VM or an environment once, daily,
 * weekly, monthly or every N minutes, in a time zone. These methods keep the records (Lua
 * scripts); the runs are backend/timers.c's, made as API calls of the timer's owner. */
#include "api/api_json.h"

#include "core/timersched.h"
#include "vg_json.h"
#include "vg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVERY_MAX 44640 /* a month of minutes */

static const char *const arrays[] = {"timers", NULL};

/* The fields a timer is made of; create requires the first three, edit none. */
#define TIMER_FIELDS(REQ)                                                                          \
    {"action",                                                                                     \
     GW_F_ENUM,                                                                                    \
     REQ,                                                                                          \
     0,                                                                                            \
     0,                                                                                            \
     "start|stop|reboot",                                                                          \
     "what to do (stop: vm.shutdown or env.stop)"},                                                \
        {"schedule", GW_F_ENUM, REQ, 0, 0, "once|daily|weekly|monthly|every", "when it repeats"},  \
        {"vm", GW_F_NAME, 0, 0, 0, NULL, "the VM (or env)"},                                       \
        {"env", GW_F_NAME, 0, 0, 0, NULL, "the environment (or vm)"},                              \
        {"at",                                                                                     \
         GW_F_STRING,                                                                              \
         0,                                                                                        \
         5,                                                                                        \
         16,                                                                                       \
         NULL,                                                                                     \
         "local time: \"YYYY-MM-DDTHH:MM\" (once) or \"HH:MM\" (daily, weekly, monthly)"},         \
        {"weekday", GW_F_INT, 0, 0, 6, NULL, "weekly: the day, 0 = Sunday"},                       \
        {"day", GW_F_INT, 0, 1, 31, NULL, "monthly: the day (the last day in shorter months)"},    \
        {"every_min", GW_F_INT, 0, 1, EVERY_MAX, NULL, "every: the period in minutes"},            \
        {"tz", GW_F_STRING, 0, 1, 63, NULL, "an IANA time zone (default UTC)"},                    \
        {"missed",                                                                                 \
         GW_F_ENUM,                                                                                \
         0,                                                                                        \
         0,                                                                                        \
         0,                                                                                        \
         "run|skip",                                                                               \
         "an occurrence missed while no gateway ran: run it late or skip it (default skip)"},      \
    {                                                                                              \
        "paused", GW_F_BOOL, 0, 0, 0, NULL, "created paused (default false)"                       \
    }

static const gw_field create_params[] = {
    {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the timer's name"},
    TIMER_FIELDS(GW_F_REQUIRED),
    {NULL},
};

static const gw_field edit_params[] = {
    {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the timer"},
    TIMER_FIELDS(0),
    {NULL},
};

static const gw_field name_params[] = {
    {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the timer"},
    {NULL},
};

static const gw_field list_params[] = {
    {"name", GW_F_NAME, 0, 0, 0, NULL, "only this timer"},
    {NULL},
};

static const gw_field pause_params[] = {
    {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the timer"},
    {"paused", GW_F_BOOL, GW_F_REQUIRED, 0, 0, NULL, "true pauses it, false resumes it"},
    {NULL},
};

/* The whole timer checked: exactly one of vm and env, and a schedule that parses. */
static int check_timer(const cJSON *t, vg_err *err)
{
    int vm = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(t, "vm"));
    int env = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(t, "env"));
    if (vm == env)
        return vg_fail(err, VG_E_BAD_REQUEST, "exactly one of \"vm\" and \"env\" is required");
    gw_sched s;
    return gw_sched_parse(t, &s, err);
}

static int check_create(const cJSON *params, vg_err *err)
{
    return check_timer(params, err);
}

/* next_ms of every timer, computed here because it needs the time-zone database. */
static void add_next(cJSON *res)
{
    int64_t now = vg_now_ms();
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(res, "timers"))
    {
        gw_sched s;
        vg_err err;
        int64_t next = -1;
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "paused")) &&
            gw_sched_parse(t, &s, &err) == VG_OK)
            next = gw_sched_next(&s, now);
        cJSON_AddItemToObject((cJSON *)t, "next_ms",
                              next < 0 ? cJSON_CreateNull() : cJSON_CreateNumber((double)next));
    }
}

static void list_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_lua_ok(c, reply))
        return;
    cJSON *res = gw_call_json(c, reply, arrays);
    if (!res)
        return;
    add_next(res);
    gw_call_succeed(c, res);
}

static void list(gw_call *c, const char *name)
{
    const char *argv[] = {name};
    gw_call_eval(c, "timer_list", list_cb, 1, argv);
}

static void run_list(gw_call *c)
{
    list(c, gw_param_str(c, "name", ""));
}

/* create and edit answer with the timer as timer.list shows it. */
static void one_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_lua_ok(c, reply))
        return;
    cJSON *res = gw_call_json(c, reply, arrays);
    if (!res)
        return;
    add_next(res);
    cJSON *t = cJSON_DetachItemFromArray(cJSON_GetObjectItemCaseSensitive(res, "timers"), 0);
    cJSON_Delete(res);
    gw_call_succeed(c, t);
}

static void saved_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_lua_ok(c, reply))
        return;
    const char *argv[] = {gw_param_str(c, "name", "")};
    gw_call_eval(c, "timer_list", one_cb, 1, argv);
}

static void save(gw_call *c, const char *op, cJSON *t)
{
    char *text = cJSON_PrintUnformatted(t);
    if (!text) {
        gw_call_fail(c, VG_E_INTERNAL, "out of memory");
        return;
    }
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    const char *argv[] = {op, gw_param_str(c, "name", ""), text, now};
    gw_call_eval(c, "timer_save", saved_cb, 4, argv);
    free(text);
}

static void run_create(gw_call *c)
{
    cJSON *t = cJSON_Duplicate(c->req.params, 1);
    if (!t || !cJSON_AddStringToObject(t, "owner", c->user) ||
        !cJSON_AddNumberToObject(t, "anchor_ms", (double)(vg_now_ms() / 60000 * 60000)) ||
        !cJSON_AddNumberToObject(t, "created_ms", (double)vg_now_ms())) {
        cJSON_Delete(t);
        gw_call_fail(c, VG_E_INTERNAL, "out of memory");
        return;
    }
    if (!cJSON_GetObjectItemCaseSensitive(t, "tz"))
        cJSON_AddStringToObject(t, "tz", "UTC");
    if (!cJSON_GetObjectItemCaseSensitive(t, "missed"))
        cJSON_AddStringToObject(t, "missed", "skip");
    if (!cJSON_GetObjectItemCaseSensitive(t, "paused"))
        cJSON_AddBoolToObject(t, "paused", 0);
    save(c, "create", t);
    cJSON_Delete(t);
}

/* edit: the stored timer with the given fields replaced, checked whole again; the editor
 * becomes the owner the runs are made as. */
static void edit_read_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_reply_ok(c, reply))
        return;
    if (reply->type != REDIS_REPLY_STRING) {
        gw_call_fail(c, VG_E_NOT_FOUND, "unknown timer %s", gw_param_str(c, "name", ""));
        return;
    }
    cJSON *t = vg_json_parse(reply->str, reply->len, NULL);
    if (!cJSON_IsObject(t)) {
        cJSON_Delete(t);
        gw_call_fail(c, VG_E_INTERNAL, "timer %s is not JSON", gw_param_str(c, "name", ""));
        return;
    }
    const cJSON *p;
    cJSON_ArrayForEach(p, c->req.params)
    {
        /* vm and env exclude each other: giving one drops the other. */
        if (!strcmp(p->string, "vm"))
            cJSON_DeleteItemFromObjectCaseSensitive(t, "env");
        if (!strcmp(p->string, "env"))
            cJSON_DeleteItemFromObjectCaseSensitive(t, "vm");
        cJSON_DeleteItemFromObjectCaseSensitive(t, p->string);
        cJSON_AddItemToObject(t, p->string, cJSON_Duplicate(p, 1));
    }
    cJSON_DeleteItemFromObjectCaseSensitive(t, "owner");
    cJSON_AddStringToObject(t, "owner", c->user);
    vg_err err;
    if (check_timer(t, &err) != VG_OK) {
        cJSON_Delete(t);
        gw_call_fail_err(c, &err);
        return;
    }
    save(c, "edit", t);
    cJSON_Delete(t);
}

static void run_edit(gw_call *c)
{
    const char *argv[] = {"HGET", "vg:timers", gw_param_str(c, "name", "")};
    gw_call_sent(c, vg_redis_argv(c->g->redis, edit_read_cb, c, 3, argv, NULL));
}

static void change(gw_call *c, const char *op)
{
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    const char *argv[] = {op, gw_param_str(c, "name", ""), now};
    gw_call_eval(c, "timer_change", op[0] == 'd' ? gw_call_lua_empty_cb : saved_cb, 3, argv);
}

static void run_delete(gw_call *c)
{
    change(c, "delete");
}

static void run_pause(gw_call *c)
{
    change(c, gw_param_bool(c, "paused", 1) ? "pause" : "resume");
}

#define TIMER_ADMIN GW_SCOPE_ADMIN, GW_LEVEL_ADMIN

const gw_method gw_api_timer_methods[] = {
    {"timer.list", TIMER_ADMIN, 0, list_params, NULL, run_list},
    {"timer.create", TIMER_ADMIN, GW_M_MUTATES, create_params, check_create, run_create},
    {"timer.edit", TIMER_ADMIN, GW_M_MUTATES, edit_params, NULL, run_edit},
    {"timer.delete", TIMER_ADMIN, GW_M_MUTATES, name_params, NULL, run_delete},
    {"timer.pause", TIMER_ADMIN, GW_M_MUTATES, pause_params, NULL, run_pause},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};
