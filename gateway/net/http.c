#include "net/http.h"

#include "net/clientaddr.h"
#include "api/api.h"
#include "core/prom.h"
#include "core/auth.h"
#include "console/console.h"
#include "vg_log.h"
#include "vg_util.h"
#include "net/wsq.h"
#include "net/xfer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_PREFIX "/api/v1/"
/* The longest request path read; a longer one is no API path (404). */
#define URI_MAX 256

typedef struct http_pss {
    gw_call_owner owner;
    gw_wsbuf body;
    char method[URI_MAX]; /* the whole path fits: a method name is never cut short */
    char token[GW_TOKEN_HEX + 1];
    int has_token;
    char addr[64];
    int too_big;
    int dispatched; /* the request went to the API; at most once per request */
    int answered;   /* a response is ready in resp */
    int status;
    char *resp;
    char cookie[GW_TOKEN_HEX + 1]; /* login: the new session for Set-Cookie */
    int clear_cookie;              /* logout */
    const char *content_type;
    int close_after;
    /* A too big body is refused at once, but the close waits for its last byte: closed with
     * unread input, the socket sends a reset that destroys the answer before the client reads
     * it (it sees ECONNRESET, not 413). */
    int drain_body;
    gw_xfer *xfer; /* volume.upload / volume.download: the body or answer is a stream */
} http_pss;

int gw_http_origin_ok(const char *origin, const char *host, const char *allowed)
{
    if (host && *host) {
        size_t hl = strlen(host);
        if (!strncmp(origin, "https://", 8) && strlen(origin) == 8 + hl &&
            !strcasecmp(origin + 8, host))
            return 1;
    }
    const char *p = allowed ? allowed : "";
    size_t ol = strlen(origin);
    while (*p) {
        while (*p == ',' || *p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ')
            e++;
        if ((size_t)(e - p) == ol && ol && !strncasecmp(p, origin, ol))
            return 1;
        p = e;
    }
    return 0;
}

int gw_http_token(struct lws *wsi, char *out)
{
    char buf[1024];
    if (lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_AUTHORIZATION) > 0 &&
        gw_auth_parse_bearer(buf, out))
        return GW_TOKEN_BEARER;
    if (lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_COOKIE) > 0 &&
        gw_auth_parse_cookie(buf, out))
        return GW_TOKEN_COOKIE;
    return GW_TOKEN_NONE;
}

const char *gw_http_cross_site(const char *origin, const char *host, const char *allowed,
                               int token_source, int custom_header)
{
    /* A browser adds a bearer token only when a script does, and a foreign page's script
     * cannot read the answer (no CORS), so bearer calls carry their own proof. */
    if (token_source == GW_TOKEN_BEARER)
        return NULL;
    if (origin)
        return gw_http_origin_ok(origin, host, allowed) ? NULL : "Origin not allowed";
    /* No Origin: an old browser, or not a browser. A cookie then needs the custom header,
     * which a foreign page cannot add without a CORS preflight the gateway never grants. */
    if (token_source == GW_TOKEN_COOKIE && !custom_header)
        return "a call authenticated by the session cookie needs an Origin or an "
               "X-Vmgate-Request header";
    return NULL;
}

static int refuse(struct lws *wsi, unsigned int status, const char *why)
{
    char peer[64];
    lws_get_peer_simple(wsi, peer, sizeof(peer));
    vg_info("http", "refused WebSocket upgrade from %s: %s", peer, why);
    lws_return_http_status(wsi, status, why);
    return 1;
}

int gw_http_confirm_upgrade(struct lws *wsi)
{
    gw *g = gw_from_wsi(wsi);
    char uri[128] = "", proto[128] = "", origin[256], host[256] = "";
    if (!lws_is_ssl(wsi))
        return refuse(wsi, HTTP_STATUS_FORBIDDEN, "WebSockets need TLS (wss://)");
    lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);
    lws_hdr_copy(wsi, proto, sizeof(proto), WSI_TOKEN_PROTOCOL);
    lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST);
    int o = lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN);
    if (o < 0 || (o > 0 && !gw_http_origin_ok(origin, host, g->cfg.allowed_origins)))
        return refuse(wsi, HTTP_STATUS_FORBIDDEN, "Origin not allowed");
    const char *want = !strcmp(uri, "/ws/api")       ? "vmgate.api.v1"
                       : !strcmp(uri, "/ws/console") ? GW_CONSOLE_PROTOCOL
                                                     : NULL;
    if (!want)
        return refuse(wsi, HTTP_STATUS_NOT_FOUND, "no WebSocket endpoint here");
    /* lws picks the protocol by subprotocol name; insist it is the one this path serves. */
    int found = 0;
    for (char *tok = strtok(proto, ", "); tok; tok = strtok(NULL, ", "))
        found |= !strcmp(tok, want);
    if (!found)
        return refuse(wsi, HTTP_STATUS_BAD_REQUEST, "wrong or missing WebSocket subprotocol");
    if (!strcmp(want, GW_CONSOLE_PROTOCOL)) {
        char t[80];
        if (lws_get_urlarg_by_name(wsi, "ticket=", t, sizeof(t)) == NULL)
            return refuse(wsi, HTTP_STATUS_UNAUTHORIZED, "a console ticket is required");
    }
    return 0;
}

static void api_done(void *priv, const char *method, const cJSON *id, const cJSON *result,
                     const vg_err *err)
{
    (void)id;
    struct lws *wsi = priv;
    http_pss *pss = lws_wsi_user(wsi);
    pss->status = err ? gw_api_http_status(err->code) : 200;
    pss->resp = gw_api_response(NULL, 0, result, err);
    pss->content_type = "application/json";
    /* An export is the file itself, so `curl -o` saves what a spreadsheet or jq reads. */
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(result, "data");
    if (!err && !strcmp(method, "audit.export") && cJSON_IsString(data)) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(result, "format");
        free(pss->resp);
        pss->resp = strdup(data->valuestring);
        pss->content_type = cJSON_IsString(f) && !strcmp(f->valuestring, "csv")
                                ? "text/csv; charset=utf-8"
                                : "application/x-ndjson";
    }
    if (!err && !strcmp(method, "login")) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(result, "token");
        if (cJSON_IsString(t))
            snprintf(pss->cookie, sizeof(pss->cookie), "%s", t->valuestring);
    }
    if (!err && !strcmp(method, "logout"))
        pss->clear_cookie = 1;
    pss->answered = 1;
    lws_callback_on_writable(wsi);
}

static void answer_error(struct lws *wsi, http_pss *pss, vg_err_code code, const char *msg)
{
    vg_err err;
    vg_fail(&err, code, "%s", msg);
    api_done(wsi, pss->method, NULL, NULL, &err);
}

static void answer_text(struct lws *wsi, http_pss *pss, int status, const char *text)
{
    pss->status = status;
    pss->resp = strdup(text);
    pss->content_type = "text/plain; charset=utf-8";
    pss->answered = 1;
    lws_callback_on_writable(wsi);
}

/* Prometheus scrapes with the bearer token of metrics_token_file (docs/monitoring.md); without
 * one configured, nothing may scrape. */
static void answer_metrics(struct lws *wsi, http_pss *pss)
{
    gw *g = gw_from_wsi(wsi);
    char token[GW_TOKEN_HEX + 1] = "";
    if (gw_http_token(wsi, token) != GW_TOKEN_BEARER || !g->metrics_token ||
        !vg_const_eq(token, g->metrics_token)) {
        vg_info("http", "refused /metrics from %s", pss->addr);
        answer_text(wsi, pss, 401, "unauthorized\n");
        return;
    }
    char *text = gw_prom_text(g);
    if (!text) {
        answer_text(wsi, pss, 500, "out of memory\n");
        return;
    }
    pss->status = 200;
    pss->resp = text;
    pss->content_type = "text/plain; version=0.0.4; charset=utf-8";
    pss->answered = 1;
    lws_callback_on_writable(wsi);
}

static void dispatch(struct lws *wsi, http_pss *pss)
{
    gw *g = gw_from_wsi(wsi);
    if (pss->dispatched)
        return;
    pss->dispatched = 1;
    if (pss->too_big) {
        pss->close_after = 1;
        answer_error(wsi, pss, VG_E_TOO_BIG, "request body exceeds 65536 bytes");
        return;
    }
    gw_api_req req;
    vg_err err;
    if (gw_api_parse_http(pss->method, (const char *)pss->body.data, pss->body.len, &req, &err) !=
        VG_OK) {
        gw_api_req_free(&req);
        answer_error(wsi, pss, err.code, err.msg);
        return;
    }
    gw_wsbuf_free(&pss->body);
    pss->owner.done = api_done;
    pss->owner.priv = wsi;
    gw_api_start(g, &pss->owner, &req, pss->has_token ? pss->token : NULL, pss->addr, 0);
}

/* The HTTP API is safe from cross-site requests (docs/security.md "Transport"). A refused call
 * never reaches the API; its body is not read. */
static int refuse_cross_site(struct lws *wsi, http_pss *pss)
{
    gw *g = gw_from_wsi(wsi);
    char origin[256] = "", host[256] = "";
    int o = lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN);
    lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST);
    int custom =
        lws_hdr_custom_length(wsi, GW_HTTP_REQUEST_HDR, (int)strlen(GW_HTTP_REQUEST_HDR)) > 0;
    const char *why = o < 0 ? "Origin too long"
                            : gw_http_cross_site(o > 0 ? origin : NULL, host,
                                                 g->cfg.allowed_origins, pss->has_token, custom);
    if (!why)
        return 0;
    vg_info("http", "refused cross-site %s from %s: %s", pss->method, pss->addr, why);
    char msg[160];
    snprintf(msg, sizeof(msg), "cross-site request refused: %s", why);
    pss->dispatched = 1;
    pss->close_after = 1;
    answer_error(wsi, pss, VG_E_FORBIDDEN, msg);
    return 1;
}

/* Refuses a request whose body cannot be read as announced; the connection closes after the
 * answer, since the bytes that follow on it are no longer known to be a next request. */
static void refuse_body(struct lws *wsi, http_pss *pss, const vg_err *err)
{
    pss->dispatched = 1;
    pss->close_after = 1;
    answer_error(wsi, pss, err->code, err->msg);
}

/* A download is a GET (a browser link saves it); its session comes as for any call. */
static int start_xfer(struct lws *wsi, http_pss *pss)
{
    vg_err err;
    pss->has_token = gw_http_token(wsi, pss->token);
    pss->dispatched = 1;
    pss->xfer =
        gw_xfer_http_start(wsi, pss->method, pss->has_token ? pss->token : NULL, pss->addr, &err);
    if (!pss->xfer)
        refuse_body(wsi, pss, &err);
    return 0;
}

static int start_request(struct lws *wsi, http_pss *pss)
{
    char uri[URI_MAX] = "";
    gw_call_owner_detach(&pss->owner);
    gw_wsbuf_free(&pss->body);
    free(pss->resp);
    memset(pss, 0, sizeof(*pss));
    gw_client_addr(wsi, pss->addr, sizeof(pss->addr));
    pss->body.limit = GW_API_MAX_BODY;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0) {
        lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);
        if (!strcmp(uri, "/healthz")) {
            answer_text(wsi, pss, 200, "ok\n");
            return 0;
        }
        if (!strcmp(uri, "/metrics")) {
            answer_metrics(wsi, pss);
            return 0;
        }
        if (!strncmp(uri, API_PREFIX, strlen(API_PREFIX))) {
            snprintf(pss->method, sizeof(pss->method), "%s", uri + strlen(API_PREFIX));
            if (gw_xfer_download(pss->method) && gw_xfer_wanted(wsi, pss->method))
                return start_xfer(wsi, pss);
            answer_error(wsi, pss, VG_E_BAD_REQUEST, "API methods are called with POST");
            return 0;
        }
        answer_text(wsi, pss, 404, "not found\n");
        return 0;
    }
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) <= 0 ||
        lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_POST_URI) <= 0 ||
        strncmp(uri, API_PREFIX, strlen(API_PREFIX)) != 0) {
        answer_text(wsi, pss, 404, "not found\n");
        return 0;
    }
    snprintf(pss->method, sizeof(pss->method), "%s", uri + strlen(API_PREFIX));
    pss->has_token = gw_http_token(wsi, pss->token);
    if (refuse_cross_site(wsi, pss))
        return 0;
    if (gw_xfer_wanted(wsi, pss->method))
        return start_xfer(wsi, pss);
    /* lws reads the length with atoll and waits for that many bytes (for -5 a huge number,
     * for "5,5" of two headers 5): it is checked here first, and answered before any body. */
    char cl[64];
    int cl_len = lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH);
    vg_err err;
    size_t body_len = 0;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
        /* lws 4.1 does not decode chunked request bodies; with a Content-Length as well the
         * two could frame the body differently (request smuggling). */
        vg_fail(&err, VG_E_BAD_REQUEST, "send the body with a Content-Length only");
        refuse_body(wsi, pss, &err);
    } else if (cl_len < 0) {
        vg_fail(&err, VG_E_BAD_REQUEST, "Content-Length header too long");
        refuse_body(wsi, pss, &err);
    } else if (cl_len > 0) {
        if (gw_http_content_length(cl, (size_t)cl_len, GW_API_MAX_BODY, &body_len, &err) != VG_OK) {
            pss->drain_body = err.code == VG_E_TOO_BIG && body_len <= GW_WSBUF_DRAIN_MAX;
            refuse_body(wsi, pss, &err);
        } else if (body_len == 0) {
            dispatch(wsi, pss);
        }
    } else {
        /* No length and no chunks: there is no body, so no BODY callbacks will come. */
        dispatch(wsi, pss);
    }
    return 0;
}

static int write_response(struct lws *wsi, http_pss *pss)
{
    unsigned char buf[LWS_PRE + 2048], *start = buf + LWS_PRE, *p = start,
                                       *end = buf + sizeof(buf) - 1;
    size_t len = pss->resp ? strlen(pss->resp) : 0;
    if (lws_add_http_common_headers(wsi, (unsigned int)pss->status, pss->content_type, len, &p,
                                    end))
        return -1;
    if (lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &p, end))
        return -1;
    if (pss->cookie[0] || pss->clear_cookie) {
        char c[200];
        gw *g = gw_from_wsi(wsi);
        int n = pss->cookie[0] ? snprintf(c, sizeof(c),
                                          "vg_session=%s; Path=/; Max-Age=%ld; Secure; "
                                          "HttpOnly; SameSite=Strict",
                                          pss->cookie, g->cfg.session_ttl)
                               : snprintf(c, sizeof(c),
                                          "vg_session=; Path=/; Max-Age=0; "
                                          "Secure; HttpOnly; SameSite=Strict");
        if (lws_add_http_header_by_name(
                wsi, (const unsigned char *)"set-cookie:", (const unsigned char *)c, n, &p, end))
            return -1;
    }
    if (pss->close_after && lws_add_http_header_by_name(wsi, (const unsigned char *)"connection:",
                                                        (const unsigned char *)"close", 5, &p, end))
        return -1;
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    /* The response is small: one write, lws buffers whatever the socket does not take. */
    unsigned char *body = malloc(LWS_PRE + len + 1);
    if (!body)
        return -1;
    memcpy(body + LWS_PRE, pss->resp ? pss->resp : "", len);
    int n = lws_write(wsi, body + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
    free(body);
    free(pss->resp);
    pss->resp = NULL;
    pss->answered = 0;
    if (n < 0)
        return -1;
    if (pss->close_after) /* at once, or after the rest of a too big body */
        return pss->drain_body ? 0 : -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    http_pss *pss = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return gw_http_confirm_upgrade(wsi);
    case LWS_CALLBACK_HTTP:
        return start_request(wsi, pss);
    case LWS_CALLBACK_HTTP_BODY: {
        if (pss->xfer) {
            gw_xfer_http_body(pss->xfer, in, len);
            return 0;
        }
        if (pss->too_big || pss->dispatched)
            return 0;
        int rc = gw_wsbuf_add(&pss->body, in, len, 0, 0);
        if (rc == VG_ERR) {
            pss->too_big = 1;
            gw_wsbuf_free(&pss->body);
        }
        return 0;
    }
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (pss->xfer)
            return gw_xfer_http_body_done(pss->xfer);
        if (pss->drain_body) {
            /* The answer closes the connection when it is written; if it was, close now. */
            pss->drain_body = 0;
            return pss->answered ? 0 : -1;
        }
        dispatch(wsi, pss);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (pss && pss->xfer)
            return gw_xfer_http_writable(pss->xfer);
        if (!pss || !pss->answered)
            return 0;
        return write_response(wsi, pss);
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (pss) {
            if (pss->xfer)
                gw_xfer_http_closed(pss->xfer);
            pss->xfer = NULL;
            gw_call_owner_detach(&pss->owner);
            gw_wsbuf_free(&pss->body);
            free(pss->resp);
            pss->resp = NULL;
        }
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

const struct lws_protocols gw_http_protocol = {
    GW_HTTP_PROTOCOL, callback, sizeof(http_pss), 0, 0, NULL, 0,
};
