/* The gateway process: its configuration and the state every module reaches through the lws
 * context user pointer. One instance per process, driven by one libev loop. */
#ifndef GW_GATEWAY_H
#define GW_GATEWAY_H

#include "vg.h"

#include <stdint.h>

struct ev_loop;
struct lws_context;
struct lws_vhost;
struct lws;
typedef struct gw_redis gw_redis;
typedef struct gw_viewer gw_viewer;
typedef struct gw_apiws gw_apiws;
typedef struct vg_rscript vg_rscript;

/* The gateway's Redis scripts (redis-scripts/gateway_*.lua, docs/redis.md "Scripts"). */
typedef enum gw_lua {
    GW_LUA_LOGIN,
    GW_LUA_LOGIN_FAIL,
    GW_LUA_BOOTSTRAP,
    GW_LUA_VM_LIST,
    GW_LUA_HOST_LIST,
    GW_LUA_CONSOLES,
    GW_LUA_CONSOLE_LOOKUP,
    GW_LUA_COUNT
} gw_lua;

typedef struct gw_config {
    char *http_bind;
    long http_port;
    char *tls_cert, *tls_key, *tls_ca;
    char *ui_dir;
    char *redis_host;
    long redis_port;
    char *redis_password_file;
    char *link_secret_file;
    char *admin_password_file;
    long session_ttl, ticket_ttl;
    long ping_interval, idle_timeout;
    long viewer_queue;
    char *allowed_origins; /* comma-separated origins, empty = same host only */
    char *scripts_dir;
    char *log_level;
} gw_config;

typedef struct gw {
    gw_config cfg;
    struct ev_loop *loop;
    struct lws_context *ctx;
    struct lws_vhost *https; /* browsers and API clients */
    struct lws_vhost *links; /* client connections to hostd, verified against tls_ca */
    gw_redis *redis;         /* commands */
    gw_redis *bus;           /* SUBSCRIBE vg:events */
    vg_rscript *lua[GW_LUA_COUNT];
    char *redis_password;
    char *link_secret;
    char *admin_password;  /* NULL when admin_password_file is unset */
    gw_viewer *viewers;    /* every console attachment, for shutdown */
    gw_apiws *apiws;       /* every API WebSocket */
    gw_apiws *subscribers; /* API WebSockets that called events.subscribe */
    int stopping;
} gw;

/* The gw that owns an lws connection. */
gw *gw_from_wsi(struct lws *wsi);

#endif
