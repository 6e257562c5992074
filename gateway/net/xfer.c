#include "net/xfer.h"

#include "backend/linkws.h"
#include "net/content_length.h"
#include "net/http.h"
#include "vg_json.h"
#include "vg_log.h"
#include "vg_redis.h"
#include "vg_util.h"

#include <libwebsockets.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XFER_SUBPROTOCOL "vmgate.link.volume.v1"
#define XFER_LOW (GW_XFER_QUEUE_MAX / 4)
#define XFER_UPLOAD_MAX (64LL << 40)
#define XFER_TEXT_MAX 1024
/* A host whose volume stream is not open within this is unavailable. */
#define XFER_ANSWER_S 10.

typedef struct chunk {
    struct chunk *next;
    size_t len;
    unsigned char data[]; /* LWS_PRE headroom, then len bytes */
} chunk;

struct gw_xfer {
    gw *g;
    gw_xfer *prev, *next; /* every transfer, for the link keepalive */
    gw_call_owner owner;
    struct lws *http, *link;
    gw_linkws lw; /* the link's framing and TLS (backend/linkws.h) */
    int upload;
    long long length; /* the upload's Content-Length */
    int call_over;    /* the call answered, or its owner detached */
    gw_xfer_progress *progress;
    gw_xfer_end *end;
    void *priv;
    char host[65];
    unsigned char *hdr; /* LWS_PRE, then the header message */
    size_t hdr_len;
    int lookup, connecting; /* the link URL lookup, gw_linkws_connect in flight */
    int hdr_sent, ready, body_done, done_sent, link_ok, ended, closing_link;
    chunk *head, *tail;
    size_t queued;
    int http_paused, link_paused;
    long long bytes, size;
    int64_t last_progress;
    int headers_sent; /* download: the 200 and its headers went out */
    int answered;     /* the JSON answer went out */
    char *resp;       /* the JSON answer to write, once the call ended */
    int status;
    char volume[65];
};

static gw_xfer *xfers;

static void maybe_free(gw_xfer *x)
{
    if (x->http || x->link || x->lookup || x->connecting || !x->call_over)
        return;
    if (x->prev)
        x->prev->next = x->next;
    else
        xfers = x->next;
    if (x->next)
        x->next->prev = x->prev;
    for (chunk *c = x->head, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    gw_linkws_free(&x->lw);
    free(x->hdr);
    free(x->resp);
    free(x);
}

int gw_xfer_download(const char *method)
{
    return !strcmp(method, "volume.download") || !strcmp(method, "recording.download");
}

int gw_xfer_wanted(struct lws *wsi, const char *method)
{
    return (!strcmp(method, "volume.upload") || gw_xfer_download(method)) &&
           lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS) > 0;
}

gw_xfer *gw_xfer_of_call(const gw_call *c);
static void call_done(void *priv, const char *method, const cJSON *id, const cJSON *result,
                      const vg_err *err);

gw_xfer *gw_xfer_of_call(const gw_call *c)
{
    return c->owner && c->owner->done == call_done ? c->owner->priv : NULL;
}

long long gw_xfer_length(const gw_xfer *x)
{
    return x->length;
}

static void resume_http(gw_xfer *x)
{
    if (x->http && x->http_paused) {
        x->http_paused = 0;
        lws_rx_flow_control(x->http, 1);
    }
}

/* The transfer's outcome goes to the method once. */
static void end_transfer(gw_xfer *x, const vg_err *err)
{
    if (x->ended)
        return;
    x->ended = 1;
    if (x->end)
        x->end(x->priv, x->bytes, err);
}

static void fail_transfer(gw_xfer *x, vg_err_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail_transfer(gw_xfer *x, vg_err_code code, const char *fmt, ...)
{
    vg_err err;
    va_list ap;
    va_start(ap, fmt);
    vg_failv(&err, code, fmt, ap);
    va_end(ap);
    if (!x->ended)
        vg_warn("xfer", "%s on host %s: %s", x->upload ? "upload" : "download", x->host, err.msg);
    end_transfer(x, &err);
    if (x->link && !x->closing_link) {
        x->closing_link = 1;
        lws_set_timeout(x->link, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
    }
}

static void tick(gw_xfer *x)
{
    int64_t now = vg_mono_ms();
    if (x->progress && now - x->last_progress >= 1000) {
        x->last_progress = now;
        x->progress(x->priv, x->bytes);
    }
}

static int enqueue(gw_xfer *x, const void *in, size_t len)
{
    chunk *c = malloc(sizeof(*c) + LWS_PRE + len);
    if (!c)
        return VG_ERR;
    c->next = NULL;
    c->len = len;
    memcpy(c->data + LWS_PRE, in, len);
    if (x->tail)
        x->tail->next = c;
    else
        x->head = c;
    x->tail = c;
    x->queued += len;
    return VG_OK;
}

static chunk *dequeue(gw_xfer *x)
{
    chunk *c = x->head;
    if (!c)
        return NULL;
    x->head = c->next;
    if (!x->head)
        x->tail = NULL;
    x->queued -= c->len;
    return c;
}

/* ---- the HTTP side ---- */

/* The query's arguments as the call's params: offset as a number, the rest as strings (the
 * method's schema then judges them like any JSON). */
static cJSON *query_params(struct lws *wsi)
{
    cJSON *p = cJSON_CreateObject();
    char arg[256];
    for (int i = 0;
         p && lws_hdr_copy_fragment(wsi, arg, sizeof(arg), WSI_TOKEN_HTTP_URI_ARGS, i) > 0; i++) {
        char *eq = strchr(arg, '=');
        if (!eq)
            continue;
        *eq = '\0';
        const char *v = eq + 1;
        if (!strcmp(arg, "offset") && v[0] && strspn(v, "0123456789") == strlen(v) &&
            strlen(v) < 16)
            cJSON_AddNumberToObject(p, arg, (double)strtoll(v, NULL, 10));
        else if (!cJSON_GetObjectItemCaseSensitive(p, arg))
            cJSON_AddStringToObject(p, arg, v);
    }
    return p;
}

gw_xfer *gw_xfer_http_start(struct lws *wsi, const char *method, const char *token,
                            const char *addr, vg_err *err)
{
    int upload = !strcmp(method, "volume.upload");
    long long length = 0;
    if (upload) {
        char cl[64];
        size_t n = 0;
        int cl_len = lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH);
        if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0 || cl_len <= 0)
            return vg_fail(err, VG_E_BAD_REQUEST, "send the volume with a Content-Length"), NULL;
        if (gw_http_content_length(cl, (size_t)cl_len, (size_t)XFER_UPLOAD_MAX, &n, err) != VG_OK)
            return NULL;
        if (n == 0)
            return vg_fail(err, VG_E_BAD_REQUEST, "the upload is empty"), NULL;
        length = (long long)n;
    }
    gw_xfer *x = calloc(1, sizeof(*x));
    cJSON *params = query_params(wsi);
    char *body = params ? cJSON_PrintUnformatted(params) : NULL;
    gw_api_req req;
    if (!x || !body || gw_api_parse_http(method, body, strlen(body), &req, err) != VG_OK) {
        if (x && body)
            gw_api_req_free(&req);
        cJSON_Delete(params);
        free(body);
        free(x);
        if (!body)
            vg_fail(err, VG_E_INTERNAL, "out of memory");
        return NULL;
    }
    /* The download's file name: the volume's, or the recording's id with its extension. */
    const cJSON *vol = cJSON_GetObjectItemCaseSensitive(params, "volume");
    const cJSON *rec = cJSON_GetObjectItemCaseSensitive(params, "id");
    if (cJSON_IsString(vol))
        snprintf(x->volume, sizeof(x->volume), "%s", vol->valuestring);
    else if (cJSON_IsString(rec) && vg_valid_name(rec->valuestring))
        snprintf(x->volume, sizeof(x->volume), "%.40s.cast", rec->valuestring);
    else
        snprintf(x->volume, sizeof(x->volume), "volume");
    cJSON_Delete(params);
    free(body);
    x->g = gw_from_wsi(wsi);
    x->http = wsi;
    x->upload = upload;
    x->length = length;
    x->owner.done = call_done;
    x->owner.priv = x;
    gw_linkws_init(&x->lw, XFER_TEXT_MAX);
    x->next = xfers;
    if (xfers)
        xfers->prev = x;
    xfers = x;
    /* Nothing of the body is read before hostd is ready for it. */
    if (upload) {
        x->http_paused = 1;
        lws_rx_flow_control(wsi, 0);
    }
    gw_api_start(x->g, &x->owner, &req, token, addr, 0);
    return x;
}

void gw_xfer_http_body(gw_xfer *x, const void *in, size_t len)
{
    if (x->ended || !x->upload || x->resp || x->answered)
        return;
    if (enqueue(x, in, len) != VG_OK) {
        fail_transfer(x, VG_E_INTERNAL, "out of memory");
        return;
    }
    if (x->queued >= GW_XFER_QUEUE_MAX && !x->http_paused) {
        x->http_paused = 1;
        lws_rx_flow_control(x->http, 0);
    }
    if (x->link)
        lws_callback_on_writable(x->link);
}

int gw_xfer_http_body_done(gw_xfer *x)
{
    x->body_done = 1;
    if (x->link)
        lws_callback_on_writable(x->link);
    return x->answered ? -1 : 0;
}

static void call_done(void *priv, const char *method, const cJSON *id, const cJSON *result,
                      const vg_err *err)
{
    (void)method;
    (void)id;
    gw_xfer *x = priv;
    x->call_over = 1;
    if (!x->http) {
        maybe_free(x);
        return;
    }
    if (x->headers_sent) {
        /* A download whose bytes went out already: an error can only cut the body short. */
        if (err)
            lws_set_timeout(x->http, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        else
            lws_callback_on_writable(x->http);
        return;
    }
    x->status = err ? gw_api_http_status(err->code) : 200;
    x->resp = gw_api_response(NULL, 0, result, err);
    /* A refused upload's body is read and dropped: closed with unread input, the socket would
     * send a reset that destroys the answer before the client reads it. */
    x->ended = x->ended || err;
    resume_http(x);
    lws_callback_on_writable(x->http);
}

static int write_headers(gw_xfer *x, int status, const char *type, long long len,
                         const char *disposition)
{
    unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start,
                                       *end = buf + sizeof(buf) - 1;
    if (lws_add_http_common_headers(x->http, (unsigned int)status, type, (lws_filepos_t)len, &p,
                                    end) ||
        lws_add_http_header_by_name(x->http, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &p, end) ||
        lws_add_http_header_by_name(x->http, (const unsigned char *)"connection:",
                                    (const unsigned char *)"close", 5, &p, end) ||
        (disposition &&
         lws_add_http_header_by_name(x->http, (const unsigned char *)"content-disposition:",
                                     (const unsigned char *)disposition, (int)strlen(disposition),
                                     &p, end)) ||
        lws_finalize_write_http_header(x->http, start, &p, end))
        return -1;
    return 0;
}

int gw_xfer_http_writable(gw_xfer *x)
{
    if (x->resp && !x->headers_sent) {
        size_t len = strlen(x->resp);
        if (write_headers(x, x->status, "application/json", (long long)len, NULL))
            return -1;
        unsigned char *b = malloc(LWS_PRE + len + 1);
        if (!b)
            return -1;
        memcpy(b + LWS_PRE, x->resp, len);
        int n = lws_write(x->http, b + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
        free(b);
        free(x->resp);
        x->resp = NULL;
        x->headers_sent = 1;
        x->answered = 1;
        /* the connection ends with the answer, or once the rest of the body has been read */
        return n < 0 || !x->upload || x->body_done ? -1 : 0;
    }
    if (x->upload || !x->ready)
        return 0;
    if (!x->headers_sent) {
        char disp[128];
        snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", x->volume);
        if (write_headers(x, 200, "application/octet-stream", x->size, disp))
            return -1;
        x->headers_sent = 1;
    }
    if (x->head) {
        /* As much as the socket takes: a piece per callback left it idle between them. */
        chunk *c;
        do {
            c = dequeue(x);
            int n = lws_write(x->http, c->data + LWS_PRE, c->len, LWS_WRITE_HTTP);
            x->bytes += (long long)c->len;
            free(c);
            if (n < 0)
                return -1;
        } while (x->head && !lws_send_pipe_choked(x->http));
        /* lws' own timeout from the request (a few seconds) would cut a long download: the
         * client only has to keep taking the bytes, within idle_timeout each time. */
        lws_set_timeout(x->http, PENDING_TIMEOUT_HTTP_CONTENT, (int)x->g->cfg.idle_timeout);
        tick(x);
        if (x->link_paused && x->queued < XFER_LOW && x->link) {
            x->link_paused = 0;
            lws_rx_flow_control(x->link, 1);
        }
        lws_callback_on_writable(x->http);
        return 0;
    }
    if (x->link_ok) {
        end_transfer(x, NULL);
        return x->call_over ? -1 : 0;
    }
    return 0;
}

void gw_xfer_http_closed(gw_xfer *x)
{
    x->http = NULL;
    if (!x->call_over) {
        gw_call_owner_detach(&x->owner);
        x->call_over = 1;
    }
    if (x->ended)
        ;
    else if (!x->upload && x->ready && !x->head && (x->link_ok || x->bytes >= x->size))
        end_transfer(x, NULL); /* it had every byte: a client may close as soon as it has */
    else
        fail_transfer(x, VG_E_UNAVAILABLE, "the client left after %lld bytes", x->bytes);
    maybe_free(x);
}

/* ---- the link side ---- */

static void link_url_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_xfer *x = priv;
    x->lookup = 0;
    if (!reply || reply->type != REDIS_REPLY_STRING || !reply->len) {
        fail_transfer(x, VG_E_UNAVAILABLE, "host %s has no link URL in the registry", x->host);
        maybe_free(x);
        return;
    }
    if (x->ended) {
        maybe_free(x);
        return;
    }
    vg_err err;
    x->connecting = 1;
    int rc = gw_linkws_connect(&x->lw, x->g, x->g->link_tls, reply->str, "/link/volume",
                               XFER_SUBPROTOCOL, GW_XFER_LOCAL, x, &x->link, &err);
    x->connecting = 0;
    if (rc != VG_OK) {
        x->link = NULL;
        fail_transfer(x, VG_E_UNAVAILABLE, "host %s cannot be reached: %s", x->host, err.msg);
    }
    maybe_free(x);
}

void gw_xfer_run(gw_xfer *x, const char *host, const cJSON *header, gw_xfer_progress *progress,
                 gw_xfer_end *end, void *priv)
{
    x->progress = progress;
    x->end = end;
    x->priv = priv;
    x->last_progress = vg_mono_ms();
    snprintf(x->host, sizeof(x->host), "%s", host);
    char *h = cJSON_PrintUnformatted(header);
    x->hdr_len = h ? strlen(h) : 0;
    x->hdr = h ? malloc(LWS_PRE + x->hdr_len) : NULL;
    if (x->hdr)
        memcpy(x->hdr + LWS_PRE, h, x->hdr_len);
    free(h);
    if (!x->hdr) {
        fail_transfer(x, VG_E_INTERNAL, "out of memory");
        return;
    }
    x->lookup = 1;
    if (vg_redis_cmd(x->g->redis, link_url_cb, x, "HGET vg:host:%s link", host) != VG_OK) {
        x->lookup = 0;
        fail_transfer(x, VG_E_UNAVAILABLE, "Redis is not connected");
    }
}

/* hostd's texts: {"ready":true,"size":n}, {"ok":true,"bytes":n}, {"error":{code,message}}. */
static void link_message(void *user, int binary, unsigned char *data, size_t len)
{
    gw_xfer *x = user;
    (void)binary; /* binary messages come as pieces */
    if (x->ended)
        return;
    cJSON *o = vg_json_parse((const char *)data, len, NULL);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ready"))) {
        const cJSON *sz = cJSON_GetObjectItemCaseSensitive(o, "size");
        x->size = cJSON_IsNumber(sz) ? (long long)sz->valuedouble : 0;
        x->ready = 1;
        if (x->upload) {
            resume_http(x);
            lws_callback_on_writable(x->link);
        } else if (x->http)
            lws_callback_on_writable(x->http);
    } else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok"))) {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "bytes");
        x->link_ok = 1;
        if (x->upload) {
            if (cJSON_IsNumber(b))
                x->bytes = (long long)b->valuedouble;
            end_transfer(x, NULL);
        } else if (x->http)
            lws_callback_on_writable(x->http);
    } else if (cJSON_IsObject(e)) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
        fail_transfer(x, vg_err_code_from_name(cJSON_IsString(code) ? code->valuestring : ""), "%s",
                      cJSON_IsString(msg) ? msg->valuestring : "the host refused");
    } else {
        fail_transfer(x, VG_E_INTERNAL, "host %s answered the volume stream with no answer",
                      x->host);
    }
    cJSON_Delete(o);
}

/* A download's bytes as they arrive; past GW_XFER_QUEUE_MAX queued the link is not read until
 * the HTTP client has taken a good part of them. */
static void link_piece(void *user, unsigned char *data, size_t len, int fin)
{
    gw_xfer *x = user;
    (void)fin; /* the data is one stream, however hostd cuts it into messages */
    if (x->ended || !len)
        return;
    if (x->upload || !x->ready) {
        fail_transfer(x, VG_E_INTERNAL, "host %s sent data it was not asked for", x->host);
        return;
    }
    if (enqueue(x, data, len) != VG_OK) {
        fail_transfer(x, VG_E_INTERNAL, "out of memory");
        return;
    }
    if (x->queued >= GW_XFER_QUEUE_MAX && !x->link_paused && x->link) {
        x->link_paused = 1;
        lws_rx_flow_control(x->link, 0);
    }
    if (x->http)
        lws_callback_on_writable(x->http);
}

static void link_opened(void *user)
{
    gw_xfer *x = user;
    lws_callback_on_writable(x->link); /* the header */
}

/* The header, then an upload's queued body while the socket takes it, then done. */
static int link_writeable(void *user, struct lws *wsi)
{
    gw_xfer *x = user;
    if (x->ended)
        return -1;
    if (!x->hdr_sent) {
        x->hdr_sent = 1;
        return gw_linkws_send(&x->lw, wsi, x->hdr + LWS_PRE, x->hdr_len, 0) < 0 ? -1 : 0;
    }
    if (!x->upload || !x->ready)
        return 0;
    while (x->head) {
        if (lws_send_pipe_choked(wsi)) {
            lws_callback_on_writable(wsi);
            return 0;
        }
        chunk *c = dequeue(x);
        int rc = gw_linkws_send(&x->lw, wsi, c->data + LWS_PRE, c->len, 1);
        x->bytes += (long long)c->len;
        free(c);
        if (rc < 0)
            return -1;
        tick(x);
        if (x->queued < XFER_LOW)
            resume_http(x);
        if (rc > 0)
            return 0; /* linkws asked for the next callback */
    }
    if (x->body_done && !x->done_sent) {
        unsigned char done[LWS_PRE + 16];
        memcpy(done + LWS_PRE, "{\"done\":true}", 13);
        x->done_sent = 1;
        return gw_linkws_send(&x->lw, wsi, done + LWS_PRE, 13, 0) < 0 ? -1 : 0;
    }
    return 0;
}

static void link_gone(void *user, const vg_err *err)
{
    gw_xfer *x = user;
    const char *why = err ? err->msg : "closed";
    x->link = NULL;
    if (x->link_ok)
        ;
    else if (x->lw.state == GW_LINKWS_CONNECTING || x->lw.state == GW_LINKWS_HANDSHAKE)
        fail_transfer(x, VG_E_UNAVAILABLE, "host %s cannot be reached for the volume stream: %s",
                      x->host, why);
    else
        fail_transfer(x, VG_E_UNAVAILABLE, "host %s closed the volume stream after %lld bytes: %s",
                      x->host, x->bytes, why);
    maybe_free(x);
}

static const gw_linkws_ops link_ops = {
    .open = link_opened,
    .message = link_message,
    .piece = link_piece,
    .writeable = link_writeable,
    .gone = link_gone,
};

static int link_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    (void)user;
    gw_xfer *x = lws_get_opaque_user_data(wsi);
    return gw_linkws_callback(x ? &x->lw : NULL, wsi, (int)reason, in, len, &link_ops, x);
}

void gw_xfer_keepalive(gw *g, int64_t now_ms)
{
    for (gw_xfer *x = xfers; x; x = x->next) {
        if (!x->link || x->closing_link)
            continue;
        /* A paused link is not read: the HTTP client's pace is not hostd's silence. */
        if (x->link_paused)
            gw_keepalive_seen(&x->lw.ka);
        if (gw_linkws_keepalive(&x->lw, x->link, &g->cfg, now_ms, XFER_ANSWER_S))
            fail_transfer(x, VG_E_UNAVAILABLE, "host %s went silent on the volume stream", x->host);
    }
}

const struct lws_protocols gw_xfer_protocol = {
    GW_XFER_LOCAL, link_callback, 0, 65536, 0, NULL, 0,
};
