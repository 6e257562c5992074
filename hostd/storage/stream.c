#include "storage/stream.h"

#include "libvirt/virt.h"
#include "libvirt/virt_ev.h"
#include "libvirt/vmops_int.h"
#include "link/secret.h"
#include "recording/recorder.h"
#include "storage/poolxml.h"
#include "storage/storage.h"
#include "vg_json.h"
#include "vg_log.h"

#include <libvirt/virterror.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct stream_conn {
    struct lws *wsi;
    /* A libvirt connection of the stream's own, whose socket is read only while the gateway
     * can take more (virt_ev.h: libvirt's client would queue the whole volume otherwise). */
    virConnectPtr conn;
    int ev_from, ev_to; /* its handles in virt_ev */
    int held;
    virStreamPtr st;
    int upload;
    int started;  /* the header was accepted */
    int watching; /* a libvirt stream callback is registered */
    int finished; /* the stream ended (finish or abort) */
    int paused;   /* the gateway's input is held while libvirt catches up */
    int closing;  /* the last text is queued; close after it */
    long long bytes, size;
    unsigned char *pend; /* upload: what libvirt did not take yet */
    size_t pend_len, pend_off;
    char text[LWS_PRE + 512]; /* the next text message to send, at text + LWS_PRE */
    size_t text_len;
    char name[200];
    int fd; /* a recording's file (op recording), else -1 */
} stream_conn;

static void queue_text(stream_conn *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void queue_text(stream_conn *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->text + LWS_PRE, sizeof(s->text) - LWS_PRE, fmt, ap);
    va_end(ap);
    s->text_len = n < 0                                   ? 0
                  : (size_t)n < sizeof(s->text) - LWS_PRE ? (size_t)n
                                                          : sizeof(s->text) - LWS_PRE - 1;
    lws_callback_on_writable(s->wsi);
}

/* Reads libvirt's socket (hold 0) or leaves it be (hold 1). */
static void hold(stream_conn *s, int h)
{
    if (s->conn && s->held != h) {
        s->held = h;
        hd_virt_ev_hold(s->ev_from, s->ev_to, h);
    }
}

static void stop_stream(stream_conn *s, int abort)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    if (s->st) {
        if (s->watching)
            virStreamEventRemoveCallback(s->st);
        s->watching = 0;
        /* Abort and finish talk to libvirtd over the socket. */
        hold(s, 0);
        if (!s->finished && abort)
            virStreamAbort(s->st);
        s->finished = 1;
        virStreamFree(s->st);
        s->st = NULL;
    }
    if (s->conn) {
        hold(s, 0);
        virConnectClose(s->conn);
        s->conn = NULL;
    }
    virResetLastError();
}

/* The stream's own connection to the libvirt hostd manages. */
static virConnectPtr own_conn(stream_conn *s, vg_err *err)
{
    if (!hd_vmops_conn(err))
        return NULL; /* libvirt is reconnecting: unavailable */
    s->ev_from = hd_virt_ev_mark();
    s->conn = virConnectOpen(hd_virt_uri());
    s->ev_to = hd_virt_ev_mark();
    if (!s->conn)
        hd_vmops_lv_fail(err);
    return s->conn;
}

/* Ends the transfer with an error text and closes. */
static void fail(stream_conn *s, const vg_err *err)
{
    vg_warn("stream", "%s: %s", s->name, err->msg);
    stop_stream(s, 1);
    cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "code", vg_err_code_name(err->code));
    cJSON_AddStringToObject(e, "message", err->msg);
    char *t = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    queue_text(s, "%s",
               t ? t : "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
    free(t);
    s->closing = 1;
}

static void fail_lv(stream_conn *s)
{
    vg_err err;
    hd_vmops_lv_fail(&err);
    fail(s, &err);
}

static void finish(stream_conn *s)
{
    hold(s, 0);
    if (s->st && virStreamFinish(s->st) < 0) {
        fail_lv(s);
        return;
    }
    s->finished = 1;
    stop_stream(s, 0);
    vg_info("stream", "%s: %s %lld bytes", s->name, s->upload ? "uploaded" : "downloaded",
            s->bytes);
    queue_text(s, "{\"ok\":true,\"bytes\":%lld}", s->bytes);
    s->closing = 1;
}

/* Upload: hands libvirt what it did not take yet; 1 when all of it went. */
static int push(stream_conn *s)
{
    hold(s, 0);
    while (s->pend_off < s->pend_len) {
        int n =
            virStreamSend(s->st, (const char *)s->pend + s->pend_off, s->pend_len - s->pend_off);
        if (n == -2)
            return 0;
        if (n < 0) {
            fail_lv(s);
            return 0;
        }
        s->pend_off += (size_t)n;
        s->bytes += n;
    }
    s->pend_len = s->pend_off = 0;
    return 1;
}

static void stream_event(virStreamPtr st, int events, void *opaque)
{
    (void)st;
    stream_conn *s = opaque;
    if (events & (VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP)) {
        vg_err err;
        vg_fail(&err, VG_E_INTERNAL, "libvirt ended the volume stream");
        fail(s, &err);
        return;
    }
    if (s->upload) {
        if (s->pend_len && push(s) && s->paused) {
            s->paused = 0;
            virStreamEventUpdateCallback(s->st, 0);
            lws_rx_flow_control(s->wsi, 1);
        }
    } else if (events & VIR_STREAM_EVENT_READABLE) {
        /* libvirt queued what its socket had: nothing more until the gateway took it. */
        hold(s, 1);
        virStreamEventUpdateCallback(s->st, 0);
        lws_callback_on_writable(s->wsi);
    }
}

/* {"op":"recording","id"}: a console recording's file, read as it is (hostd/recording). */
static int start_recording(stream_conn *s, const cJSON *h, vg_err *err)
{
    const char *id = NULL;
    if (hd_rpc_string(h, "id", 1, 64, &id, err) != VG_OK ||
        hd_rec_open(id, &s->fd, &s->size, err) != VG_OK)
        return VG_ERR;
    snprintf(s->name, sizeof(s->name), "recording %s", id);
    s->started = 1;
    return VG_OK;
}

/* {"op":"upload"|"download","pool","volume","offset"?,"length"?} or {"op":"recording","id"} */
static void start(stream_conn *s, const char *buf, size_t len)
{
    vg_err err = {0};
    cJSON *h = vg_json_parse(buf, len, &err);
    const cJSON *opj = cJSON_GetObjectItemCaseSensitive(h, "op");
    if (cJSON_IsString(opj) && !strcmp(opj->valuestring, "recording")) {
        start_recording(s, h, &err);
        cJSON_Delete(h);
        if (!s->started) {
            fail(s, &err);
            return;
        }
        vg_info("stream", "%s: download of %lld bytes", s->name, s->size);
        queue_text(s, "{\"ready\":true,\"size\":%lld}", s->size);
        return;
    }
    const char *op = NULL;
    long long offset = 0, length = 0;
    virConnectPtr c = h ? own_conn(s, &err) : NULL;
    virStorageVolPtr v = NULL;
    char *path = NULL;
    if (c && hd_rpc_string(h, "op", 1, 16, &op, &err) == VG_OK &&
        hd_rpc_int(h, "offset", 0, 0, 1LL << 50, &offset, &err) == VG_OK &&
        hd_rpc_int(h, "length", 0, 0, 1LL << 50, &length, &err) == VG_OK &&
        (v = hd_storage_call_volume(c, h, &err))) {
        snprintf(s->name, sizeof(s->name), "%s/%s", cJSON_GetObjectItem(h, "pool")->valuestring,
                 virStorageVolGetName(v));
        s->upload = !strcmp(op, "upload");
        virStorageVolInfo info;
        if (!s->upload && strcmp(op, "download"))
            vg_fail(&err, VG_E_BAD_REQUEST, "op must be upload or download");
        else if (!(path = virStorageVolGetPath(v)) ||
                 virStorageVolGetInfoFlags(v, &info, VIR_STORAGE_VOL_GET_PHYSICAL) < 0)
            hd_vmops_lv_fail(&err);
        else if (s->upload && hd_storage_vol_idle(c, cJSON_GetObjectItem(h, "pool")->valuestring,
                                                  virStorageVolGetName(v), path, &err) != VG_OK)
            ;
        else if (!s->upload && (unsigned long long)offset > info.allocation)
            vg_fail(&err, VG_E_BAD_REQUEST, "offset is past the volume's %llu bytes",
                    info.allocation);
        else if (!(s->st = virStreamNew(c, VIR_STREAM_NONBLOCK)) ||
                 (s->upload
                      ? virStorageVolUpload(v, s->st, (unsigned long long)offset,
                                            (unsigned long long)length, 0)
                      : virStorageVolDownload(v, s->st, (unsigned long long)offset, 0, 0)) < 0 ||
                 virStreamEventAddCallback(s->st, s->upload ? 0 : VIR_STREAM_EVENT_READABLE,
                                           stream_event, s, NULL) < 0)
            hd_vmops_lv_fail(&err);
        else {
            s->watching = 1;
            s->started = 1;
            s->size = s->upload ? length : (long long)info.allocation - offset;
        }
    }
    free(path);
    if (v)
        virStorageVolFree(v);
    cJSON_Delete(h);
    if (!s->started) {
        if (err.code == VG_E_NONE)
            vg_fail(&err, VG_E_BAD_REQUEST, "the first message must be the transfer's header");
        fail(s, &err);
        return;
    }
    vg_info("stream", "%s: %s of %lld bytes from offset %lld", s->name,
            s->upload ? "upload" : "download", s->size, offset);
    queue_text(s, "{\"ready\":true,\"size\":%lld}", s->size);
}

static int receive(stream_conn *s, const void *in, size_t len, int binary)
{
    if (s->closing)
        return 0;
    if (!s->started) {
        if (binary || !lws_is_final_fragment(s->wsi) || !lws_is_first_fragment(s->wsi)) {
            vg_err err;
            vg_fail(&err, VG_E_BAD_REQUEST, "the first message must be the transfer's header");
            fail(s, &err);
            return 0;
        }
        start(s, in, len);
        return 0;
    }
    if (!s->upload)
        return 0;
    if (!binary) {
        /* {"done":true}: everything was sent. */
        if (s->pend_len) {
            vg_err err;
            vg_fail(&err, VG_E_BAD_REQUEST, "done before the data was taken");
            fail(s, &err);
        } else
            finish(s);
        return 0;
    }
    if (s->size && s->bytes + (long long)len > s->size) {
        vg_err err;
        vg_fail(&err, VG_E_BAD_REQUEST, "more data than the header's length");
        fail(s, &err);
        return 0;
    }
    unsigned char *p = realloc(s->pend, len ? len : 1);
    if (!p)
        return -1;
    s->pend = p;
    memcpy(p, in, len);
    s->pend_len = len;
    s->pend_off = 0;
    if (!push(s) && !s->closing) {
        s->paused = 1;
        lws_rx_flow_control(s->wsi, 0);
        virStreamEventUpdateCallback(s->st, VIR_STREAM_EVENT_WRITABLE);
    }
    return 0;
}

static int writable(stream_conn *s)
{
    if (s->text_len) {
        size_t n = s->text_len;
        s->text_len = 0;
        if (lws_write(s->wsi, (unsigned char *)s->text + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n)
            return -1;
        if (s->closing) {
            lws_close_reason(s->wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"done", 4);
            return -1;
        }
        if (!s->upload)
            lws_callback_on_writable(s->wsi);
        return 0;
    }
    static unsigned char buf[LWS_PRE + HD_STREAM_CHUNK];
    if (s->fd >= 0 && !s->closing) {
        /* A local file: one chunk per writable, never past the size announced. */
        long long left = s->size - s->bytes;
        ssize_t n = left <= 0 ? 0
                              : read(s->fd, buf + LWS_PRE,
                                     left < HD_STREAM_CHUNK ? (size_t)left : HD_STREAM_CHUNK);
        if (n < 0) {
            vg_err err;
            vg_fail(&err, VG_E_INTERNAL, "%s: read failed", s->name);
            fail(s, &err);
            return 0;
        }
        if (n == 0) {
            if (s->bytes < s->size) {
                vg_err err;
                vg_fail(&err, VG_E_INTERNAL, "%s shrank while it was sent", s->name);
                fail(s, &err);
            } else
                finish(s);
            return 0;
        }
        s->bytes += n;
        if (lws_write(s->wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_BINARY) < n)
            return -1;
        lws_callback_on_writable(s->wsi);
        return 0;
    }
    if (s->upload || !s->st || s->closing)
        return 0;
    /* What libvirt has queued, while the socket takes it; then its socket is read again. */
    do {
        int n = virStreamRecv(s->st, (char *)buf + LWS_PRE, HD_STREAM_CHUNK);
        if (n == -2) {
            hold(s, 0);
            virStreamEventUpdateCallback(s->st, VIR_STREAM_EVENT_READABLE);
            return 0;
        }
        if (n < 0) {
            fail_lv(s);
            return 0;
        }
        if (n == 0) {
            finish(s);
            return 0;
        }
        s->bytes += n;
        if (lws_write(s->wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_BINARY) < n)
            return -1;
    } while (!lws_send_pipe_choked(s->wsi));
    lws_callback_on_writable(s->wsi);
    return 0;
}

int hd_stream_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    (void)user;
    stream_conn *s = lws_get_opaque_user_data(wsi);
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED: {
        char uri[64] = "";
        lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);
        if (strcmp(uri, "/link/volume") || !hd_link_secret_ok(wsi, lws_get_protocol(wsi)->user)) {
            vg_warn("stream", "refused a volume stream: wrong path or link credential");
            return -1;
        }
        if (!(s = calloc(1, sizeof(*s))))
            return -1;
        s->wsi = wsi;
        s->fd = -1;
        lws_set_opaque_user_data(wsi, s);
        return 0;
    }
    case LWS_CALLBACK_RECEIVE:
        return s ? receive(s, in, len, lws_frame_is_binary(wsi)) : -1;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return s ? writable(s) : -1;
    case LWS_CALLBACK_CLOSED:
        if (s) {
            if (!s->finished && s->started && s->st)
                vg_warn("stream", "%s: the gateway left after %lld bytes; stream aborted", s->name,
                        s->bytes);
            stop_stream(s, 1);
            free(s->pend);
            free(s);
            lws_set_opaque_user_data(wsi, NULL);
        }
        return 0;
    default:
        return 0;
    }
}
