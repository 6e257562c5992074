#include "console.h"

#include "logtail.h"
#include "vg_frame.h"
#include "vg_log.h"
#include "vg_ring.h"
#include "vg_util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CONSOLE_FRAME_MAX 16384
#define CONSOLE_INPUT_MAX 65536
#define CONSOLE_RETRY_S 0.2
#define CONSOLE_PERSIST_S 5.0
/* Socket-fed consoles persist an end this far ahead of what they have handed out, so that after
 * a crash offsets restart beyond every offset a viewer may hold: a gap, never a byte that
 * reuses an offset. */
#define CONSOLE_RESERVE (1u << 20)

enum {
    P_HELLO = 1 << 0,
    P_VIEWERS = 1 << 1,
    P_WRITER = 1 << 2,
    P_STATE = 1 << 3,
    P_ERROR = 1 << 4,
};

struct console {
    char vm[65];
    char dev[32];
    char kind[16];
    char path[108];
    char log[1024];
    char state_path[1200];
    console_state st;
    console_state saved;
    vg_ring ring;
    logtail *lt;
    int fd;
    int connected;
    ev_io rio;
    ev_io wio;
    ev_timer retry;
    ev_timer persist;
    unsigned char *inbuf; /* input the socket did not take yet, at most CONSOLE_INPUT_MAX */
    size_t inlen;
    console_viewer *viewers;
    console_viewer *writer;
    unsigned viewer_seq;
    const char *reason; /* why the holder connection is down */
};

static const console_config *cfg;

void console_configure(const console_config *c)
{
    cfg = c;
}

static void wake(console_viewer *v)
{
    if (v->wake)
        v->wake(v);
}

static void wake_all(console *c, unsigned pending)
{
    for (console_viewer *v = c->viewers; v; v = v->next) {
        v->pending |= pending;
        wake(v);
    }
}

static void save_state(console *c)
{
    vg_err err;
    if (c->lt)
        c->st.end = logtail_end(c->lt);
    else
        c->st.end = c->ring.end;
    if (memcmp(&c->st, &c->saved, sizeof(c->st)) == 0)
        return;
    if (state_save(c->state_path, &c->st, &err) != VG_OK) {
        vg_warn("console", "%s/%s: cannot save offsets: %s", c->vm, c->dev, err.msg);
        return;
    }
    c->saved = c->st;
}

void console_save(console *c)
{
    save_state(c);
}

/* ---- holder connection ---- */

static void set_connected(console *c, int connected, const char *reason)
{
    if (c->connected == connected)
        return;
    c->connected = connected;
    c->reason = reason;
    vg_info("console", "%s/%s %s (%s)", c->vm, c->dev, connected ? "connected" : "disconnected",
            reason);
    wake_all(c, P_STATE);
    if (cfg->on_connected)
        cfg->on_connected(c, connected);
}

static void hangup(console *c, const char *reason)
{
    ev_io_stop(cfg->loop, &c->rio);
    ev_io_stop(cfg->loop, &c->wio);
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->inlen = 0;
    set_connected(c, 0, reason);
    ev_timer_again(cfg->loop, &c->retry);
}

static void feed(console *c, uint64_t offset, const unsigned char *p, size_t n)
{
    if (offset < c->ring.end) { /* already have these bytes */
        uint64_t dup = c->ring.end - offset;
        if (dup >= n)
            return;
        p += dup;
        n -= (size_t)dup;
    } else if (offset > c->ring.end) {
        vg_ring_reset(&c->ring, offset); /* viewers behind it get a GAP */
    }
    vg_ring_append(&c->ring, p, n);
    if (!c->lt && c->ring.end > c->saved.end) {
        vg_err err;
        c->st.end = c->ring.end + CONSOLE_RESERVE;
        if (state_save(c->state_path, &c->st, &err) == VG_OK)
            c->saved = c->st;
        else
            vg_warn("console", "%s/%s: cannot save offsets: %s", c->vm, c->dev, err.msg);
    }
    for (console_viewer *v = c->viewers; v; v = v->next)
        wake(v);
}

static void on_read(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    console *c = w->data;
    static unsigned char buf[65536];
    for (int i = 0; i < 16; i++) {
        ssize_t n = read(c->fd, buf, sizeof(buf));
        if (n > 0) {
            /* With a log, the log is the stream; the socket copy is drained and dropped. */
            if (!c->lt)
                feed(c, c->ring.end, buf, (size_t)n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        hangup(c, n == 0 ? "socket closed" : strerror(errno));
        return;
    }
}

static void flush_input(console *c)
{
    while (c->inlen) {
        ssize_t n = send(c->fd, c->inbuf, c->inlen, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            hangup(c, strerror(errno));
            return;
        }
        memmove(c->inbuf, c->inbuf + n, c->inlen - (size_t)n);
        c->inlen -= (size_t)n;
    }
    if (c->inlen)
        ev_io_start(cfg->loop, &c->wio);
    else
        ev_io_stop(cfg->loop, &c->wio);
}

static void on_write(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    flush_input(w->data);
}

static int try_connect(console *c)
{
    if (c->fd >= 0)
        return VG_OK;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return VG_ERR;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return VG_ERR;
    }
    c->fd = fd;
    ev_io_set(&c->rio, fd, EV_READ);
    ev_io_set(&c->wio, fd, EV_WRITE);
    ev_io_start(cfg->loop, &c->rio);
    ev_timer_stop(cfg->loop, &c->retry);
    set_connected(c, 1, "socket connected");
    return VG_OK;
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    try_connect(w->data);
}

static void on_persist(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    console *c = w->data;
    if (c->lt) /* socket-fed consoles keep their reservation until an orderly stop */
        save_state(c);
}

void console_kick(console *c)
{
    try_connect(c);
}

/* ---- the stream ---- */

static void log_data(void *ud, uint64_t offset, const unsigned char *p, size_t n)
{
    feed(ud, offset, p, n);
}

static void log_state(void *ud)
{
    save_state(ud);
}

static int open_stream(console *c, vg_err *err)
{
    size_t cap = cfg->ring_size;
    if (!c->log[0])
        return vg_ring_init(&c->ring, cap, c->st.end) == VG_OK
                   ? VG_OK
                   : vg_fail(err, VG_E_INTERNAL, "out of memory for the ring");
    logtail_cbs cbs = {.on_data = log_data, .on_state = log_state, .ud = c};
    c->lt = logtail_new(cfg->loop, c->log, &c->st, &cbs, err);
    if (!c->lt)
        return VG_ERR;
    uint64_t from = logtail_history_start(c->lt, cap);
    if (vg_ring_init(&c->ring, cap, from) != VG_OK) {
        logtail_free(c->lt);
        c->lt = NULL;
        return vg_fail(err, VG_E_INTERNAL, "out of memory for the ring");
    }
    save_state(c);
    logtail_start(c->lt, from); /* the ring is rebuilt from the log's tail */
    return VG_OK;
}

console *console_new(const char *vm, const char *dev, const char *kind, const char *path,
                     const char *log, vg_err *err)
{
    if (!vg_valid_name(vm) || !vg_valid_name(dev))
        return vg_fail(err, VG_E_BAD_REQUEST, "invalid console name %.64s/%.32s", vm, dev), NULL;
    if (strlen(path) >= sizeof(((console *)0)->path) || strlen(log) >= 1024)
        return vg_fail(err, VG_E_BAD_REQUEST, "console path too long"), NULL;
    console *c = calloc(1, sizeof(*c));
    if (!c)
        return vg_fail(err, VG_E_INTERNAL, "out of memory"), NULL;
    snprintf(c->vm, sizeof(c->vm), "%s", vm);
    snprintf(c->dev, sizeof(c->dev), "%s", dev);
    snprintf(c->kind, sizeof(c->kind), "%s", kind);
    snprintf(c->path, sizeof(c->path), "%s", path);
    snprintf(c->log, sizeof(c->log), "%s", log);
    snprintf(c->state_path, sizeof(c->state_path), "%s/%s-%s.state", cfg->state_dir, vm, dev);
    c->fd = -1;
    c->reason = "not connected yet";
    vg_err lerr;
    if (state_load(c->state_path, &c->st, &lerr) != VG_OK)
        vg_warn("console", "%s/%s: %s; offsets start over", vm, dev, lerr.msg);
    c->saved = c->st;
    if (open_stream(c, err) != VG_OK) {
        free(c);
        return NULL;
    }
    ev_io_init(&c->rio, on_read, -1, EV_READ);
    ev_io_init(&c->wio, on_write, -1, EV_WRITE);
    c->rio.data = c->wio.data = c;
    ev_init(&c->retry, on_retry);
    c->retry.repeat = CONSOLE_RETRY_S;
    c->retry.data = c;
    ev_timer_init(&c->persist, on_persist, CONSOLE_PERSIST_S, CONSOLE_PERSIST_S);
    c->persist.data = c;
    ev_timer_start(cfg->loop, &c->persist);
    vg_info("console", "%s/%s %s socket %s, %s, offsets %llu..%llu", vm, dev, kind, path,
            c->lt ? "output from its log" : "output from the socket",
            (unsigned long long)c->ring.start, (unsigned long long)c->ring.end);
    if (try_connect(c) != VG_OK)
        ev_timer_again(cfg->loop, &c->retry);
    return c;
}

void console_update(console *c, const char *path, const char *log)
{
    if (strcmp(c->path, path) != 0 && strlen(path) < sizeof(c->path)) {
        snprintf(c->path, sizeof(c->path), "%s", path);
        if (c->fd >= 0)
            hangup(c, "socket moved");
        try_connect(c);
    }
    if (strcmp(c->log, log) != 0 && strlen(log) < sizeof(c->log)) {
        /* A different file continues the same stream at the current end. */
        save_state(c);
        logtail_free(c->lt);
        c->lt = NULL;
        snprintf(c->log, sizeof(c->log), "%s", log);
        c->st.inode = 0;
        c->st.base = c->st.end = c->ring.end;
        if (log[0]) {
            logtail_cbs cbs = {.on_data = log_data, .on_state = log_state, .ud = c};
            vg_err err;
            c->lt = logtail_new(cfg->loop, log, &c->st, &cbs, &err);
            if (c->lt) {
                /* Bytes already in the new file are not ours: future ones follow ring.end. */
                uint64_t size = c->st.end - c->st.base;
                if (size <= c->ring.end) {
                    c->st.base = c->ring.end - size;
                    c->st.end = c->ring.end;
                }
                logtail_start(c->lt, c->st.end);
            } else {
                vg_warn("console", "%s/%s: %s; reading output from the socket", c->vm, c->dev,
                        err.msg);
            }
        }
        save_state(c);
    }
}

void console_free(console *c)
{
    if (!c)
        return;
    while (c->viewers) {
        console_viewer *v = c->viewers;
        c->viewers = v->next;
        v->con = NULL;
        v->next = NULL;
        vg_fail(&v->err, VG_E_NOT_FOUND, "console %s/%s is gone", c->vm, c->dev);
        v->pending |= P_ERROR;
        v->close_code = 4004;
        wake(v);
    }
    save_state(c);
    ev_timer_stop(cfg->loop, &c->persist);
    ev_timer_stop(cfg->loop, &c->retry);
    ev_io_stop(cfg->loop, &c->rio);
    ev_io_stop(cfg->loop, &c->wio);
    if (c->fd >= 0)
        close(c->fd);
    logtail_free(c->lt);
    vg_ring_free(&c->ring);
    free(c->inbuf);
    free(c);
}

const char *console_vm(const console *c)
{
    return c->vm;
}

const char *console_dev(const console *c)
{
    return c->dev;
}

const char *console_path(const console *c)
{
    return c->path;
}

int console_connected(const console *c)
{
    return c->connected;
}

uint64_t console_start(const console *c)
{
    return c->ring.start;
}

uint64_t console_end(const console *c)
{
    return c->ring.end;
}

/* ---- viewers ---- */

static void set_writer(console *c, console_viewer *w)
{
    console_viewer *prev = c->writer;
    if (prev == w)
        return;
    c->writer = w;
    for (console_viewer *v = c->viewers; v; v = v->next) {
        snprintf(v->prev_writer, sizeof(v->prev_writer), "%s", prev ? prev->id : "");
        v->pending |= P_WRITER | P_VIEWERS;
        wake(v);
    }
}

static int parse_offset(const char *s, uint64_t *off, const vg_ring *r, vg_err *err)
{
    if (!s || !*s || strcmp(s, "ring") == 0) {
        *off = r->start;
        return VG_OK;
    }
    if (strcmp(s, "end") == 0) {
        *off = r->end;
        return VG_OK;
    }
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
            return vg_fail(err, VG_E_BAD_REQUEST, "offset must be ring, end or a number");
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *off = v > r->end ? r->end : v;
    return VG_OK;
}

int console_attach(console *c, console_viewer *v, const char *user, int rw, int take,
                   const char *offset, vg_err *err)
{
    if (!vg_valid_name(user))
        return vg_fail(err, VG_E_BAD_REQUEST, "invalid user name");
    uint64_t off;
    if (parse_offset(offset, &off, &c->ring, err) != VG_OK)
        return VG_ERR;
    v->con = c;
    snprintf(v->id, sizeof(v->id), "v%u", ++c->viewer_seq);
    snprintf(v->user, sizeof(v->user), "%s", user);
    v->rw = rw;
    v->since_ms = vg_now_ms();
    v->offset = v->asked = off;
    v->sent_data = 0;
    v->pending = P_HELLO | P_VIEWERS;
    v->npongs = 0;
    v->close_code = 0;
    v->next = c->viewers;
    c->viewers = v;
    vg_info("console", "%s/%s viewer %s (%s, %s) attached at %llu", c->vm, c->dev, v->id, user,
            rw ? "rw" : "ro", (unsigned long long)off);
    if (rw && (take || !c->writer))
        set_writer(c, v);
    wake_all(c, P_VIEWERS);
    return VG_OK;
}

void console_detach(console_viewer *v)
{
    console *c = v->con;
    if (!c)
        return;
    for (console_viewer **pp = &c->viewers; *pp; pp = &(*pp)->next)
        if (*pp == v) {
            *pp = v->next;
            break;
        }
    v->con = NULL;
    v->next = NULL;
    vg_info("console", "%s/%s viewer %s (%s) detached", c->vm, c->dev, v->id, v->user);
    if (c->writer == v)
        set_writer(c, NULL);
    wake_all(c, P_VIEWERS);
}

void console_viewer_refuse(console_viewer *v, const vg_err *err)
{
    v->err = *err;
    v->pending |= P_ERROR;
    if (err->code == VG_E_TOO_BIG)
        v->close_code = 1009;
    wake(v);
}

static void input(console_viewer *v, const unsigned char *p, size_t n)
{
    console *c = v->con;
    vg_err err;
    if (!v->rw) {
        vg_fail(&err, VG_E_READ_ONLY, "this attachment is read-only");
        console_viewer_refuse(v, &err);
        return;
    }
    if (c->writer != v) {
        vg_fail(&err, VG_E_NOT_WRITER, "another viewer holds the write lock; send take first");
        console_viewer_refuse(v, &err);
        return;
    }
    if (c->fd < 0) {
        vg_fail(&err, VG_E_UNAVAILABLE, "the VM's console is not connected (%s)", c->reason);
        console_viewer_refuse(v, &err);
        return;
    }
    if (c->inlen + n > CONSOLE_INPUT_MAX) {
        vg_fail(&err, VG_E_UNAVAILABLE, "the guest is not reading its console input");
        console_viewer_refuse(v, &err);
        return;
    }
    if (!c->inbuf && !(c->inbuf = malloc(CONSOLE_INPUT_MAX))) {
        vg_fail(&err, VG_E_INTERNAL, "out of memory");
        console_viewer_refuse(v, &err);
        return;
    }
    memcpy(c->inbuf + c->inlen, p, n);
    c->inlen += n;
    flush_input(c);
}

void console_viewer_recv(console_viewer *v, int binary, const unsigned char *buf, size_t len)
{
    vg_msg m;
    vg_err err;
    if (!v->con)
        return;
    if (vg_frame_parse_client(binary, buf, len, &m, &err) != VG_OK) {
        console_viewer_refuse(v, &err);
        return;
    }
    switch (m.kind) {
    case VG_MSG_INPUT:
        if (m.len == 0)
            return;
        input(v, m.data, m.len);
        return;
    case VG_MSG_TAKE:
        if (!v->rw) {
            vg_fail(&err, VG_E_READ_ONLY, "a read-only attachment cannot take the write lock");
            console_viewer_refuse(v, &err);
            return;
        }
        set_writer(v->con, v);
        return;
    case VG_MSG_RELEASE:
        if (v->con->writer == v)
            set_writer(v->con, NULL);
        return;
    case VG_MSG_PING:
        if (v->npongs < CONSOLE_MAX_PONGS)
            v->pongs[v->npongs++] = m.id;
        wake(v);
        return;
    default:
        vg_fail(&err, VG_E_UNKNOWN, "unexpected message");
        console_viewer_refuse(v, &err);
        return;
    }
}

void console_viewer_close(console_viewer *v, int code)
{
    v->close_code = code;
    wake(v);
}

static size_t emit_json(cJSON *o, unsigned char *buf, size_t cap)
{
    size_t len = 0;
    if (o && cJSON_PrintPreallocated(o, (char *)buf, (int)cap, 0))
        len = strlen((char *)buf);
    cJSON_Delete(o);
    return len;
}

static cJSON *viewers_json(const console *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "viewers");
    cJSON *arr = cJSON_AddArrayToObject(o, "viewers");
    for (const console_viewer *v = c->viewers; v; v = v->next) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "viewer", v->id);
        cJSON_AddStringToObject(e, "user", v->user);
        cJSON_AddStringToObject(e, "mode", v->rw ? "rw" : "ro");
        cJSON_AddBoolToObject(e, "writer", c->writer == v);
        cJSON_AddNumberToObject(e, "since", (double)v->since_ms);
        cJSON_AddItemToArray(arr, e);
    }
    return o;
}

static cJSON *control(console_viewer *v, unsigned *bit)
{
    console *c = v->con;
    cJSON *o = cJSON_CreateObject();
    if (v->pending & P_HELLO) {
        *bit = P_HELLO;
        cJSON_AddStringToObject(o, "type", "hello");
        cJSON_AddNumberToObject(o, "version", 1);
        cJSON_AddStringToObject(o, "vm", c->vm);
        cJSON_AddStringToObject(o, "dev", c->dev);
        cJSON_AddStringToObject(o, "viewer", v->id);
        cJSON_AddStringToObject(o, "user", v->user);
        cJSON_AddStringToObject(o, "mode", v->rw ? "rw" : "ro");
        cJSON_AddBoolToObject(o, "writer", c->writer == v);
        cJSON_AddNumberToObject(o, "start", (double)c->ring.start);
        cJSON_AddNumberToObject(o, "end", (double)c->ring.end);
        cJSON_AddNumberToObject(o, "offset", (double)v->asked);
        cJSON_AddBoolToObject(o, "connected", c->connected);
    } else if (v->pending & P_WRITER) {
        *bit = P_WRITER;
        cJSON_AddStringToObject(o, "type", "writer");
        if (c->writer) {
            cJSON_AddStringToObject(o, "viewer", c->writer->id);
            cJSON_AddStringToObject(o, "user", c->writer->user);
        } else {
            cJSON_AddNullToObject(o, "viewer");
            cJSON_AddNullToObject(o, "user");
        }
        if (v->prev_writer[0])
            cJSON_AddStringToObject(o, "previous", v->prev_writer);
        else
            cJSON_AddNullToObject(o, "previous");
    } else if (v->pending & P_STATE) {
        *bit = P_STATE;
        cJSON_AddStringToObject(o, "type", "state");
        cJSON_AddBoolToObject(o, "connected", c->connected);
        cJSON_AddStringToObject(o, "reason", c->reason);
    } else if (v->pending & P_VIEWERS) {
        *bit = P_VIEWERS;
        cJSON_Delete(o);
        o = viewers_json(c);
    } else {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static size_t error_json(console_viewer *v, unsigned char *buf, size_t cap)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "error");
    cJSON_AddStringToObject(o, "code", vg_err_code_name(v->err.code));
    cJSON_AddStringToObject(o, "message", v->err.msg);
    return emit_json(o, buf, cap);
}

int console_viewer_next(console_viewer *v, unsigned char *buf, size_t cap, console_msg *out)
{
    memset(out, 0, sizeof(*out));
    console *c = v->con;
    if (v->pending & P_ERROR) {
        v->pending &= ~(unsigned)P_ERROR;
        out->len = error_json(v, buf, cap);
        return 1;
    }
    if (v->close_code || !c) {
        out->close_code = v->close_code ? v->close_code : 4004;
        return 1;
    }
    unsigned bit = 0;
    cJSON *o = control(v, &bit);
    if (o) {
        v->pending &= ~bit;
        out->len = emit_json(o, buf, cap);
        return 1;
    }
    if (v->npongs) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "type", "pong");
        cJSON_AddNumberToObject(p, "id", (double)v->pongs[0]);
        memmove(v->pongs, v->pongs + 1, --v->npongs * sizeof(v->pongs[0]));
        out->len = emit_json(p, buf, cap);
        return 1;
    }
    if (v->offset < c->ring.start) {
        if (v->sent_data && cfg->laggard_close) {
            vg_info("console", "%s/%s viewer %s fell %llu bytes behind; closing", c->vm, c->dev,
                    v->id, (unsigned long long)(c->ring.start - v->offset));
            out->close_code = 4408;
            return 1;
        }
        vg_frame_gap(buf, v->offset, c->ring.start);
        v->offset = c->ring.start;
        v->sent_data = 1;
        out->len = VG_FRAME_GAP_LEN;
        out->binary = 1;
        return 1;
    }
    const unsigned char *p;
    size_t max = cap - VG_FRAME_OUTPUT_HDR;
    size_t n =
        vg_ring_peek(&c->ring, v->offset, max < CONSOLE_FRAME_MAX ? max : CONSOLE_FRAME_MAX, &p);
    if (n == 0)
        return 0;
    vg_frame_output_hdr(buf, v->offset);
    memcpy(buf + VG_FRAME_OUTPUT_HDR, p, n);
    v->offset += n;
    v->sent_data = 1;
    out->len = VG_FRAME_OUTPUT_HDR + n;
    out->binary = 1;
    return 1;
}
