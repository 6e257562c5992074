#include "ctl_http.h"

#include "vg_json.h"

#include <errno.h>
#include <libwebsockets.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (64 * 1024)
#define ANSWER_MAX (64 * 1024) /* a JSON answer; a larger one is not the gateway's */

struct ctl_http {
    ctl_net *net;
    ctl_http_req req;
    char *bearer;
    long long bytes, total;
    int status;                /* the answer's HTTP status, 0 before it came */
    int complete;              /* the whole answer arrived */
    int connecting, destroyed; /* inside ctl_net_connect; lws ended the connection there */
    vg_err err;                /* the first failure (code VG_E_NONE: none) */
    char *answer;              /* a JSON answer (any upload answer, a refused download) */
    size_t answer_len;
    unsigned char buf[LWS_PRE + CHUNK];
};

static void fail(ctl_http *h, vg_err_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(ctl_http *h, vg_err_code code, const char *fmt, ...)
{
    if (h->err.code != VG_E_NONE)
        return;
    va_list ap;
    va_start(ap, fmt);
    vg_failv(&h->err, code, fmt, ap);
    va_end(ap);
}

/* The end of the connection: the outcome goes to the caller, then the transfer is freed. */
static void finish(ctl_http *h)
{
    cJSON *root = NULL;
    const cJSON *result = NULL;
    if (h->err.code == VG_E_NONE && !h->complete)
        fail(h, VG_E_UNAVAILABLE, "unavailable: the connection to the gateway %s",
             h->status ? "was cut before the transfer ended" : "failed");
    if (h->err.code == VG_E_NONE && h->answer) {
        root = vg_json_parse(h->answer, h->answer_len, NULL);
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
        result = cJSON_GetObjectItemCaseSensitive(root, "result");
        if (e) {
            const char *cs = cJSON_IsString(code) ? code->valuestring : "internal";
            vg_fail(&h->err, vg_err_code_from_name(cs), "%.40s: %s", cs,
                    cJSON_IsString(msg) ? msg->valuestring : "(no message)");
        } else if (!result)
            fail(h, VG_E_INTERNAL, "internal: the gateway answered HTTP %s without a result",
                 h->status == 200 ? "200" : "with an error");
    }
    if (h->err.code == VG_E_NONE && !h->req.upload && h->total >= 0 && h->bytes != h->total)
        fail(h, VG_E_UNAVAILABLE, "%s", "unavailable: the download was cut short");
    ctl_net_hold(h->net, -1);
    h->req.end(result, h->err.code == VG_E_NONE ? NULL : &h->err, h->bytes, h->req.ud);
    cJSON_Delete(root);
    free(h->answer);
    free(h->bearer);
    free(h);
}

static int keep_answer(ctl_http *h, const void *in, size_t len)
{
    if (h->answer_len + len > ANSWER_MAX) {
        fail(h, VG_E_INTERNAL, "%s", "internal: the gateway's answer is too large");
        return -1;
    }
    char *a = realloc(h->answer, h->answer_len + len + 1);
    if (!a) {
        fail(h, VG_E_INTERNAL, "%s", "out of memory");
        return -1;
    }
    memcpy(a + h->answer_len, in, len);
    h->answer = a;
    h->answer_len += len;
    return 0;
}

static int add_headers(ctl_http *h, struct lws *wsi, unsigned char **p, unsigned char *end)
{
    char auth[600];
    int n = snprintf(auth, sizeof(auth), "Bearer %s", h->bearer);
    if (n < 0 || (size_t)n >= sizeof(auth) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, (unsigned char *)auth, n, p,
                                     end))
        return -1;
    if (!h->req.upload)
        return 0;
    if (lws_add_http_header_content_length(wsi, (lws_filepos_t)h->req.upload, p, end))
        return -1;
    lws_client_http_body_pending(wsi, 1);
    lws_callback_on_writable(wsi);
    return 0;
}

/* The next chunk of the body; the last one ends the request. */
static int send_body(ctl_http *h, struct lws *wsi)
{
    long long left = h->req.upload - h->bytes;
    size_t want = left < CHUNK ? (size_t)left : CHUNK;
    ssize_t n;
    do
        n = read(h->req.fd, h->buf + LWS_PRE, want);
    while (n < 0 && errno == EINTR);
    if (n <= 0) {
        fail(h, VG_E_BAD_REQUEST, "the file ended or could not be read before its length (%s)",
             n < 0 ? strerror(errno) : "end of file");
        return -1;
    }
    int last = (long long)n == left;
    if (lws_write(wsi, h->buf + LWS_PRE, (size_t)n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
        (int)n) {
        fail(h, VG_E_UNAVAILABLE, "%s", "unavailable: the gateway stopped reading the upload");
        return -1;
    }
    h->bytes += n;
    h->req.progress(h->bytes, h->total, h->req.ud);
    if (last)
        lws_client_http_body_pending(wsi, 0);
    else
        lws_callback_on_writable(wsi);
    return 0;
}

static int received(ctl_http *h, const void *in, size_t len)
{
    if (h->req.upload || h->status != 200)
        return keep_answer(h, in, len);
    const unsigned char *p = in;
    while (len) {
        ssize_t n = write(h->req.fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fail(h, VG_E_INTERNAL, "cannot write the download: %s", strerror(errno));
            return -1;
        }
        p += n;
        len -= (size_t)n;
        h->bytes += n;
    }
    h->req.progress(h->bytes, h->total, h->req.ud);
    return 0;
}

/* The connection's last word to this protocol (lws sends WSI_DESTROY to the context's first
 * protocol only). */
static void closed(ctl_http *h, struct lws *wsi)
{
    lws_set_opaque_user_data(wsi, NULL);
    if (h->connecting)
        h->destroyed = 1; /* ctl_http_start finishes it */
    else
        finish(h);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    (void)user;
    ctl_http *h = lws_get_opaque_user_data(wsi);
    if (!h)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        if (!ctl_net_peer_ok(h->net, wsi)) {
            fail(h, VG_E_UNAVAILABLE, "the gateway's certificate is not valid for %s",
                 "the URL's address");
            return -1;
        }
        return add_headers(h, wsi, (unsigned char **)in, *(unsigned char **)in + len);
    case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE:
        return h->req.upload && h->bytes < h->req.upload ? send_body(h, wsi) : 0;
    case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP: {
        char cl[32];
        h->status = (int)lws_http_client_http_response(wsi);
        if (!h->req.upload && h->status == 200 &&
            lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
            h->total = strtoll(cl, NULL, 10);
        return 0;
    }
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
        char *px = (char *)h->buf + LWS_PRE;
        int lenx = CHUNK;
        return lws_http_client_read(wsi, &px, &lenx) < 0 ? -1 : 0;
    }
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
        return received(h, in, len);
    case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
        h->complete = 1;
        return -1; /* the gateway closes a transfer's connection too */
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        fail(h, VG_E_UNAVAILABLE, "unavailable: cannot reach the gateway: %s",
             in ? (const char *)in : "connection failed");
        closed(h, wsi);
        return 0;
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
        closed(h, wsi);
        return 0;
    default:
        return 0;
    }
}

const struct lws_protocols ctl_http_protocol = {"vmgatectl-http", callback, 0, 0, 0, NULL, 0};

int ctl_http_start(ctl_net *net, const ctl_http_req *req, vg_err *err)
{
    ctl_http *h = calloc(1, sizeof(*h));
    char path[1024];
    int n = snprintf(path, sizeof(path), "%s%s", ctl_net_prefix(net), req->path_and_query);
    if (!h || !(h->bearer = strdup(req->bearer)) || n < 0 || (size_t)n >= sizeof(path)) {
        if (h)
            free(h->bearer);
        free(h);
        return vg_fail(err, VG_E_INTERNAL,
                       "cannot start the transfer (out of memory or a "
                       "path too long)");
    }
    h->net = net;
    h->req = *req;
    h->total = req->upload ? req->upload : -1;
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof(ci));
    ci.method = req->upload ? "POST" : "GET";
    ci.alpn = "http/1.1";
    ci.local_protocol_name = ctl_http_protocol.name;
    ci.opaque_user_data = h;
    ctl_net_hold(net, 1);
    h->connecting = 1;
    struct lws *wsi = ctl_net_connect(net, &ci, path);
    h->connecting = 0;
    if (!wsi || h->destroyed) {
        fail(h, VG_E_UNAVAILABLE, "%s", "unavailable: cannot connect to the gateway");
        finish(h);
    }
    return VG_OK;
}
