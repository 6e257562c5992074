/* Sequential hostd calls with undo (api_fanout.h). */
#include "api/methods/api_fanout.h"

#include "backend/hostrpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fstep {
    char host[65];
    char method[40], undo_method[40];
    cJSON *params, *undo_params;
} fstep;

struct gw_fanout {
    gw_call *c;
    long timeout_ms;
    size_t n, cap, i;
    fstep *steps;
    int oom;
    int undoing;
    vg_err err; /* the refusal being undone */
    cJSON *results;
    gw_fanout_done *done;
    void *priv;
};

gw_fanout *gw_fanout_new(gw_call *c, long timeout_ms)
{
    gw_fanout *f = calloc(1, sizeof(*f));
    if (f && !(f->results = cJSON_CreateArray())) {
        free(f);
        f = NULL;
    }
    if (!f)
        gw_call_fail(c, VG_E_INTERNAL, "out of memory");
    else {
        f->c = c;
        f->timeout_ms = timeout_ms;
    }
    return f;
}

void gw_fanout_add(gw_fanout *f, const char *host, const char *method, cJSON *params,
                   const char *undo_method, cJSON *undo_params)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 4;
        fstep *s = realloc(f->steps, cap * sizeof(*s));
        if (!s) {
            f->oom = 1;
            cJSON_Delete(params);
            cJSON_Delete(undo_params);
            return;
        }
        f->steps = s;
        f->cap = cap;
    }
    fstep *s = &f->steps[f->n++];
    memset(s, 0, sizeof(*s));
    snprintf(s->host, sizeof(s->host), "%s", host);
    snprintf(s->method, sizeof(s->method), "%s", method);
    snprintf(s->undo_method, sizeof(s->undo_method), "%s", undo_method ? undo_method : "");
    s->params = params;
    s->undo_params = undo_params;
    f->oom |= !params;
}

void *gw_fanout_priv(const gw_fanout *f)
{
    return f->priv;
}

gw_call *gw_fanout_call(const gw_fanout *f)
{
    return f->c;
}

static void finish(gw_fanout *f, const vg_err *err)
{
    f->done(f, f->results, err);
    for (size_t i = 0; i < f->n; i++) {
        cJSON_Delete(f->steps[i].params);
        cJSON_Delete(f->steps[i].undo_params);
    }
    free(f->steps);
    cJSON_Delete(f->results);
    free(f);
}

static void next(gw_fanout *f);

static void step_done(void *priv, const cJSON *result, const vg_err *err)
{
    gw_fanout *f = priv;
    if (f->undoing) {
        /* An undo that fails leaves that host changed; the refusal still ends the call. */
        next(f);
        return;
    }
    if (err) {
        f->err = *err;
        f->undoing = 1;
        next(f);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON_AddStringToObject(o, "host", f->steps[f->i].host);
        cJSON_AddItemToObject(o, "result", cJSON_Duplicate(result, 1));
        cJSON_AddItemToArray(f->results, o);
    }
    f->i++;
    next(f);
}

static void next(gw_fanout *f)
{
    if (f->undoing) {
        while (f->i > 0) {
            fstep *s = &f->steps[--f->i];
            if (s->undo_method[0] && s->undo_params) {
                gw_hostrpc_call(f->c->g, s->host, s->undo_method, s->undo_params, f->timeout_ms,
                                step_done, f);
                return;
            }
        }
        finish(f, &f->err);
        return;
    }
    if (f->i == f->n) {
        finish(f, NULL);
        return;
    }
    fstep *s = &f->steps[f->i];
    gw_hostrpc_call(f->c->g, s->host, s->method, s->params, f->timeout_ms, step_done, f);
}

void gw_fanout_run(gw_fanout *f, gw_fanout_done *done, void *priv)
{
    f->done = done;
    f->priv = priv;
    if (f->oom) {
        vg_err err;
        vg_fail(&err, VG_E_INTERNAL, "out of memory");
        finish(f, &err);
        return;
    }
    next(f);
}
