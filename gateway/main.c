/* vmgate-gateway: HTTPS, the JSON API and the console relay, on one libev loop. */
#include "net/apiws.h"
#include "core/auth.h"
#include "console/console.h"
#include "gateway.h"
#include "backend/alerts.h"
#include "backend/livesettings.h"
#include "backend/timers.h"
#include "backend/bus.h"
#include "backend/hostlink.h"
#include "backend/linktls.h"
#include "backend/hostmux.h"
#include "backend/hostrpc.h"
#include "backend/hostwatch.h"
#include "backend/webhook.h"
#include "core/prom.h"
#include "core/kdf.h"
#include "net/http.h"
#include "net/xfer.h"
#include "vg_redis.h"
#include "ui_csp.h"
#include "vg_bindaddr.h"
#include "vg_config.h"
#include "vg_log.h"
#include "vg_rscript.h"
#include "vg_rsentinel.h"
#include "vg_util.h"

#include <errno.h>
#include <ev.h>
#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

/* How long SIGTERM waits for close frames to go out before the process ends. */
#define SHUTDOWN_GRACE_S 0.5

static gw G;

static const vg_opt options[] = {
    {"http_bind", VG_OPT_STR, "0.0.0.0", "address the HTTPS server listens on", &G.cfg.http_bind},
    {"http_port", VG_OPT_INT, "8443", "HTTPS port", &G.cfg.http_port},
    {"tls_cert", VG_OPT_STR, NULL, "server certificate (PEM)", &G.cfg.tls_cert},
    {"tls_key", VG_OPT_STR, NULL, "server private key (PEM)", &G.cfg.tls_key},
    {"tls_ca", VG_OPT_STR, NULL, "CA that signed the hostd link certificates", &G.cfg.tls_ca},
    {"ui_dir", VG_OPT_STR, NULL, "web UI directory served at /", &G.cfg.ui_dir},
    {"redis_host", VG_OPT_STR, "127.0.0.1", "Redis host", &G.cfg.redis_host},
    {"redis_port", VG_OPT_INT, "6390", "Redis port", &G.cfg.redis_port},
    {"redis_password_file", VG_OPT_STR, NULL, "file holding the Redis password",
     &G.cfg.redis_password_file},
    {"redis_sentinels", VG_OPT_STR, "",
     "Redis Sentinels host:port,... that name the master (set: redis_host/port unused)",
     &G.cfg.redis_sentinels},
    {"redis_master_name", VG_OPT_STR, "vmgate", "the master's name at the Sentinels",
     &G.cfg.redis_master_name},
    {"link_secret_file", VG_OPT_STR, NULL, "file holding the gateway<->hostd shared secret",
     &G.cfg.link_secret_file},
    {"admin_password_file", VG_OPT_STR, NULL,
     "file holding the password of user admin, created when Redis has no users",
     &G.cfg.admin_password_file},
    {"metrics_token_file", VG_OPT_STR, NULL,
     "file holding the bearer token of GET /metrics (unset: /metrics refuses every request)",
     &G.cfg.metrics_token_file},
    {"session_ttl", VG_OPT_INT, "28800", "seconds a session lives without use", &G.cfg.session_ttl},
    {"ticket_ttl", VG_OPT_INT, "30", "seconds a console ticket stays valid (at most 30)",
     &G.cfg.ticket_ttl},
    {"ping_interval", VG_OPT_INT, "20", "seconds between WebSocket pings", &G.cfg.ping_interval},
    {"idle_timeout", VG_OPT_INT, "60", "seconds without any answer before a WebSocket is closed",
     &G.cfg.idle_timeout},
    {"viewer_queue", VG_OPT_INT, "262144",
     "bytes of control messages queued per console viewer; twice that closes it as too slow",
     &G.cfg.viewer_queue},
    {"kdf_threads", VG_OPT_INT, "2",
     "threads that check login passwords (argon2id) beside the event loop", &G.cfg.kdf_threads},
    {"allowed_origins", VG_OPT_STR, "",
     "extra allowed origins (WebSockets, cookie API calls), comma-separated",
     &G.cfg.allowed_origins},
    {"trusted_proxies", VG_OPT_STR, "",
     "proxy addresses whose X-Real-IP / X-Forwarded-For names the client, comma-separated",
     &G.cfg.trusted_proxies},
    {"boot_dirs", VG_OPT_STR, "",
     "directories non-administrators may boot kernels from, comma-separated", &G.cfg.boot_dirs},
    {"scripts_dir", VG_OPT_STR, VG_SCRIPTS_DIR, "directory of the Redis Lua scripts",
     &G.cfg.scripts_dir},
    {"log_level", VG_OPT_STR, "info", "debug, info, warn or error", &G.cfg.log_level},
    {0},
};

/* Reads a one-line secret; the trailing newline is not part of it. */
static char *read_secret(const char *what, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        vg_error("gateway", "cannot open %s %s: %s", what, path, strerror(errno));
        return NULL;
    }
    char buf[1024];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    if (!n) {
        vg_error("gateway", "%s %s is empty", what, path);
        return NULL;
    }
    char *s = strdup(buf);
    memset(buf, 0, sizeof(buf));
    return s;
}

/* Each refusal names the option and the line that set it (vg_config_invalid). */
static int check_config(const gw_config *c, vg_err *err)
{
    static const char *const paths[] = {"tls_cert",
                                        "tls_key",
                                        "tls_ca",
                                        "ui_dir",
                                        "redis_password_file",
                                        "link_secret_file",
                                        "admin_password_file",
                                        "scripts_dir",
                                        NULL};
    const char *bad = NULL, *why = NULL;
    char kdf_range[32];
    vg_err sentinel_err;
    snprintf(kdf_range, sizeof(kdf_range), "must be 1-%d", GW_KDF_THREADS_MAX);
    if (!c->tls_cert || !c->tls_key || !c->tls_ca)
        bad = !c->tls_cert  ? "tls_cert"
              : !c->tls_key ? "tls_key"
                            : "tls_ca",
        why = "is required (HTTPS for browsers, mutual TLS with hostd)";
    else if (c->http_port < 1 || c->http_port > 65535)
        bad = "http_port", why = "must be 1-65535";
    else if (c->redis_port < 1 || c->redis_port > 65535)
        bad = "redis_port", why = "must be 1-65535";
    else if (*c->redis_sentinels && vg_rsentinel_check(c->redis_sentinels, &sentinel_err) != VG_OK)
        bad = "redis_sentinels", why = sentinel_err.msg;
    else if (!vg_rsentinel_name_ok(c->redis_master_name))
        bad = "redis_master_name", why = "must be one word of 1-255 characters";
    else if (c->ticket_ttl < 1 || c->ticket_ttl > 30)
        bad = "ticket_ttl", why = "must be 1-30 seconds";
    else if (c->session_ttl < 60)
        bad = "session_ttl", why = "must be at least 60 seconds";
    else if (c->ping_interval < 1 || c->ping_interval > 20)
        bad = "ping_interval", why = "must be 1-20 seconds";
    else if (c->idle_timeout <= c->ping_interval || c->idle_timeout > 65535)
        bad = "idle_timeout", why = "must be greater than ping_interval (and at most 65535)";
    else if (c->viewer_queue < 65536)
        bad = "viewer_queue", why = "must be at least 65536 bytes";
    else if (c->kdf_threads < 1 || c->kdf_threads > GW_KDF_THREADS_MAX)
        bad = "kdf_threads", why = kdf_range;
    else if (vg_log_level_parse(c->log_level) < 0)
        bad = "log_level", why = "must be debug, info, warn or error";
    if (bad)
        return vg_config_invalid(options, bad, err, "%s", why);
    return vg_config_check_paths(options, paths, err);
}

static void redis_connected(vg_redis *r, void *priv)
{
    gw_auth_bootstrap(priv, r);
}

static const struct lws_protocol_vhost_options security_headers[] = {
    /* The UI's one inline script is its import map, allowed by its hash; nothing else inline.
     * 'wasm-unsafe-eval' lets the recordings player compile its terminal emulator (WebAssembly
     * shipped in its own module); it allows no JavaScript eval. */
    {&security_headers[1], NULL, "content-security-policy:",
     "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' " GW_UI_IMPORTMAP_HASH
     "; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"},
    {&security_headers[2], NULL, "x-content-type-options:", "nosniff"},
    {&security_headers[3], NULL, "x-frame-options:", "DENY"},
    {&security_headers[4], NULL, "referrer-policy:", "no-referrer"},
    /* No other site's window keeps a handle on the UI, and no other site embeds its files. */
    {&security_headers[5], NULL, "cross-origin-opener-policy:", "same-origin"},
    {&security_headers[6], NULL, "cross-origin-resource-policy:", "same-origin"},
    {NULL, NULL, "strict-transport-security:", "max-age=31536000"},
};

static const struct lws_protocol_vhost_options mime_types[] = {
    {&mime_types[1], NULL, ".mjs", "text/javascript"},
    {&mime_types[2], NULL, ".map", "application/json"},
    {&mime_types[3], NULL, ".json", "application/json"},
    {&mime_types[4], NULL, ".svg", "image/svg+xml"},
    {&mime_types[5], NULL, ".woff2", "font/woff2"},
    {NULL, NULL, ".ts", "text/plain"},
};

static void stop_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

static ev_timer stop_timer;

static void keepalive_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    gw *g = w->data;
    int64_t now = vg_mono_ms();
    gw_console_keepalive(g, now);
    gw_apiws_keepalive(g, now);
    gw_hostmux_keepalive(g, now);
    gw_xfer_keepalive(g, now);
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)revents;
    gw *g = w->data;
    if (g->stopping)
        return;
    g->stopping = 1;
    vg_info("gateway", "signal %d: closing consoles and stopping", w->signum);
    sd_notify(0, "STOPPING=1");
    gw_console_shutdown(g);
    ev_timer_init(&stop_timer, stop_cb, SHUTDOWN_GRACE_S, 0);
    ev_timer_start(loop, &stop_timer);
}

int main(int argc, char **argv)
{
    gw *g = &G;
    vg_err err;
    vg_config_defaults(options);
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: vmgate-gateway [--config FILE] [--name=value ...]\n");
            vg_config_usage(options, stdout);
            return 0;
        }
    if (vg_config_args(options, argc, argv, &err) != VG_OK ||
        check_config(&g->cfg, &err) != VG_OK) {
        fprintf(stderr, "vmgate-gateway: %s\n", err.msg);
        return 2;
    }
    vg_log_set_level((vg_log_level)vg_log_level_parse(g->cfg.log_level));
    if (gw_lua_open_all(g, &err) != VG_OK) {
        vg_error("gateway", "%s", err.msg);
        gw_lua_free_all(g);
        return 2;
    }
    if (g->cfg.redis_password_file &&
        !(g->redis_password = read_secret("redis_password_file", g->cfg.redis_password_file)))
        return 2;
    if (g->cfg.link_secret_file &&
        !(g->link_secret = read_secret("link_secret_file", g->cfg.link_secret_file)))
        return 2;
    if (g->cfg.admin_password_file &&
        !(g->admin_password = read_secret("admin_password_file", g->cfg.admin_password_file)))
        return 2;
    if (g->cfg.metrics_token_file &&
        !(g->metrics_token = read_secret("metrics_token_file", g->cfg.metrics_token_file)))
        return 2;
    if (!g->link_secret)
        vg_warn("gateway", "no link_secret_file: hostd will refuse console links");
    if (vg_config_check_only(argc, argv)) {
        printf("vmgate-gateway: configuration OK\n");
        gw_lua_free_all(g);
        return 0;
    }

    /* Before anything can publish: every event finds its listeners. */
    if (gw_apiws_init(g) != VG_OK || gw_console_init(g) != VG_OK || gw_alerts_init(g) != VG_OK ||
        gw_livesettings_init(g) != VG_OK) {
        vg_error("gateway", "more event subscribers than GW_EVENTS_MAX");
        return 1;
    }
    if (!(g->pw_dummy = gw_auth_dummy_hash(&err))) {
        vg_error("gateway", "%s", err.msg);
        return 1;
    }

    signal(SIGPIPE, SIG_IGN);
    g->loop = ev_default_loop(0);
    g->kdf = gw_kdf_new(g->loop, (int)g->cfg.kdf_threads,
                        (int)g->cfg.kdf_threads * GW_KDF_JOBS_PER_THREAD, &err);
    if (!g->kdf) {
        vg_error("gateway", "%s", err.msg);
        return 1;
    }
    /* lws notices are the evlib plugin's chatter (test-environment.md §7). */
    lws_set_log_level(LLL_ERR | LLL_WARN, vg_log_lws);

    void *foreign[] = {g->loop};
    struct lws_context_creation_info ci;
    memset(&ci, 0, sizeof(ci));
    ci.options = LWS_SERVER_OPTION_LIBEV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
                 LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    ci.foreign_loops = foreign;
    ci.user = g;
    ci.port = CONTEXT_PORT_NO_LISTEN;
    /* Larger than a TLS record, so one read empties OpenSSL's buffer: data left inside it would
     * not wake the loop again after a link has been paused (rx flow control). */
    ci.pt_serv_buf_size = 65536;
    g->ctx = lws_create_context(&ci);
    if (!g->ctx) {
        vg_error("gateway", "cannot create the libwebsockets context");
        return 1;
    }

    /* ui_dir is the staged UI (build/ui, tools/stage-ui.mjs): only the files the page loads,
     * its vendored modules under vendor/; never ui/ itself with its package files. */
    struct lws_http_mount mounts[3];
    memset(mounts, 0, sizeof(mounts));
    mounts[0].mountpoint = "/api";
    mounts[0].mountpoint_len = 4;
    mounts[0].origin = GW_HTTP_PROTOCOL;
    mounts[0].origin_protocol = LWSMPRO_CALLBACK;
    mounts[0].mount_next = &mounts[1];
    mounts[1] = mounts[0];
    mounts[1].mountpoint = "/healthz";
    mounts[1].mountpoint_len = 8;
    mounts[1].mount_next = g->cfg.ui_dir ? &mounts[2] : NULL;
    if (g->cfg.ui_dir) {
        mounts[2].mountpoint = "/";
        mounts[2].mountpoint_len = 1;
        mounts[2].origin = g->cfg.ui_dir;
        mounts[2].def = "index.html";
        mounts[2].origin_protocol = LWSMPRO_FILE;
        mounts[2].extra_mimetypes = mime_types;
    }

    /* lws wants arrays of protocols; each module owns its entry. */
    struct lws_protocols https_protocols[] = {
        gw_http_protocol, gw_apiws_protocol, gw_console_protocol, {0}};
    struct lws_protocols link_protocols[] = {
        gw_links_protocol, gw_hostmux_protocol, gw_xfer_protocol, {0}};

    struct lws_context_creation_info vi;
    memset(&vi, 0, sizeof(vi));
    vi.vhost_name = "https";
    vi.iface = g->cfg.http_bind;
    vi.port = (int)g->cfg.http_port;
    vi.protocols = https_protocols;
    vi.mounts = mounts;
    vi.headers = security_headers;
    vi.ssl_cert_filepath = g->cfg.tls_cert;
    vi.ssl_private_key_filepath = g->cfg.tls_key;
    vi.alpn = "http/1.1";
    /* The API and console WebSockets have their own keepalive (net/keepalive.h). lws' default
     * idle policy would also arm a 300 s "validity" timer per WebSocket, re-armed at every pong:
     * each re-arm is a sorted insertion that walks every other connection's timer (all of them
     * lie ~300 s ahead), so with thousands of subscribers it took a fifth of the gateway. A
     * policy with no hang-up time arms none. */
    static const lws_retry_bo_t no_validity_timer = {0};
    vi.retry_and_idle_policy = &no_validity_timer;
    /* Plain http:// on the HTTPS port gets a redirect to https:// and nothing else (no
     * WebSocket upgrade, no API call: gw_http_confirm_upgrade refuses non-TLS as well). */
    vi.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_VALIDATE_UTF8 |
                 LWS_SERVER_OPTION_ALLOW_NON_SSL_ON_SSL_PORT |
                 LWS_SERVER_OPTION_REDIRECT_HTTP_TO_HTTPS;
    /* As hostd's link: an IPv4 http_bind on an IPv4 socket, an IPv6 one IPv6-only, else lws
     * would listen on every interface. */
    struct sockaddr_storage want, got;
    if (vg_bindaddr_parse(g->cfg.http_bind, (int)g->cfg.http_port, &want, &err) != VG_OK) {
        vg_error("gateway", "http_bind: %s", err.msg);
        lws_context_destroy(g->ctx);
        return 2;
    }
    if (want.ss_family == AF_INET)
        vi.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    else
        vi.options |= LWS_SERVER_OPTION_IPV6_V6ONLY_MODIFY | LWS_SERVER_OPTION_IPV6_V6ONLY_VALUE;
    char want_s[64], got_s[64];
    vg_bindaddr_format(&want, want_s, sizeof(want_s));
    g->https = lws_create_vhost(g->ctx, &vi);
    if (!g->https) {
        vg_error("gateway", "cannot listen on %s with %s / %s", want_s, g->cfg.tls_cert,
                 g->cfg.tls_key);
        lws_context_destroy(g->ctx);
        return 1;
    }
    int n = vg_bindaddr_listeners((int)g->cfg.http_port, &got);
    if (n != 1 || !vg_bindaddr_equal(&want, &got)) {
        if (n)
            vg_bindaddr_format(&got, got_s, sizeof(got_s));
        vg_error("gateway", "was to listen on %s but listens on %s%s", want_s,
                 n ? got_s : "nothing", n > 1 ? " and more" : "");
        lws_context_destroy(g->ctx);
        return 1;
    }

    struct lws_context_creation_info li;
    memset(&li, 0, sizeof(li));
    li.vhost_name = "links";
    li.port = CONTEXT_PORT_NO_LISTEN;
    li.protocols = link_protocols;
    /* The links are raw connections: their TLS (backend/linktls.c) and WebSocket framing
     * (backend/linkws.c) are the gateway's own, and so is their keepalive (keepalive_cb). */
    g->links = lws_create_vhost(g->ctx, &li);
    if (!g->links) {
        vg_error("gateway", "cannot set up hostd links");
        lws_context_destroy(g->ctx);
        return 1;
    }

    if (g->cfg.tls_ca) {
        vg_err tls_err;
        g->link_tls = gw_linktls_context(g->cfg.tls_ca, g->cfg.tls_cert, g->cfg.tls_key, &tls_err);
        if (!g->link_tls) {
            vg_error("gateway", "cannot set up the hostd links: %s", tls_err.msg);
            lws_context_destroy(g->ctx);
            return 1;
        }
    }

    /* Webhook receivers are anybody's servers: their certificates chain to the system's
     * authorities, not to tls_ca, and the gateway shows no client certificate. */
    struct lws_protocols webhook_protocols[] = {gw_webhook_protocol, {0}};
    struct lws_context_creation_info wi;
    memset(&wi, 0, sizeof(wi));
    wi.vhost_name = "webhooks";
    wi.port = CONTEXT_PORT_NO_LISTEN;
    wi.protocols = webhook_protocols;
    wi.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    g->webhooks = lws_create_vhost(g->ctx, &wi);
    if (!g->webhooks) {
        vg_error("gateway", "cannot set up webhook delivery");
        lws_context_destroy(g->ctx);
        return 1;
    }

    vg_redis_config rcfg = {
        .name = "registry",
        .host = g->cfg.redis_host,
        .port = (int)g->cfg.redis_port,
        .sentinels = g->cfg.redis_sentinels,
        .master_name = g->cfg.redis_master_name,
        .password = g->redis_password,
        .scripts = g->lua,
        .nscripts = g->nlua,
        .on_connect = redis_connected,
        .priv = g,
    };
    g->redis = vg_redis_new(g->loop, &rcfg, &err);
    if (!g->redis) {
        vg_error("gateway", "%s", err.msg);
        return 1;
    }
    gw_bus_subscribe(g->redis, g);

    ev_signal sigterm, sigint;
    ev_signal_init(&sigterm, signal_cb, SIGTERM);
    ev_signal_init(&sigint, signal_cb, SIGINT);
    sigterm.data = sigint.data = g;
    ev_signal_start(g->loop, &sigterm);
    ev_signal_start(g->loop, &sigint);
    ev_timer keepalive_timer;
    ev_timer_init(&keepalive_timer, keepalive_cb, g->cfg.ping_interval / 2.0,
                  g->cfg.ping_interval / 2.0);
    keepalive_timer.data = g;
    ev_timer_start(g->loop, &keepalive_timer);
    gw_hostwatch_start(g);
    gw_prom_start(g);
    gw_alerts_start(g);
    gw_timers_start(g);
    gw_livesettings_start(g);
    gw_webhook_start(g);

    vg_bindaddr_format(&got, got_s, sizeof(got_s));
    vg_info("gateway", "listening on https://%s%s", got_s,
            got.ss_family == AF_INET6 ? " (IPv6 only)" : " (IPv4 only)");
    /* Type=notify: systemd starts what comes after the gateway once it listens. */
    sd_notify(0, "READY=1");
    ev_run(g->loop, 0);

    ev_signal_stop(g->loop, &sigterm);
    ev_signal_stop(g->loop, &sigint);
    ev_timer_stop(g->loop, &keepalive_timer);
    gw_hostwatch_stop(g);
    gw_prom_stop(g);
    gw_alerts_stop(g);
    gw_timers_stop(g);
    gw_livesettings_stop(g);
    gw_webhook_stop(g);
    lws_context_destroy(g->ctx);
    gw_linktls_context_free(g->link_tls);
    /* Checks in flight end while Redis is still there for their calls; the calls still
     * waiting for Redis give their reserved jobs back when it goes. */
    gw_kdf_stop(g->kdf);
    vg_redis_free(g->redis);
    gw_kdf_free(g->kdf);
    free(g->pw_dummy);
    gw_lua_free_all(g); /* after the connections: their pending calls still refer to the scripts */
    free(g->redis_password);
    free(g->link_secret);
    free(g->admin_password);
    free(g->metrics_token);
    vg_config_free(options);
    vg_info("gateway", "stopped");
    return 0;
}
