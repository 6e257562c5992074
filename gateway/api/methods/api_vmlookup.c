/* One VM, authorized again for a session outside the dispatcher: for work that goes on after
 * (or beside) the call that started it — each VM of a console.exec batch, each read of a
 * console.watch — so a session that ended or a membership that was taken away stops it. */
#include "api/methods/api_vm.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct lookup {
    gw *g;
    char vm[65];
    const char *method;
    gw_level level;
    char project[65];
    int visible;
    gw_vmlookup_done *done;
    void *priv;
} lookup;

static void finish(lookup *l, const gw_vminfo *vi, const vg_err *err)
{
    gw_vmlookup_found f = {.vi = vi, .project = l->project, .visible = l->visible};
    l->done(l->priv, &f, err);
    free(l);
}

static void fail(lookup *l, vg_err_code code, const char *msg)
{
    vg_err err;
    vg_fail(&err, code, "%s", msg);
    finish(l, NULL, &err);
}

static void vm_cb(vg_redis *rd, redisReply *reply, void *priv)
{
    (void)rd;
    lookup *l = priv;
    gw_vminfo vi;
    vg_err err;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        fail(l, VG_E_UNAVAILABLE, "the registry did not answer");
        return;
    }
    if (gw_vminfo_parse(reply, &vi, &err) != VG_OK) {
        finish(l, NULL, &err);
        return;
    }
    finish(l, &vi, NULL);
    gw_vminfo_free(&vi);
}

static void authz_cb(vg_redis *rd, redisReply *reply, void *priv)
{
    lookup *l = priv;
    gw_authz_subject s;
    vg_err err;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        fail(l, VG_E_UNAVAILABLE, "the registry did not answer");
        return;
    }
    if (gw_authz_facts(reply, l->vm, &s) != VG_OK) {
        fail(l, VG_E_UNAUTHORIZED, "the session ended");
        return;
    }
    int level = gw_level_of(gw_authz_effective(s.role, s.member));
    l->visible = s.target_exists && level >= 0 &&
                 (!s.project[0] || s.project_active || level == GW_LEVEL_ADMIN);
    if (!l->visible) {
        char msg[160];
        snprintf(msg, sizeof(msg), "no VM named %s that you may use", l->vm);
        fail(l, VG_E_NOT_FOUND, msg);
        return;
    }
    snprintf(l->project, sizeof(l->project), "%s", s.project);
    if (gw_authz_check(l->method, GW_SCOPE_VM, l->level, &s, &err) != VG_OK) {
        finish(l, NULL, &err);
        return;
    }
    const char *argv[] = {l->vm};
    if (vg_redis_eval(rd, gw_lua(l->g, "vm_get"), vm_cb, l, 0, 1, argv, NULL) != VG_OK)
        fail(l, VG_E_UNAVAILABLE, "the registry cannot be reached");
}

void gw_vmlookup(gw *g, const char *token_hash, const char *vm, const char *method, gw_level level,
                 gw_vmlookup_done *done, void *priv)
{
    lookup *l = calloc(1, sizeof(*l));
    if (!l) {
        vg_err err;
        vg_fail(&err, VG_E_INTERNAL, "out of memory");
        gw_vmlookup_found f = {.project = ""};
        done(priv, &f, &err);
        return;
    }
    *l = (lookup){.g = g, .method = method, .level = level, .done = done, .priv = priv};
    snprintf(l->vm, sizeof(l->vm), "%s", vm);
    char ttl[24];
    snprintf(ttl, sizeof(ttl), "%ld", g->cfg.session_ttl);
    const char *argv[] = {token_hash, "vm", vm, ttl};
    if (vg_redis_eval(g->redis, gw_lua(g, "authz"), authz_cb, l, 0, 4, argv, NULL) != VG_OK)
        fail(l, VG_E_UNAVAILABLE, "the registry cannot be reached");
}
