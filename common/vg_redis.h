/* The Redis client of gateway and hostd: asynchronous hiredis on the process's libev loop, with
 * AUTH, reconnection with capped and jittered backoff, the Lua scripts of vg_rscript loaded on
 * every connection, and pub/sub on a second connection that subscribes again after every
 * reconnection. Redis is at a configured address, or is the master that Redis Sentinels name
 * (vg_rsentinel): asked on every (re)connection, checked with ROLE, and left at once for the
 * new master when the Sentinels announce a failover.
 *
 * Commands issued while Redis is down fail at once (VG_ERR) and their callback is never called;
 * commands in flight when the connection drops get their callback with a NULL reply and are
 * never sent again (a failover applies none twice). Commands issued while a connection to a
 * configured address is being made queue behind its AUTH and SCRIPT LOADs; behind Sentinels
 * they fail until the master is confirmed. */
#ifndef VG_REDIS_H
#define VG_REDIS_H

#include "vg.h"
#include "vg_rscript.h"

#include <hiredis/hiredis.h>

struct ev_loop;
typedef struct vg_redis vg_redis;

/* reply is NULL when the connection failed before Redis answered. */
typedef void vg_redis_cb(vg_redis *r, redisReply *reply, void *priv);
/* Called on every new command connection once AUTH and the scripts are queued, so what it
 * queues runs after them (e.g. re-asserting state that a restarted Redis lost, or a promoted
 * replica never had). Without Sentinels the first call comes from within vg_redis_new, before
 * it returns r; with them, once the master answered ROLE. */
typedef void vg_redis_connect_cb(vg_redis *r, void *priv);

typedef struct vg_redis_config {
    const char *name; /* names the client in log lines */
    const char *host; /* ignored with sentinels */
    int port;
    /* "host:port,..." (vg_rsentinel_check); NULL or "": connect to host:port. */
    const char *sentinels;
    const char *master_name; /* the master's name at the Sentinels */
    const char *password;    /* NULL or "": no AUTH (also sent to the Sentinels) */
    /* SCRIPT LOAD on every connection; the scripts must outlive the client. */
    vg_rscript *const *scripts;
    size_t nscripts;
    vg_redis_connect_cb *on_connect; /* may be NULL */
    void *priv;
} vg_redis_config;

/* Starts connecting at once; an unreachable Redis is retried, not an error. Errors: VG_E_INTERNAL
 * (out of memory), VG_E_BAD_REQUEST (no host, port out of range; a bad Sentinel list or master
 * name). */
vg_redis *vg_redis_new(struct ev_loop *loop, const vg_redis_config *cfg, vg_err *err);
/* Closes both connections; pending callbacks run with NULL replies before it returns. */
void vg_redis_free(vg_redis *r);
/* 1 while the command connection takes commands (connected, or being connected to a
 * configured address; behind Sentinels, once ROLE confirmed the master). */
int vg_redis_up(const vg_redis *r);
/* A command in hiredis's printf-like format (%s, %d, %ld...; %b takes a pointer and a length). */
int vg_redis_cmd(vg_redis *r, vg_redis_cb *cb, void *priv, const char *fmt, ...);
/* A command from argc arguments; lens may be NULL for NUL-terminated arguments. */
int vg_redis_argv(vg_redis *r, vg_redis_cb *cb, void *priv, int argc, const char **argv,
                  const size_t *lens);
/* Runs a script with EVALSHA (vg_rscript_call: NOSCRIPT reloads and retries once). A NULL lua
 * (a script missing from scripts_dir) is logged and fails. */
int vg_redis_eval(vg_redis *r, vg_rscript *lua, vg_redis_cb *cb, void *priv, int nkeys, int argc,
                  const char **argv, const size_t *lens);
/* Registers cb for every push on channel, for the life of the client: the pub/sub connection is
 * opened on the first subscription and subscribes again after every reconnection. cb sees the
 * subscribe confirmations too (vg_redis_message tells messages apart); messages published
 * while the connection was down are lost, as with any Redis pub/sub. One callback per channel:
 * a second registration of a channel fails. */
int vg_redis_subscribe(vg_redis *r, const char *channel, vg_redis_cb *cb, void *priv);
/* 1 when reply is a pub/sub ["message", channel, payload] push on channel, with payload (and
 * its length) pointing into reply; 0 for anything else, such as the subscribe confirmation or
 * the NULL of a lost connection. */
int vg_redis_message(const redisReply *reply, const char *channel, const char **payload,
                     size_t *len);

/* Round trips of every client of the process, for the daemons' /metrics (docs/monitoring.md):
 * replies is every command answered (or lost with its connection), errors those answered with
 * an error or lost. Plain additions on the loop. */
typedef struct vg_redis_counters {
    unsigned long long replies, errors;
} vg_redis_counters;
extern vg_redis_counters vg_redis_totals;

#endif
