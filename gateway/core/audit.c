#include "core/audit.h"

#include "vg_redis.h"
#include "vg_log.h"
#include "vg_util.h"

#include <stdio.h>

static void written_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    (void)priv;
    if (!reply || reply->type == REDIS_REPLY_ERROR)
        vg_error("audit", "an audit entry was lost: %s",
                 reply ? reply->str : "Redis connection lost");
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

void gw_audit(gw *g, const gw_audit_entry *e)
{
    char ts[24];
    snprintf(ts, sizeof(ts), "%lld", (long long)vg_now_ms());
    const char *argv[] = {"XADD",
                          GW_AUDIT_STREAM,
                          "*",
                          "ts",
                          ts,
                          "kind",
                          or_empty(e->kind),
                          "user",
                          or_empty(e->user),
                          "addr",
                          or_empty(e->addr),
                          "method",
                          or_empty(e->method),
                          "vm",
                          or_empty(e->vm),
                          "project",
                          or_empty(e->project),
                          "result",
                          or_empty(e->result),
                          "detail",
                          or_empty(e->detail)};
    if (vg_redis_argv(g->redis, written_cb, NULL, (int)(sizeof(argv) / sizeof(argv[0])), argv,
                      NULL) != VG_OK)
        vg_error("audit", "an audit entry was lost: Redis is not reachable (%s %s by %s)",
                 or_empty(e->kind), or_empty(e->method), or_empty(e->user));
}
