#include "link.h"

#include "console.h"
#include "vg_frame.h"
#include "vg_log.h"
#include "vg_util.h"
#include "vms.h"

#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINK_SUBPROTOCOL "vmgate.console.v1"
#define LINK_SECRET_HDR "x-vmgate-link:"
#define LINK_FRAME_CAP (VG_FRAME_OUTPUT_HDR + 16384)

typedef struct link_conn {
    console_viewer v;
    struct lws *wsi;
    int is_ws;
    int rejecting; /* refused at attach: send the error, then close */
    int reject_sent;
    vg_err reject;
    int reject_close;
    unsigned char *rx; /* reassembly of a fragmented message, at most VG_FRAME_MAX_CLIENT */
    size_t rxlen;
    int rx_overflow;
    struct link_conn *prev, *next;
} link_conn;

static struct lws_context *ctx;
static const link_config *cfg;
static link_conn *conns;
static int nconns;
static int stopping;
/* One frame is built at a time, so one buffer serves every viewer (C7: nothing per viewer). */
static unsigned char txbuf[LWS_PRE + LINK_FRAME_CAP];

static void wake(console_viewer *v)
{
    link_conn *lc = v->ud;
    lws_callback_on_writable(lc->wsi);
}

static void reject(link_conn *lc, vg_err_code code, int close_code, const char *msg)
{
    vg_fail(&lc->reject, code, "%s", msg);
    lc->rejecting = 1;
    lc->reject_close = close_code;
    lws_callback_on_writable(lc->wsi);
}

static int arg(struct lws *wsi, const char *name, char *buf, int len)
{
    /* lws leaves "name=value" in buf and points past the name. */
    const char *v = lws_get_urlarg_by_name(wsi, name, buf, len);
    if (!v) {
        buf[0] = '\0';
        return 0;
    }
    memmove(buf, v, strlen(v) + 1);
    return 1;
}

static int secret_ok(struct lws *wsi)
{
    char got[256];
    int n = lws_hdr_custom_length(wsi, LINK_SECRET_HDR, (int)strlen(LINK_SECRET_HDR));
    if (n <= 0 || n >= (int)sizeof(got))
        return 0;
    if (lws_hdr_custom_copy(wsi, got, sizeof(got), LINK_SECRET_HDR, (int)strlen(LINK_SECRET_HDR)) <
        0)
        return 0;
    int ok = vg_const_eq(got, cfg->secret);
    lws_explicit_bzero(got, sizeof(got));
    return ok;
}

static void attach(link_conn *lc)
{
    struct lws *wsi = lc->wsi;
    char uri[128] = "", vm[96], dev[64], mode[16], user[96], offset[48], take[16];
    lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);
    if (strcmp(uri, "/link/console") != 0) {
        reject(lc, VG_E_NOT_FOUND, 4004, "unknown path; use /link/console");
        return;
    }
    if (!secret_ok(wsi)) {
        vg_warn("link", "refused a link connection: wrong or missing X-Vmgate-Link");
        reject(lc, VG_E_UNAUTHORIZED, 4001, "link credential wrong");
        return;
    }
    arg(wsi, "vm=", vm, sizeof(vm));
    arg(wsi, "mode=", mode, sizeof(mode));
    arg(wsi, "user=", user, sizeof(user));
    arg(wsi, "offset=", offset, sizeof(offset));
    arg(wsi, "take=", take, sizeof(take));
    if (!arg(wsi, "dev=", dev, sizeof(dev)) || !dev[0])
        snprintf(dev, sizeof(dev), "serial0");
    if (!vg_valid_name(vm)) {
        reject(lc, VG_E_BAD_REQUEST, 1008, "vm is missing or not a valid name");
        return;
    }
    if (strcmp(mode, "rw") != 0 && strcmp(mode, "ro") != 0 && mode[0]) {
        reject(lc, VG_E_BAD_REQUEST, 1008, "mode must be rw or ro");
        return;
    }
    console *c = vms_console(vm, dev);
    if (!c) {
        char msg[160];
        snprintf(msg, sizeof(msg), "no console %.64s/%.40s on this host", vm, dev);
        reject(lc, VG_E_NOT_FOUND, 4004, msg);
        return;
    }
    vg_err err;
    lc->v.wake = wake;
    lc->v.ud = lc;
    if (console_attach(c, &lc->v, user, strcmp(mode, "ro") != 0, strcmp(take, "1") == 0,
                       offset[0] ? offset : NULL, &err) != VG_OK)
        reject(lc, err.code, 1008, err.msg);
}

static int write_reject(link_conn *lc)
{
    if (!lc->reject_sent) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "error");
        cJSON_AddStringToObject(o, "code", vg_err_code_name(lc->reject.code));
        cJSON_AddStringToObject(o, "message", lc->reject.msg);
        char *p = (char *)txbuf + LWS_PRE;
        int ok = o && cJSON_PrintPreallocated(o, p, LINK_FRAME_CAP, 0);
        cJSON_Delete(o);
        lc->reject_sent = 1;
        if (ok &&
            lws_write(lc->wsi, (unsigned char *)p, strlen(p), LWS_WRITE_TEXT) < (int)strlen(p))
            return -1;
        lws_callback_on_writable(lc->wsi);
        return 0;
    }
    lws_close_reason(lc->wsi, (enum lws_close_status)lc->reject_close, NULL, 0);
    return -1;
}

static int writable(link_conn *lc)
{
    if (lc->rejecting)
        return write_reject(lc);
    console_msg m;
    if (!console_viewer_next(&lc->v, txbuf + LWS_PRE, LINK_FRAME_CAP, &m))
        return 0;
    if (m.len) {
        int n = lws_write(lc->wsi, txbuf + LWS_PRE, m.len,
                          m.binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
        if (n < (int)m.len)
            return -1;
    }
    if (m.close_code) {
        lws_close_reason(lc->wsi, (enum lws_close_status)m.close_code, NULL, 0);
        return -1;
    }
    lws_callback_on_writable(lc->wsi);
    return 0;
}

static void receive(link_conn *lc, const unsigned char *in, size_t len)
{
    int first = lws_is_first_fragment(lc->wsi);
    int last = lws_is_final_fragment(lc->wsi) && !lws_remaining_packet_payload(lc->wsi);
    int binary = lws_frame_is_binary(lc->wsi);
    if (lc->rejecting || !lc->v.con)
        return;
    if (first && last) { /* the common case: no copy */
        console_viewer_recv(&lc->v, binary, in, len);
        return;
    }
    if (first) {
        lc->rxlen = 0;
        lc->rx_overflow = 0;
    }
    if (!lc->rx_overflow) {
        if (lc->rxlen + len > VG_FRAME_MAX_CLIENT) {
            lc->rx_overflow = 1;
        } else {
            if (!lc->rx && !(lc->rx = malloc(VG_FRAME_MAX_CLIENT))) {
                lc->rx_overflow = 1;
            } else {
                memcpy(lc->rx + lc->rxlen, in, len);
                lc->rxlen += len;
            }
        }
    }
    if (!last)
        return;
    if (lc->rx_overflow) {
        vg_err err;
        vg_fail(&err, VG_E_TOO_BIG, "message larger than %d bytes", VG_FRAME_MAX_CLIENT);
        console_viewer_refuse(&lc->v, &err);
    } else {
        console_viewer_recv(&lc->v, binary, lc->rx, lc->rxlen);
    }
    free(lc->rx);
    lc->rx = NULL;
    lc->rxlen = 0;
}

static int http(struct lws *wsi)
{
    char uri[64] = "";
    lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);
    if (strcmp(uri, "/healthz") != 0) {
        lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    unsigned char buf[LWS_PRE + 256], *start = buf + LWS_PRE, *p = start,
                                      *end = buf + sizeof(buf) - 1;
    if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "text/plain", 2, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    link_conn *lc = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return http(wsi);
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        unsigned char body[LWS_PRE + 2];
        memcpy(body + LWS_PRE, "ok", 2);
        if (lws_write(wsi, body + LWS_PRE, 2, LWS_WRITE_HTTP_FINAL) != 2)
            return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    case LWS_CALLBACK_ESTABLISHED:
        memset(lc, 0, sizeof(*lc));
        lc->wsi = wsi;
        lc->is_ws = 1;
        lc->next = conns;
        if (conns)
            conns->prev = lc;
        conns = lc;
        nconns++;
        if (stopping)
            reject(lc, VG_E_UNAVAILABLE, 1001, "hostd is shutting down");
        else
            attach(lc);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return lc && lc->is_ws ? writable(lc) : 0;
    case LWS_CALLBACK_RECEIVE:
        if (lc && lc->is_ws)
            receive(lc, in, len);
        return 0;
    case LWS_CALLBACK_CLOSED:
        if (!lc || !lc->is_ws)
            return 0;
        console_detach(&lc->v);
        free(lc->rx);
        lc->rx = NULL;
        if (lc->prev)
            lc->prev->next = lc->next;
        else
            conns = lc->next;
        if (lc->next)
            lc->next->prev = lc->prev;
        lc->is_ws = 0;
        nconns--;
        return 0;
    default:
        return 0;
    }
}

/* Both entries share one callback: a client that names no subprotocol lands on the first. */
static const struct lws_protocols protocols[] = {
    {"http", callback, sizeof(link_conn), 4096, 0, NULL, 0},
    {LINK_SUBPROTOCOL, callback, sizeof(link_conn), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

int link_start(struct ev_loop *loop, const link_config *c, vg_err *err)
{
    static void *loops[1];
    cfg = c;
    loops[0] = loop;
    lws_set_log_level(LLL_ERR | LLL_WARN, vg_log_lws);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = c->port;
    info.iface = c->bind;
    info.protocols = protocols;
    info.foreign_loops = loops;
    info.options = LWS_SERVER_OPTION_LIBEV;
    if (c->tls_cert && c->tls_cert[0]) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = c->tls_cert;
        info.ssl_private_key_filepath = c->tls_key;
        info.ssl_ca_filepath = c->tls_ca && c->tls_ca[0] ? c->tls_ca : NULL;
    }
    info.timeout_secs = 10;
    ctx = lws_create_context(&info);
    if (!ctx)
        return vg_fail(err, VG_E_INTERNAL, "cannot serve the link on %s:%d (port busy, TLS files?)",
                       c->bind, c->port);
    vg_info("link", "listening on %s://%s:%d", info.ssl_cert_filepath ? "wss" : "ws", c->bind,
            c->port);
    return VG_OK;
}

void link_shutdown(void)
{
    stopping = 1;
    for (link_conn *lc = conns; lc; lc = lc->next) {
        if (lc->rejecting)
            continue;
        if (lc->v.con)
            console_viewer_close(&lc->v, 1001);
        else
            reject(lc, VG_E_UNAVAILABLE, 1001, "hostd is shutting down");
    }
}

int link_count(void)
{
    return nconns;
}

void link_stop(void)
{
    if (ctx)
        lws_context_destroy(ctx);
    ctx = NULL;
}
