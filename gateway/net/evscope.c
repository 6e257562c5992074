#include "net/evscope.h"

#include "vg_log.h"
#include "vg_redis.h"
#include "vg_util.h"

#include <ev.h>
#include <stdlib.h>
#include <string.h>

/* A scope no event has refreshed for this long is read again: the backstop for changes no event
 * names. Each scope keeps its own clock, so the reads spread over the period. */
#define BACKSTOP_MS 60000

struct gw_evscope {
    gw_evscope *next, *prev; /* in scopes */
    gw *g;
    char user[65];
    int refs;        /* subscribers holding it */
    int pending;     /* a read is in flight */
    int again;       /* something changed while it was: read once more */
    int admin;       /* the last read said administrator */
    cJSON *sets;     /* {projects:{}, vms:{}, envs:{}} of the last read, NULL before */
    int64_t read_ms; /* when the last read was asked for (monotonic) */
    gw_evscope_wait *waiters;
    unsigned long memo_seq; /* the event memo_visible answers for */
    int memo_visible;
};

static gw_evscope *scopes;
static ev_timer backstop;

static void unlink_free(gw_evscope *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        scopes = s->next;
    if (s->next)
        s->next->prev = s->prev;
    cJSON_Delete(s->sets);
    free(s);
}

/* Hands the end of a read to everyone waiting for it. A waiter may drop its reference (and so
 * the scope) from its callback; the list is taken first for that reason. */
static void wake(gw_evscope *s, const vg_err *err)
{
    gw_evscope_wait *w = s->waiters;
    s->waiters = NULL;
    while (w) {
        gw_evscope_wait *next = w->next;
        w->next = NULL;
        w->ready(w, err);
        w = next;
    }
}

static int load(gw_evscope *s);

static void read_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_evscope *s = priv;
    s->pending = 0;
    if (!s->refs) {
        unlink_free(s);
        return;
    }
    const redisReply *json = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
                                     reply->element[1]->type == REDIS_REPLY_STRING
                                 ? reply->element[1]
                                 : NULL;
    cJSON *sets = json ? cJSON_ParseWithLength(json->str, json->len) : NULL;
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(sets, "role");
    if (!cJSON_IsString(role)) {
        cJSON_Delete(sets);
        vg_warn("api", "cannot read what user %s may see of events%s", s->user,
                s->sets ? "; keeping the last view" : "");
        if (!s->sets) {
            vg_err err;
            vg_fail(&err, VG_E_UNAVAILABLE, "the registry is not reachable");
            s->again = 0;
            wake(s, &err);
            return;
        }
    } else {
        s->admin = !strcmp(role->valuestring, "admin");
        cJSON_Delete(s->sets);
        s->sets = sets;
        s->memo_seq = 0;
    }
    if (s->again) {
        s->again = 0;
        if (load(s) == VG_OK)
            return;
    }
    wake(s, NULL);
}

/* Asks for the scope again; a read already in flight is followed by one more. */
static int load(gw_evscope *s)
{
    if (s->pending) {
        s->again = 1;
        return VG_OK;
    }
    const char *argv[] = {s->user};
    if (vg_redis_eval(s->g->redis, gw_lua(s->g, "events_scope"), read_cb, s, 0, 1, argv, NULL) !=
        VG_OK)
        return VG_ERR;
    s->pending = 1;
    s->read_ms = vg_mono_ms();
    return VG_OK;
}

static void backstop_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    int64_t now = vg_mono_ms();
    for (gw_evscope *s = scopes; s; s = s->next)
        if (s->refs && !s->pending && now - s->read_ms >= BACKSTOP_MS)
            load(s);
}

gw_evscope *gw_evscope_get(gw *g, const char *user, gw_evscope_wait *w, int *waiting, vg_err *err)
{
    *waiting = 0;
    gw_evscope *s = scopes;
    while (s && strcmp(s->user, user))
        s = s->next;
    if (!s) {
        if (strlen(user) >= sizeof(s->user)) {
            vg_fail(err, VG_E_BAD_REQUEST, "user name too long");
            return NULL;
        }
        s = calloc(1, sizeof(*s));
        if (!s) {
            vg_fail(err, VG_E_INTERNAL, "out of memory");
            return NULL;
        }
        s->g = g;
        strcpy(s->user, user);
        if (load(s) != VG_OK) {
            free(s);
            vg_fail(err, VG_E_UNAVAILABLE, "Redis is not reachable");
            return NULL;
        }
        s->next = scopes;
        if (s->next)
            s->next->prev = s;
        scopes = s;
        if (!ev_is_active(&backstop)) {
            ev_timer_init(&backstop, backstop_cb, 1.0, 1.0);
            ev_timer_start(g->loop, &backstop);
        }
    }
    s->refs++;
    if (!s->sets || s->pending) {
        w->next = s->waiters;
        s->waiters = w;
        *waiting = 1;
    }
    return s;
}

void gw_evscope_put(gw_evscope *s, gw_evscope_wait *w)
{
    for (gw_evscope_wait **p = &s->waiters; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            w->next = NULL;
            break;
        }
    if (--s->refs == 0 && !s->pending)
        unlink_free(s);
}

static int in_set(const gw_evscope *s, const char *set, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s->sets, set), name) !=
           NULL;
}

static const char *field(const cJSON *data, const char *name)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(data, name);
    return cJSON_IsString(f) ? f->valuestring : NULL;
}

/* Contract §6: administrators hear everything; others what concerns the projects they belong
 * to, their VMs and environments, their own user, and the hosts. A VM event that names its
 * project teaches the scope that VM at once, so the vm.state right after a vm.created is not
 * lost. */
static int decide(gw_evscope *s, const char *type, const cJSON *data)
{
    if (s->admin)
        return 1;
    if (!strncmp(type, "user.", 5)) {
        const char *u = field(data, "user");
        return u && !strcmp(u, s->user);
    }
    const char *project = field(data, "project"), *vm = field(data, "vm"),
               *env = field(data, "env");
    /* The user joining a project hears of it before the re-read scope would let them. */
    if (!strcmp(type, "project.member")) {
        const char *u = field(data, "user");
        if (u && !strcmp(u, s->user))
            return 1;
    }
    if (project) {
        if (!project[0] || !in_set(s, "projects", project))
            return 0;
        cJSON *vms = cJSON_GetObjectItemCaseSensitive(s->sets, "vms");
        if (vm && vms && !in_set(s, "vms", vm))
            cJSON_AddTrueToObject(vms, vm);
        return 1;
    }
    if (vm)
        return in_set(s, "vms", vm);
    if (env)
        return in_set(s, "envs", env);
    return strncmp(type, "project.", 8) != 0;
}

int gw_evscope_visible(gw_evscope *s, unsigned long seq, const char *type, const cJSON *data)
{
    if (s->memo_seq != seq) {
        s->memo_seq = seq;
        s->memo_visible = decide(s, type, data);
    }
    return s->memo_visible;
}

static void forget(const char *set, const char *name)
{
    for (gw_evscope *s = scopes; s; s = s->next)
        cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(s->sets, set),
                                                name);
}

static void reload_user(const char *user)
{
    for (gw_evscope *s = scopes; s; s = s->next)
        if (user && !strcmp(s->user, user) && s->refs && load(s) != VG_OK)
            vg_warn("api", "cannot re-read what user %s may see of events: Redis is not reachable",
                    s->user);
}

void gw_evscope_event(gw *g, const char *type, const cJSON *data)
{
    (void)g;
    const char *vm = field(data, "vm"), *env = field(data, "env"),
               *project = field(data, "project"), *action = field(data, "action");
    if (!strcmp(type, "project.member") || !strncmp(type, "user.", 5)) {
        reload_user(field(data, "user"));
    } else if (!strcmp(type, "vm.created") || !strcmp(type, "vm.adopted")) {
        /* Current scopes learnt the VM from the event itself (decide); a read in flight may
         * have started before it. */
        for (gw_evscope *s = scopes; s; s = s->next)
            if (s->pending)
                s->again = 1;
    } else if (!strcmp(type, "vm.deleted") && vm) {
        forget("vms", vm);
    } else if (!strcmp(type, "env.changed") && env && action) {
        if (!strcmp(action, "deleted")) {
            forget("envs", env);
        } else if (project) {
            for (gw_evscope *s = scopes; s; s = s->next) {
                cJSON *envs = cJSON_GetObjectItemCaseSensitive(s->sets, "envs");
                if (envs && in_set(s, "projects", project) && !in_set(s, "envs", env))
                    cJSON_AddTrueToObject(envs, env);
            }
        }
    }
}
