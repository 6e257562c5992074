/* The image library (docs/api.md "Images"): volumes marked as an ISO or a template, with a name,
 * OS, description and visibility (public, or one project). Administrators keep the library; an
 * image of a project counts against that project's `images` quota, checked and charged in the
 * same Lua step that adds it (gateway_image_save.lua). A VM is made from a template with a disk
 * `{"image": "pool/volume"}` (a copy-on-write overlay) and gets an ISO with vm.cdrom. */
#include "api/methods/api_storage.h"

#include "api/api_json.h"
#include "vg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_MAX 1024

static const char *const image_arrays[] = {"images", NULL};

static void read_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    cJSON *res;
    if (gw_call_lua_ok(c, reply) && (res = gw_call_json(c, reply, image_arrays)))
        gw_call_succeed(c, res);
}

static void image_read(gw_call *c, const char *name, vg_redis_cb *cb)
{
    const char *argv[] = {c->user, !strcmp(c->role, "admin") ? "1" : "0", name};
    gw_call_eval(c, "image_list", cb, 3, argv);
}

static void run_list(gw_call *c)
{
    image_read(c, "", read_cb);
}

static const gw_field image_params[] = {
    {"image", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the image"},
    {NULL},
};

static void run_get(gw_call *c)
{
    image_read(c, gw_param_str(c, "image", ""), read_cb);
}

/* ---- image.create ---- */

static const gw_field create_params[] = {
    {"image", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the new image's name"},
    {"pool", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the pool of its volume"},
    {"volume", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the volume (uploaded completely)"},
    {"kind", GW_F_ENUM, GW_F_REQUIRED, 0, 0, "iso|template",
     "an installation medium or a disk VMs are made from"},
    {"os", GW_F_STRING, 0, 0, 64, NULL, "the operating system, free text"},
    {"description", GW_F_STRING, 0, 0, TEXT_MAX, NULL, "free text"},
    {"project", GW_F_NAME, GW_F_NULLABLE, 0, 0, NULL,
     "the one project that sees and is charged for it; absent or null: public"},
    {NULL},
};

static void created_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (gw_call_lua_ok(c, reply))
        image_read(c, gw_param_str(c, "image", ""), read_cb);
}

static void volume_known(gw_st *s)
{
    gw_call *c = s->c;
    const cJSON *cap = cJSON_GetObjectItemCaseSensitive(s->answer, "capacity");
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(s->answer, "format");
    char bytes[24], now[24];
    snprintf(bytes, sizeof(bytes), "%.0f", cJSON_IsNumber(cap) ? cap->valuedouble : 0.0);
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    const char *argv[] = {"create",
                          gw_param_str(c, "image", ""),
                          gw_param_str(c, "pool", ""),
                          gw_param_str(c, "volume", ""),
                          gw_param_str(c, "kind", ""),
                          gw_param_str(c, "os", ""),
                          gw_param_str(c, "description", ""),
                          gw_param_str(c, "project", ""),
                          bytes,
                          cJSON_IsString(fmt) ? fmt->valuestring : "",
                          c->user,
                          now};
    gw_call_eval(c, "image_save", created_cb, 12, argv);
}

static void create_loaded(gw_st *s)
{
    cJSON *p = gw_st_vol_params(gw_param_str(s->c, "pool", ""), gw_param_str(s->c, "volume", ""));
    gw_st_each(s, "volume.get", p, GW_ST_SKIP_MISSING | GW_ST_FIRST, GW_ST_RPC_MS, volume_known);
}

static void run_create(gw_call *c)
{
    gw_st *s = gw_st_new(c);
    if (s)
        gw_st_load(s, gw_param_str(c, "pool", ""), create_loaded);
}

/* ---- image.edit ---- */

static const gw_field edit_params[] = {
    {"image", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the image"},
    {"os", GW_F_STRING, 0, 0, 64, NULL, "the operating system, free text"},
    {"description", GW_F_STRING, 0, 0, TEXT_MAX, NULL, "free text"},
    {NULL},
};

static void run_edit(gw_call *c)
{
    const char *os = gw_param_str(c, "os", NULL), *desc = gw_param_str(c, "description", NULL);
    const char *argv[] = {"edit",           gw_param_str(c, "image", ""),
                          os ? "1" : "0",   os ? os : "",
                          desc ? "1" : "0", desc ? desc : ""};
    gw_call_eval(c, "image_save", created_cb, 6, argv);
}

/* ---- image.delete ---- */

static const gw_field delete_params[] = {
    {"image", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the image"},
    {"delete_volume", GW_F_BOOL, 0, 0, 0, NULL,
     "delete its volume too (refused while a running VM uses it)"},
    {NULL},
};

static void forget(gw_call *c)
{
    const char *argv[] = {"delete", gw_param_str(c, "image", "")};
    gw_call_eval(c, "image_save", gw_call_lua_empty_cb, 2, argv);
}

static void volume_gone(gw_st *s)
{
    forget(s->c);
}

/* {pool, volume} of the image being deleted (s->data). */
static cJSON *image_vol_params(const gw_st *s)
{
    const cJSON *img = s->data;
    return gw_st_vol_params(cJSON_GetObjectItemCaseSensitive(img, "pool")->valuestring,
                            cJSON_GetObjectItemCaseSensitive(img, "volume")->valuestring);
}

static void delete_idle(gw_st *s)
{
    gw_st_each(s, "volume.delete", image_vol_params(s), GW_ST_SKIP_MISSING | GW_ST_FIRST,
               GW_ST_RPC_MS, volume_gone);
}

static void delete_loaded(gw_st *s)
{
    gw_st_each_alive(s, "volume.idle", image_vol_params(s), delete_idle);
}

static void delete_read_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    cJSON *img;
    if (!gw_call_lua_ok(c, reply) || !(img = gw_call_json(c, reply, gw_st_no_arrays)))
        return;
    gw_st *s = gw_st_new(c);
    if (!s) {
        cJSON_Delete(img);
        return;
    }
    s->data = img;
    s->data_free = (void (*)(void *))cJSON_Delete;
    gw_st_load(s, cJSON_GetObjectItemCaseSensitive(img, "pool")->valuestring, delete_loaded);
}

static void run_delete(gw_call *c)
{
    if (gw_param_bool(c, "delete_volume", 0))
        image_read(c, gw_param_str(c, "image", ""), delete_read_cb);
    else
        forget(c);
}

const gw_method gw_api_image_methods[] = {
    {"image.list", GW_SCOPE_ANY, GW_LEVEL_VIEWER, 0, gw_no_fields, NULL, run_list},
    {"image.get", GW_SCOPE_ANY, GW_LEVEL_VIEWER, 0, image_params, NULL, run_get},
    {"image.create", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, create_params, NULL, run_create},
    {"image.edit", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, edit_params, NULL, run_edit},
    {"image.delete", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, delete_params, NULL, run_delete},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};
