/* The gateway process: its configuration and the state every module reaches through the lws
 * context user pointer. One instance per process, driven by one libev loop. */
#ifndef GW_GATEWAY_H
#define GW_GATEWAY_H

#include "core/events.h"
#include "core/ticket.h"
#include "vg.h"

#include <libwebsockets.h>
#include <stdint.h>

struct ev_loop;
struct lws_context;
struct lws_vhost;
typedef struct vg_redis vg_redis;
typedef struct gw_viewer gw_viewer;
typedef struct gw_channel gw_channel;
typedef struct gw_apiws gw_apiws;
typedef struct vg_rscript vg_rscript;
typedef struct gw_kdf gw_kdf;

typedef struct gw_config {
    char *http_bind;
    long http_port;
    char *tls_cert, *tls_key, *tls_ca;
    char *ui_dir;
    char *redis_host;
    long redis_port;
    char *redis_password_file;
    char *redis_sentinels; /* "host:port,...": the master is found through them */
    char *redis_master_name;
    char *link_secret_file;
    char *admin_password_file;
    char *metrics_token_file; /* bearer token Prometheus scrapes /metrics with */
    long session_ttl, ticket_ttl;
    long ping_interval, idle_timeout;
    long viewer_queue;
    long kdf_threads;
    char *allowed_origins; /* comma-separated origins, empty = same host only */
    char *boot_dirs;       /* comma-separated, see vmpolicy.h */
    char *trusted_proxies; /* comma-separated proxy addresses, see gw_http_client_addr */
    char *scripts_dir;
    char *log_level;
} gw_config;

typedef struct gw {
    gw_config cfg;
    struct ev_loop *loop;
    struct lws_context *ctx;
    struct lws_vhost *https;     /* browsers and API clients */
    struct lws_vhost *links;     /* client connections to hostd, verified against tls_ca */
    struct ssl_ctx_st *link_tls; /* TLS of the hostd links, run by backend/linktls.c */
    struct lws_vhost *webhooks;  /* webhook POSTs (backend/webhook.c), system trust */
    vg_redis *redis;             /* commands, and vg:events / vg:sessions on its pub/sub side
                                  * (backend/bus.c) */
    vg_rscript **lua;            /* every redis-scripts/gateway_*.lua, see gw_lua */
    size_t nlua;
    char *redis_password;
    char *link_secret;
    char *admin_password; /* NULL when admin_password_file is unset */
    char *metrics_token;  /* NULL when metrics_token_file is unset: /metrics refuses all */
    gw_kdf *kdf;          /* the threads that check passwords (kdf.h) */
    /* argon2id hash of a random password made at start, with the cost of real ones: login
     * checks an unknown user's password against it, so the answer takes as long as for a user
     * who exists and the timing does not tell user names. */
    char *pw_dummy;
    gw_viewer *viewers;    /* every console attachment, for shutdown */
    gw_channel *channels;  /* a console's channel to its host, one per console viewed */
    gw_revoked revoked;    /* the last vg:sessions messages, for tickets being redeemed */
    gw_events events;      /* who hears of what (core/events.h) */
    gw_apiws *apiws;       /* every API WebSocket */
    gw_apiws *subscribers; /* API WebSockets that called events.subscribe */
    long record_input;     /* the record_input setting (backend/livesettings.c) */
    int stopping;
} gw;

/* Reads every gateway_*.lua of scripts_dir (a missing or unreadable script stops the gateway
 * at start-up, not at first use). */
int gw_lua_open_all(gw *g, vg_err *err);
void gw_lua_free_all(gw *g);
/* The script redis-scripts/gateway_<name>.lua, or NULL when there is none. */
vg_rscript *gw_lua(gw *g, const char *name);

/* The gw that owns an lws connection: inline, so that no module depends on another for it. */
static inline gw *gw_from_wsi(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

#endif
