#include "console/console.h"

#include "console/holder_int.h"
#include "console/logtail.h"
#include "metrics/hdstats.h"
#include "vg_log.h"
#include "vg_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CONSOLE_INPUT_MAX 65536
#define CONSOLE_RETRY_S 0.2
#define CONSOLE_PERSIST_S 5.0
/* Socket-fed consoles persist an end this far ahead of what they have handed out, so that after
 * a crash offsets restart beyond every offset a viewer may hold: a gap, never a byte that
 * reuses an offset. Each save is an fsync on the one loop of hostd (~1 ms): while saves come
 * less than CONSOLE_RESERVE_S apart the reserve doubles (up to CONSOLE_RESERVE_MAX), and it
 * halves (down to CONSOLE_RESERVE) when they come further apart, so each console that prints
 * steadily saves about once or twice a minute whatever its rate, and one that starts printing
 * saves a few times, not dozens: hundreds of busy consoles would otherwise spend the loop in
 * fsyncs. The price is a larger jump of the offsets after a crash (16 MiB, or a minute or two of
 * the console's output), which a viewer sees as a GAP. */
#define CONSOLE_RESERVE (16ull << 20)
#define CONSOLE_RESERVE_MAX (1ull << 32)
#define CONSOLE_RESERVE_S 60.0

static const console_config *cfg;

void hd_console_configure(const console_config *c)
{
    cfg = c;
}

const console_config *hd_console_cfg(void)
{
    return cfg;
}

void hd_console_wake(console_viewer *v)
{
    if (v->wake)
        v->wake(v);
}

void hd_console_wake_all(console *c, unsigned pending)
{
    for (console_viewer *v = c->readers; v; v = v->rnext) {
        v->pending |= pending;
        hd_console_wake(v);
    }
}

static void save_state(console *c)
{
    vg_err err;
    if (c->lt)
        c->st.end = hd_logtail_end(c->lt);
    else
        c->st.end = c->ring.end;
    if (memcmp(&c->st, &c->saved, sizeof(c->st)) == 0)
        return;
    if (hd_state_save(c->state_path, &c->st, &err) != VG_OK) {
        vg_warn("console", "%s/%s: cannot save offsets: %s", c->vm, c->dev, err.msg);
        return;
    }
    c->saved = c->st;
}

void hd_console_save(console *c)
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
    if (connected)
        hd_stat.consoles_held++;
    else
        hd_stat.consoles_held--;
    vg_info("console", "%s/%s %s (%s)", c->vm, c->dev, connected ? "connected" : "disconnected",
            reason);
    hd_console_wake_all(c, CONSOLE_P_STATE);
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
    hd_stat.console_bytes += n;
    if (cfg->on_output)
        cfg->on_output(c, p, n);
    if (!c->lt && c->ring.end > c->saved.end) {
        vg_err err;
        ev_tstamp now = ev_now(cfg->loop);
        if (!c->reserve)
            c->reserve = CONSOLE_RESERVE;
        else if (now - c->reserved_at < CONSOLE_RESERVE_S)
            c->reserve = c->reserve < CONSOLE_RESERVE_MAX ? c->reserve * 2 : CONSOLE_RESERVE_MAX;
        else if (c->reserve > CONSOLE_RESERVE)
            c->reserve /= 2;
        c->reserved_at = now;
        c->st.end = c->ring.end + c->reserve;
        if (hd_state_save(c->state_path, &c->st, &err) == VG_OK)
            c->saved = c->st;
        else
            vg_warn("console", "%s/%s: cannot save offsets: %s", c->vm, c->dev, err.msg);
    }
    for (console_viewer *v = c->readers; v; v = v->rnext)
        hd_console_wake(v);
}

/* One read a turn of the loop: with hundreds of busy consoles, reading each dry before the next
 * kept the links' writes waiting for one long turn (what more is waiting is read at the next
 * turn: epoll is level-triggered; docs/performance.md "Link v3"). */
static void on_read(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    console *c = w->data;
    static unsigned char buf[65536];
    ssize_t n = read(c->fd, buf, sizeof(buf));
    if (n > 0) {
        /* With a log, the log is the stream; the socket copy is drained and dropped. */
        if (!c->lt)
            feed(c, c->ring.end, buf, (size_t)n);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    hangup(c, n == 0 ? "socket closed" : strerror(errno));
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

int hd_console_send_input(console *c, const unsigned char *p, size_t n, vg_err *err)
{
    if (c->fd < 0)
        return vg_fail(err, VG_E_UNAVAILABLE, "the VM's console is not connected (%s)", c->reason);
    if (c->inlen + n > CONSOLE_INPUT_MAX)
        return vg_fail(err, VG_E_UNAVAILABLE, "the guest is not reading its console input");
    if (!c->inbuf && !(c->inbuf = malloc(CONSOLE_INPUT_MAX)))
        return vg_fail(err, VG_E_INTERNAL, "out of memory");
    memcpy(c->inbuf + c->inlen, p, n);
    c->inlen += n;
    flush_input(c);
    return VG_OK;
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

void hd_console_kick(console *c)
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
    c->lt = hd_logtail_new(cfg->loop, c->log, &c->st, &cbs, err);
    if (!c->lt)
        return VG_ERR;
    uint64_t from = hd_logtail_history_start(c->lt, cap);
    if (vg_ring_init(&c->ring, cap, from) != VG_OK) {
        hd_logtail_free(c->lt);
        c->lt = NULL;
        return vg_fail(err, VG_E_INTERNAL, "out of memory for the ring");
    }
    save_state(c);
    hd_logtail_start(c->lt, from); /* the ring is rebuilt from the log's tail */
    return VG_OK;
}

console *hd_console_new(const char *vm, const char *dev, const char *kind, const char *path,
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
    if (hd_state_load(c->state_path, &c->st, &lerr) != VG_OK)
        vg_warn("console", "%s/%s: %s; offsets start over", vm, dev, lerr.msg);
    c->saved = c->st;
    if (open_stream(c, err) != VG_OK) {
        free(c);
        return NULL;
    }
    hd_stat.consoles++;
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

void hd_console_update(console *c, const char *path, const char *log)
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
        hd_logtail_free(c->lt);
        c->lt = NULL;
        snprintf(c->log, sizeof(c->log), "%s", log);
        c->st.inode = c->st.prev = 0;
        c->st.base = c->st.end = c->ring.end;
        if (log[0]) {
            logtail_cbs cbs = {.on_data = log_data, .on_state = log_state, .ud = c};
            vg_err err;
            c->lt = hd_logtail_new(cfg->loop, log, &c->st, &cbs, &err);
            if (c->lt) {
                /* Bytes already in the new file are not ours: future ones follow ring.end. */
                uint64_t size = c->st.end - c->st.base;
                if (size <= c->ring.end) {
                    c->st.base = c->ring.end - size;
                    c->st.end = c->ring.end;
                }
                hd_logtail_start(c->lt, c->st.end);
            } else {
                vg_warn("console", "%s/%s: %s; reading output from the socket", c->vm, c->dev,
                        err.msg);
            }
        }
        save_state(c);
    }
}

void hd_console_free(console *c)
{
    if (!c)
        return;
    /* A channel's members are told nothing: their channel closes with 4004 and the gateway
     * decides (it may follow the VM to its new host). */
    while (c->viewers) {
        console_viewer *v = c->viewers;
        c->viewers = v->next;
        v->con = NULL;
        v->next = NULL;
    }
    while (c->readers) {
        console_viewer *v = c->readers;
        c->readers = v->rnext;
        v->con = NULL;
        v->rnext = NULL;
        if (v->kind == CONSOLE_VIEWER) {
            vg_fail(&v->err, VG_E_NOT_FOUND, "console %s/%s is gone", c->vm, c->dev);
            v->pending |= CONSOLE_P_ERROR;
        }
        v->close_code = 4004;
        hd_console_wake(v);
    }
    if (c->writer && cfg->on_writer)
        cfg->on_writer(c, NULL);
    hd_stat.consoles--;
    hd_stat.consoles_held -= c->connected != 0;
    save_state(c);
    ev_timer_stop(cfg->loop, &c->persist);
    ev_timer_stop(cfg->loop, &c->retry);
    ev_io_stop(cfg->loop, &c->rio);
    ev_io_stop(cfg->loop, &c->wio);
    if (c->fd >= 0)
        close(c->fd);
    hd_logtail_free(c->lt);
    vg_ring_free(&c->ring);
    free(c->inbuf);
    free(c->events);
    free(c);
}

const char *hd_console_vm(const console *c)
{
    return c->vm;
}

const char *hd_console_dev(const console *c)
{
    return c->dev;
}

const char *hd_console_path(const console *c)
{
    return c->path;
}

int hd_console_connected(const console *c)
{
    return c->connected;
}

uint64_t hd_console_start(const console *c)
{
    return c->ring.start;
}

uint64_t hd_console_end(const console *c)
{
    return c->ring.end;
}
