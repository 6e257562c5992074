/* Users: list, create, edit, freeze, delete, and the own password (docs/api.md "Users").
 *
 * Every change that takes access away (freeze, delete, a lower role, a password set by an
 * administrator) ends it at once: gateway_user_change.lua publishes `user:<name>` on
 * vg:sessions and every gateway closes that user's consoles and API WebSockets. */
#include "api/api_int.h"

#include "core/auth.h"
#include "vg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PASSWORD_MIN 8
#define PASSWORD_MAX GW_KDF_PASSWORD_MAX /* longer ones could never be checked at login */
#define DESCRIPTION_MAX 256

#define ROLES "admin|operator|viewer"

static const gw_field name_params[] = {
    {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the user"},
    {NULL},
};

/* ---- user.list, user.get ---- */

static cJSON *user_json(const redisReply *u)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "name", gw_reply_str(u, 0));
    cJSON_AddStringToObject(o, "role", gw_reply_str(u, 1));
    cJSON_AddBoolToObject(o, "frozen", !strcmp(gw_reply_str(u, 2), "1"));
    cJSON_AddNumberToObject(o, "created_ms", (double)gw_reply_int(u, 3));
    cJSON_AddStringToObject(o, "description", gw_reply_str(u, 4));
    cJSON *projects = cJSON_AddObjectToObject(o, "projects");
    const redisReply *pr = u->type == REDIS_REPLY_ARRAY && u->elements > 5 ? u->element[5] : NULL;
    for (size_t i = 0; projects && pr && pr->type == REDIS_REPLY_ARRAY && i + 1 < pr->elements;
         i += 2)
        cJSON_AddStringToObject(projects, gw_reply_str(pr, i), gw_reply_str(pr, i + 1));
    return o;
}

static void users_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_lua_ok(c, reply))
        return;
    const redisReply *list = reply->elements > 1 ? reply->element[1] : NULL;
    if (!list || list->type != REDIS_REPLY_ARRAY) {
        gw_call_fail(c, VG_E_INTERNAL, "unexpected answer from Redis");
        return;
    }
    if (strcmp(c->m->name, "user.get") == 0) {
        gw_call_succeed(c, list->elements == 1 ? user_json(list->element[0]) : NULL);
        return;
    }
    cJSON *res = cJSON_CreateObject();
    cJSON *users = res ? cJSON_AddArrayToObject(res, "users") : NULL;
    for (size_t i = 0; users && i < list->elements; i++)
        cJSON_AddItemToArray(users, user_json(list->element[i]));
    gw_call_succeed(c, res);
}

static void run_user_list(gw_call *c)
{
    const char *argv[] = {""};
    gw_call_eval(c, "user_get", users_cb, 1, argv);
}

static void run_user_get(gw_call *c)
{
    const char *argv[] = {gw_param_str(c, "name", "")};
    gw_call_eval(c, "user_get", users_cb, 1, argv);
}

/* ---- user.create ---- */

static const gw_field create_params[] = {
    {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the new user's name"},
    {"password", GW_F_STRING, GW_F_REQUIRED, PASSWORD_MIN, PASSWORD_MAX, NULL,
     "the password, stored as an argon2id hash"},
    {"role", GW_F_ENUM, GW_F_REQUIRED, 0, 0, ROLES, "the platform role"},
    {"description", GW_F_STRING, 0, 0, DESCRIPTION_MAX, NULL, "free text"},
    {NULL},
};

static void run_user_create(gw_call *c)
{
    char hash[GW_PWHASH_MAX], now[24];
    vg_err err;
    if (gw_auth_hash_password(gw_param_str(c, "password", ""), hash, sizeof(hash), &err) != VG_OK) {
        gw_call_fail_err(c, &err);
        return;
    }
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    const char *argv[] = {gw_param_str(c, "name", ""), gw_param_str(c, "role", ""), hash,
                          gw_param_str(c, "description", ""), now};
    gw_call_eval(c, "user_create", gw_call_lua_empty_cb, 5, argv);
}

/* ---- user.edit: a new role or password asks for the administrator's own password ---- */

static const gw_field edit_params[] = {
    {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the user"},
    {"role", GW_F_ENUM, 0, 0, 0, ROLES, "a new platform role"},
    {"description", GW_F_STRING, 0, 0, DESCRIPTION_MAX, NULL, "a new description"},
    {"password", GW_F_STRING, 0, PASSWORD_MIN, PASSWORD_MAX, NULL,
     "a new password; ends the user's sessions"},
    {"admin_password", GW_F_STRING, 0, 0, PASSWORD_MAX, NULL,
     "the caller's own password, required with role or password"},
    {NULL},
};

static int check_edit(const cJSON *params, vg_err *err)
{
    if ((gw_param(params, "role") || gw_param(params, "password")) &&
        !gw_param(params, "admin_password"))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "\"admin_password\" is required to change the role or the password");
    return VG_OK;
}

static void edit_apply(gw_call *c)
{
    char hash[GW_PWHASH_MAX] = "";
    vg_err err;
    const char *pw = gw_param_str(c, "password", NULL);
    if (pw && gw_auth_hash_password(pw, hash, sizeof(hash), &err) != VG_OK) {
        gw_call_fail_err(c, &err);
        return;
    }
    const char *desc = gw_param_str(c, "description", NULL);
    const char *argv[] = {"edit",
                          gw_param_str(c, "name", ""),
                          gw_param_str(c, "role", ""),
                          desc ? "1" : "0",
                          desc ? desc : "",
                          hash};
    gw_call_eval(c, "user_change", gw_call_lua_empty_cb, 6, argv);
}

static void run_user_edit(gw_call *c)
{
    if (!gw_param(c->req.params, "role") && !gw_param(c->req.params, "password")) {
        edit_apply(c);
        return;
    }
    gw_call_reauth(c, "admin_password", edit_apply);
}

/* ---- user.freeze, user.unfreeze, user.delete ---- */

static const gw_field delete_params[] = {
    {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the user"},
    GW_ADMIN_PASSWORD_FIELD,
    {NULL},
};

static void run_user_change(gw_call *c)
{
    /* "user.freeze" → "freeze" */
    const char *argv[] = {strchr(c->m->name, '.') + 1, gw_param_str(c, "name", "")};
    gw_call_eval(c, "user_change", gw_call_lua_empty_cb, 2, argv);
}

/* ---- user.password: the caller's own ---- */

static const gw_field password_params[] = {
    {"old_password", GW_F_STRING, GW_F_REQUIRED, 0, PASSWORD_MAX, NULL,
     "the caller's current password"},
    {"new_password", GW_F_STRING, GW_F_REQUIRED, PASSWORD_MIN, PASSWORD_MAX, NULL,
     "the new password"},
    {NULL},
};

static void set_own_password(gw_call *c)
{
    char hash[GW_PWHASH_MAX];
    vg_err err;
    if (gw_auth_hash_password(gw_param_str(c, "new_password", ""), hash, sizeof(hash), &err) !=
        VG_OK) {
        gw_call_fail_err(c, &err);
        return;
    }
    const char *argv[] = {"password", c->user, hash};
    gw_call_eval(c, "user_change", gw_call_lua_empty_cb, 3, argv);
}

static void run_own_password(gw_call *c)
{
    gw_call_reauth(c, "old_password", set_own_password);
}

const gw_method gw_api_user_methods[] = {
    {"user.list", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, 0, gw_no_fields, NULL, run_user_list},
    {"user.get", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, 0, name_params, NULL, run_user_get},
    {"user.create", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, create_params, NULL,
     run_user_create},
    {"user.edit", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, edit_params, check_edit,
     run_user_edit},
    {"user.delete", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES | GW_M_REAUTH, delete_params, NULL,
     run_user_change},
    {"user.freeze", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, name_params, NULL,
     run_user_change},
    {"user.unfreeze", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, name_params, NULL,
     run_user_change},
    {"user.password", GW_SCOPE_SELF, GW_LEVEL_VIEWER, GW_M_MUTATES, password_params, NULL,
     run_own_password},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};
