/* Volumes of a pool (docs/api.md "Volumes"): hostd does the work on the first host of the pool
 * that is up; Redis adds what libvirt does not know (an upload in progress or cut short, the
 * image a volume is). Deleting or resizing asks every host first whether a running VM uses the
 * volume, since a shared pool's volume may be in use on another host. */
#include "api/methods/api_storage.h"

#include "api/api_json.h"
#include "net/xfer.h"
#include "vg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VOLUME_MIB_MAX (64LL * 1024 * 1024) /* 64 TiB */
#define UPLOAD_BYTES_MAX (64LL << 40)

static cJSON *vol_params(const gw_call *c)
{
    return gw_st_vol_params(gw_param_str(c, "pool", ""), gw_param_str(c, "volume", ""));
}

/* The state Redis adds to a volume (gateway_volume_state.lua): usable unless an upload into it
 * runs or was cut short. */
static void add_state(cJSON *vol, const cJSON *extra)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(extra, "transfer");
    const cJSON *img = cJSON_GetObjectItemCaseSensitive(extra, "image");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(t, "state");
    int usable = !cJSON_IsString(st) || !strcmp(st->valuestring, "done");
    if (t)
        cJSON_AddItemToObject(vol, "transfer", cJSON_Duplicate(t, 1));
    cJSON_AddStringToObject(vol, "image", cJSON_IsString(img) ? img->valuestring : "");
    cJSON_AddBoolToObject(vol, "usable", usable);
}

/* ---- volume.list ---- */

static void list_state_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    gw_st *s = c->state;
    cJSON *extra;
    if (!gw_call_lua_ok(c, reply) || !(extra = gw_call_json(c, reply, gw_st_no_arrays)))
        return;
    const cJSON *by = cJSON_GetObjectItemCaseSensitive(extra, "volumes");
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "pool", gw_param_str(c, "pool", ""));
    cJSON_AddStringToObject(res, "host", s->host);
    cJSON *vols = cJSON_DetachItemFromObjectCaseSensitive(s->answer, "volumes");
    cJSON *v;
    cJSON_ArrayForEach(v, vols)
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(v, "name");
        add_state(v,
                  cJSON_IsString(n) ? cJSON_GetObjectItemCaseSensitive(by, n->valuestring) : NULL);
    }
    cJSON_AddItemToObject(res, "volumes", vols ? vols : cJSON_CreateArray());
    cJSON_Delete(extra);
    gw_call_succeed(c, res);
}

static void list_listed(gw_st *s)
{
    const char *argv[] = {"list", gw_param_str(s->c, "pool", ""), ""};
    gw_call_eval(s->c, "volume_state", list_state_cb, 3, argv);
}

static void list_loaded(gw_st *s)
{
    gw_st_each(s, "volume.list", gw_st_params(gw_param_str(s->c, "pool", "")),
               GW_ST_SKIP_MISSING | GW_ST_FIRST, GW_ST_RPC_MS, list_listed);
}

static void run_list(gw_call *c)
{
    gw_st *s = gw_st_new(c);
    if (s)
        gw_st_load(s, gw_param_str(c, "pool", ""), list_loaded);
}

/* ---- volume.get (and the answer of create, resize, clone) ---- */

static void get_state_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    gw_st *s = c->state;
    cJSON *extra;
    if (!gw_call_lua_ok(c, reply) || !(extra = gw_call_json(c, reply, gw_st_no_arrays)))
        return;
    cJSON *vol = s->answer;
    s->answer = NULL;
    cJSON_AddStringToObject(vol, "pool", gw_param_str(c, "pool", ""));
    cJSON_AddStringToObject(vol, "host", s->host);
    add_state(vol, extra);
    cJSON_Delete(extra);
    gw_call_succeed(c, vol);
}

/* s->answer is a volume of params.pool named name: add Redis' part and answer. */
static void answer_volume(gw_st *s, const char *pool, const char *name)
{
    const char *argv[] = {"get", pool, name};
    gw_call_eval(s->c, "volume_state", get_state_cb, 3, argv);
}

static void got(gw_st *s)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(s->answer, "name");
    answer_volume(s, gw_param_str(s->c, "target_pool", gw_param_str(s->c, "pool", "")),
                  cJSON_IsString(n) ? n->valuestring : "");
}

static void get_loaded(gw_st *s)
{
    gw_st_each(s, "volume.get", vol_params(s->c), GW_ST_SKIP_MISSING | GW_ST_FIRST, GW_ST_RPC_MS,
               got);
}

static void run_get(gw_call *c)
{
    gw_st *s = gw_st_new(c);
    if (s)
        gw_st_load(s, gw_param_str(c, "pool", ""), get_loaded);
}

/* ---- volume.create ---- */

static const gw_field create_params[] = {
    {"pool", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the pool"},
    {"volume", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the new volume's name"},
    {"size_mib", GW_F_INT, 0, 1, VOLUME_MIB_MAX, NULL,
     "its size in MiB (default with a backing image: the image's)"},
    {"format", GW_F_ENUM, 0, 0, 0, "qcow2|raw", "qcow2 (default) or raw"},
    {"backing", GW_F_STRING, 0, 3, 200, NULL,
     "\"pool/volume\": a qcow2 overlay on that image (copy-on-write)"},
    {NULL},
};

static int check_create(const cJSON *params, vg_err *err)
{
    const cJSON *b = gw_param(params, "backing");
    const cJSON *f = gw_param(params, "format");
    if (b) {
        const char *slash = strchr(b->valuestring, '/');
        char pool[65];
        if (!slash || slash == b->valuestring || slash - b->valuestring > 64 ||
            !vg_valid_name(slash + 1))
            return vg_fail(err, VG_E_BAD_REQUEST, "backing must be \"pool/volume\"");
        snprintf(pool, sizeof(pool), "%.*s", (int)(slash - b->valuestring), b->valuestring);
        if (!vg_valid_name(pool))
            return vg_fail(err, VG_E_BAD_REQUEST, "backing must be \"pool/volume\"");
        if (f && strcmp(f->valuestring, "qcow2"))
            return vg_fail(err, VG_E_BAD_REQUEST, "only a qcow2 volume has a backing image");
    } else if (!gw_param(params, "size_mib"))
        return vg_fail(err, VG_E_BAD_REQUEST, "volume.create needs size_mib (or a backing image)");
    return VG_OK;
}

static void create_loaded(gw_st *s)
{
    gw_call *c = s->c;
    cJSON *p = vol_params(c);
    if (gw_param(c->req.params, "size_mib"))
        cJSON_AddNumberToObject(p, "size_mib", (double)gw_param_int(c, "size_mib", 0));
    cJSON_AddStringToObject(p, "format", gw_param_str(c, "format", "qcow2"));
    const char *b = gw_param_str(c, "backing", NULL);
    if (b) {
        const char *slash = strchr(b, '/');
        char pool[65];
        snprintf(pool, sizeof(pool), "%.*s", (int)(slash - b), b);
        cJSON_AddStringToObject(p, "backing_pool", pool);
        cJSON_AddStringToObject(p, "backing_volume", slash + 1);
    }
    gw_st_each(s, "volume.create", p, GW_ST_SKIP_MISSING | GW_ST_FIRST, GW_ST_RPC_MS, got);
}

static void run_create(gw_call *c)
{
    gw_st *s = gw_st_new(c);
    if (s)
        gw_st_load(s, gw_param_str(c, "pool", ""), create_loaded);
}

/* ---- volume.resize, volume.delete: every host first says the volume is idle ---- */

static const gw_field resize_params[] = {
    {"pool", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the pool"},
    {"volume", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the volume"},
    {"size_mib", GW_F_INT, GW_F_REQUIRED, 1, VOLUME_MIB_MAX, NULL,
     "the new size in MiB (smaller shrinks: the end of the data is lost)"},
    {NULL},
};

static void modified(gw_st *s)
{
    if (!strcmp(s->c->req.method, "volume.resize")) {
        got(s);
        return;
    }
    const char *argv[] = {"forget", gw_param_str(s->c, "pool", ""),
                          gw_param_str(s->c, "volume", "")};
    gw_call_eval(s->c, "volume_state", gw_call_lua_empty_cb, 3, argv);
}

static void idle_everywhere(gw_st *s)
{
    cJSON *p = vol_params(s->c);
    const char *m = s->c->req.method;
    if (!strcmp(m, "volume.resize"))
        cJSON_AddNumberToObject(p, "size_mib", (double)gw_param_int(s->c, "size_mib", 1));
    gw_st_each(s, m, p, GW_ST_SKIP_MISSING | GW_ST_FIRST, GW_ST_RPC_MS, modified);
}

static void modify_loaded(gw_st *s)
{
    gw_st_each_alive(s, "volume.idle", vol_params(s->c), idle_everywhere);
}

static void run_modify(gw_call *c)
{
    gw_st *s = gw_st_new(c);
    if (!s)
        return;
    const char *argv[] = {"modify", gw_param_str(c, "pool", ""), gw_param_str(c, "volume", "")};
    gw_st_check(s, "volume_state", 3, argv, "", modify_loaded);
}

/* ---- volume.clone ---- */

static const gw_field clone_params[] = {
    {"pool", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the pool"},
    {"volume", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the volume to copy"},
    {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the copy's name"},
    {"target_pool", GW_F_NAME, 0, 0, 0, NULL, "the copy's pool (default: the same)"},
    {NULL},
};

static void clone_loaded(gw_st *s)
{
    cJSON *p = vol_params(s->c);
    cJSON_AddStringToObject(p, "name", gw_param_str(s->c, "name", ""));
    const char *to = gw_param_str(s->c, "target_pool", NULL);
    if (to)
        cJSON_AddStringToObject(p, "target_pool", to);
    gw_st_each(s, "volume.clone", p, GW_ST_SKIP_MISSING | GW_ST_FIRST, GW_ST_LONG_MS, got);
}

static void run_clone(gw_call *c)
{
    gw_st *s = gw_st_new(c);
    if (s)
        gw_st_load(s, gw_param_str(c, "pool", ""), clone_loaded);
}

/* ---- volume.upload, volume.download: streams over HTTP (net/xfer.h) ---- */

static const gw_field xfer_params[] = {
    {"pool", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the pool"},
    {"volume", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL,
     "the volume (an upload creates it raw when missing)"},
    {"offset", GW_F_INT, 0, 0, UPLOAD_BYTES_MAX, NULL,
     "upload: where the body goes (resuming a cut upload: its transfer.bytes); download: the "
     "first byte to send"},
    {NULL},
};

typedef struct xfer_state {
    gw_xfer *x;
    long long total;
    int upload;
    char bytes[24];
    vg_err err;
} xfer_state;

static void xfer_end_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    gw_st *s = c->state;
    xfer_state *xs = s->data;
    if (!gw_call_reply_ok(c, reply))
        return;
    if (xs->err.code != VG_E_NONE) {
        gw_call_fail_err(c, &xs->err);
        return;
    }
    cJSON *r2 = cJSON_CreateObject();
    cJSON_AddStringToObject(r2, "pool", gw_param_str(c, "pool", ""));
    cJSON_AddStringToObject(r2, "volume", gw_param_str(c, "volume", ""));
    cJSON_AddStringToObject(r2, "host", s->host);
    cJSON_AddNumberToObject(r2, "bytes", (double)strtoll(xs->bytes, NULL, 10));
    gw_call_succeed(c, r2);
}

static void xfer_progress(void *priv, long long bytes)
{
    gw_st *s = priv;
    xfer_state *xs = s->data;
    if (!xs->upload)
        return;
    char b[24], now[24];
    snprintf(b, sizeof(b), "%lld", bytes);
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    const char *argv[] = {"progress", gw_param_str(s->c, "pool", ""),
                          gw_param_str(s->c, "volume", ""), b, now};
    vg_redis_eval(s->c->g->redis, gw_lua(s->c->g, "volume_state"), NULL, NULL, 0, 5, argv, NULL);
}

static void xfer_ended(void *priv, long long bytes, const vg_err *err)
{
    gw_st *s = priv;
    xfer_state *xs = s->data;
    xs->x = NULL;
    snprintf(xs->bytes, sizeof(xs->bytes), "%lld", bytes);
    if (err)
        xs->err = *err;
    if (!xs->upload) {
        xfer_end_cb(NULL, NULL, s->c);
        return;
    }
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    const char *argv[] = {"end",
                          gw_param_str(s->c, "pool", ""),
                          gw_param_str(s->c, "volume", ""),
                          err ? "cut" : "done",
                          xs->bytes,
                          now};
    gw_call_eval(s->c, "volume_state", xfer_end_cb, 6, argv);
}

static void xfer_located(gw_st *s)
{
    xfer_state *xs = s->data;
    cJSON *h = vol_params(s->c);
    cJSON_AddStringToObject(h, "op", xs->upload ? "upload" : "download");
    cJSON_AddNumberToObject(h, "offset", (double)gw_param_int(s->c, "offset", 0));
    if (xs->upload)
        cJSON_AddNumberToObject(h, "length", (double)xs->total);
    gw_xfer_run(xs->x, s->host, h, xfer_progress, xfer_ended, s);
    cJSON_Delete(h);
}

static void xfer_loaded(gw_st *s)
{
    xfer_state *xs = s->data;
    cJSON *p = vol_params(s->c);
    /* An upload into a missing volume creates it, raw and as large as the body. */
    if (xs->upload) {
        cJSON_AddNumberToObject(p, "create_bytes",
                                (double)(xs->total + gw_param_int(s->c, "offset", 0)));
        gw_st_each(s, "volume.prepare", p, GW_ST_SKIP_MISSING | GW_ST_FIRST, GW_ST_RPC_MS,
                   xfer_located);
    } else
        gw_st_each(s, "volume.get", p, GW_ST_SKIP_MISSING | GW_ST_FIRST, GW_ST_RPC_MS,
                   xfer_located);
}

static void run_xfer(gw_call *c)
{
    gw_xfer *x = gw_xfer_of_call(c);
    if (!x) {
        gw_call_fail(c, VG_E_BAD_REQUEST,
                     "%s streams the volume over HTTP: %s /api/v1/%s?pool=…&volume=… "
                     "(docs/api.md \"Volumes\")",
                     c->req.method, strcmp(c->req.method, "volume.upload") ? "GET" : "POST",
                     c->req.method);
        return;
    }
    gw_st *s = gw_st_new(c);
    xfer_state *xs = s ? calloc(1, sizeof(*xs)) : NULL;
    if (!xs) {
        if (s)
            gw_call_fail(c, VG_E_INTERNAL, "out of memory");
        return;
    }
    s->data = xs;
    s->data_free = free;
    xs->x = x;
    xs->upload = !strcmp(c->req.method, "volume.upload");
    xs->total = gw_xfer_length(x);
    if (!xs->upload) {
        gw_st_load(s, gw_param_str(c, "pool", ""), xfer_loaded);
        return;
    }
    char total[24], offset[24], now[24];
    snprintf(total, sizeof(total), "%lld", xs->total + gw_param_int(c, "offset", 0));
    snprintf(offset, sizeof(offset), "%lld", gw_param_int(c, "offset", 0));
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    const char *argv[] = {
        "start", gw_param_str(c, "pool", ""), gw_param_str(c, "volume", ""), total, offset, c->user,
        now};
    gw_st_check(s, "volume_state", 7, argv, gw_param_str(c, "pool", ""), xfer_loaded);
}

const gw_method gw_api_volume_methods[] = {
    {"volume.list", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, 0, gw_st_pool_fields, NULL, run_list},
    {"volume.get", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, 0, gw_st_volume_fields, NULL, run_get},
    {"volume.create", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, create_params, check_create,
     run_create},
    {"volume.resize", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, resize_params, NULL,
     run_modify},
    {"volume.clone", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, clone_params, NULL, run_clone},
    {"volume.delete", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, gw_st_volume_fields, NULL,
     run_modify},
    {"volume.upload", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, xfer_params, NULL, run_xfer},
    {"volume.download", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, 0, xfer_params, NULL, run_xfer},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};
