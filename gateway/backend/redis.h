/* One asynchronous hiredis connection on the gateway's libev loop that reconnects by itself.
 *
 * Commands issued while Redis is down fail at once (VG_ERR) and their callback is never called;
 * commands in flight when the connection drops get their callback with a NULL reply. */
#ifndef GW_REDIS_H
#define GW_REDIS_H

#include "vg.h"
#include "vg_rscript.h"

#include <hiredis/hiredis.h>

struct ev_loop;
typedef struct gw_redis gw_redis;

/* reply is NULL when the connection failed before Redis answered. */
typedef void gw_redis_cb(gw_redis *r, redisReply *reply, void *priv);
/* Called after every (re)connection once AUTH is queued, e.g. to SUBSCRIBE again. */
typedef void gw_redis_connect_cb(gw_redis *r, void *priv);

gw_redis *gw_redis_new(struct ev_loop *loop, const char *name, const char *host, int port,
                       const char *password, gw_redis_connect_cb *on_connect, void *priv);
void gw_redis_free(gw_redis *r);
int gw_redis_up(const gw_redis *r);
int gw_redis_cmd(gw_redis *r, gw_redis_cb *cb, void *priv, const char *fmt, ...);
int gw_redis_argv(gw_redis *r, gw_redis_cb *cb, void *priv, int argc, const char **argv,
                  const size_t *lens);
/* Queues SCRIPT LOAD of every script in lua[0..n); for the connect callback. */
void gw_redis_load(gw_redis *r, vg_rscript *const *lua, size_t n);
/* Runs a script with EVALSHA (vg_rscript_call: NOSCRIPT reloads and retries once). */
int gw_redis_eval(gw_redis *r, vg_rscript *lua, gw_redis_cb *cb, void *priv, int nkeys, int argc,
                  const char **argv, const size_t *lens);
/* A subscription keeps its callback for every message, so it is registered once per connection. */
int gw_redis_subscribe(gw_redis *r, const char *channel, gw_redis_cb *cb, void *priv);
/* 1 when reply is a pub/sub ["message", channel, payload] push on channel, with payload (and
 * its length) pointing into reply; 0 for anything else, such as the subscribe confirmation or
 * the NULL of a lost connection. */
int gw_redis_message(const redisReply *reply, const char *channel, const char **payload,
                     size_t *len);

#endif
