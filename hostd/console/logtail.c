#include "console/logtail.h"

#include "vg_log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOGTAIL_CHUNK 65536
#define LOGTAIL_FALLBACK_S 1.0

struct logtail {
    struct ev_loop *loop;
    char path[1024];
    char rotated[1040]; /* path + ".0" */
    const char *name;   /* basename, points into path */
    console_state *st;
    logtail_cbs cbs;
    int fd;       /* current log file, -1 until it exists */
    uint64_t pos; /* read position in it */
    int old_fd;   /* the rotated file (.0) before it, for the history; -1 when not known */
    uint64_t old_size;
    int started;
    int ifd;
    ev_io iw;
    ev_timer fallback;
};

static int stat_ino(const char *path, uint64_t *ino, uint64_t *size)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return VG_ERR;
    *ino = (uint64_t)sb.st_ino;
    *size = (uint64_t)sb.st_size;
    return VG_OK;
}

/* prev: the inode of the file the new one continues (rotation), 0 when it follows a gap. */
static void open_current(logtail *lt, uint64_t prev)
{
    int fd = open(lt->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return;
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        close(fd);
        return;
    }
    /* A file that appears after we lost (or never had) one is new output, even when the
     * filesystem hands it the inode number of the old one: it starts where the stream stands. */
    lt->st->base = lt->st->end;
    lt->st->inode = (uint64_t)sb.st_ino;
    lt->st->prev = prev;
    if (lt->cbs.on_state)
        lt->cbs.on_state(lt->cbs.ud);
    lt->fd = fd;
    lt->pos = 0;
}

static unsigned char chunk[LOGTAIL_CHUNK]; /* one read at a time, shared by every tail */

/* Reads the open file from pos to EOF; returns 0 at EOF, -1 on error. */
static int drain(logtail *lt)
{
    for (;;) {
        ssize_t n = pread(lt->fd, chunk, sizeof(chunk), (off_t)lt->pos);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            vg_warn("logtail", "%s: %s", lt->path, strerror(errno));
            return -1;
        }
        if (n == 0)
            return 0;
        uint64_t off = lt->st->base + lt->pos;
        lt->pos += (uint64_t)n;
        lt->st->end = lt->st->base + lt->pos;
        if (lt->started && lt->cbs.on_data)
            lt->cbs.on_data(lt->cbs.ud, off, chunk, (size_t)n);
    }
}

void hd_logtail_poll(logtail *lt)
{
    if (lt->fd < 0) {
        open_current(lt, 0);
        if (lt->fd < 0)
            return;
    }
    drain(lt);
    uint64_t ino, size;
    if (stat_ino(lt->path, &ino, &size) != 0)
        return; /* renamed away, the new file is not there yet: keep the old one open */
    if (ino != lt->st->inode) {
        drain(lt); /* bytes written to the old file between our read and its rename */
        close(lt->fd);
        lt->fd = -1;
        lt->st->end = lt->st->base + lt->pos;
        vg_info("logtail", "%s rotated at offset %llu", lt->path, (unsigned long long)lt->st->end);
        open_current(lt, lt->st->inode);
        if (lt->fd >= 0)
            drain(lt);
    } else if (size < lt->pos) {
        /* Truncated in place: what follows is new output, never a repeat of old offsets. */
        lt->st->base += lt->pos;
        lt->pos = 0;
        lt->st->prev = 0;
        if (lt->cbs.on_state)
            lt->cbs.on_state(lt->cbs.ud);
        drain(lt);
    }
}

static void on_inotify(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    logtail *lt = w->data;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    int hit = 0;
    for (;;) {
        ssize_t n = read(lt->ifd, buf, sizeof(buf));
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *e = (const struct inotify_event *)p;
            if (e->len && strcmp(e->name, lt->name) == 0)
                hit = 1;
            if (e->mask & IN_Q_OVERFLOW)
                hit = 1;
            p += sizeof(*e) + e->len;
        }
    }
    if (hit)
        hd_logtail_poll(lt);
}

static void on_fallback(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    hd_logtail_poll(w->data);
}

logtail *hd_logtail_new(struct ev_loop *loop, const char *path, console_state *st,
                        const logtail_cbs *cbs, vg_err *err)
{
    logtail *lt = calloc(1, sizeof(*lt));
    if (!lt)
        return vg_fail(err, VG_E_INTERNAL, "out of memory"), NULL;
    if (snprintf(lt->path, sizeof(lt->path), "%s", path) >= (int)sizeof(lt->path)) {
        free(lt);
        return vg_fail(err, VG_E_BAD_REQUEST, "log path too long"), NULL;
    }
    snprintf(lt->rotated, sizeof(lt->rotated), "%s.0", path);
    const char *slash = strrchr(lt->path, '/');
    lt->name = slash ? slash + 1 : lt->path;
    lt->loop = loop;
    lt->st = st;
    lt->cbs = *cbs;
    lt->fd = -1;
    lt->old_fd = -1;
    lt->ifd = -1;

    struct stat rsb;
    int rfd = open(lt->rotated, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (rfd >= 0 && fstat(rfd, &rsb) != 0) {
        close(rfd);
        rfd = -1;
    }
    uint64_t ino, size;
    if (st->inode && rfd >= 0 && stat_ino(lt->path, &ino, &size) == 0 && ino != st->inode &&
        (uint64_t)rsb.st_ino == st->inode) {
        /* Rotated while we were down: the old file is complete in .0. */
        st->base += (uint64_t)rsb.st_size;
        st->end = st->base;
        st->prev = st->inode;
        st->inode = ino;
    }
    int fd = open(lt->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd >= 0) {
        struct stat sb;
        fstat(fd, &sb);
        if (st->inode != (uint64_t)sb.st_ino) {
            st->base = st->end;
            st->inode = (uint64_t)sb.st_ino;
            st->prev = 0;
        } else if ((uint64_t)sb.st_size < st->end - st->base) {
            st->base = st->end; /* truncated while we were down */
            st->prev = 0;
        }
        lt->fd = fd;
        lt->pos = 0;
        st->end = st->base + (uint64_t)sb.st_size;
    }
    /* The rotated file holds the stream's bytes just before base: the ring's history when the
     * current file is shorter than the ring. Only the very file that was rotated away counts. */
    if (lt->fd >= 0 && rfd >= 0 && st->prev && (uint64_t)rsb.st_ino == st->prev &&
        (uint64_t)rsb.st_size <= st->base) {
        lt->old_fd = rfd;
        lt->old_size = (uint64_t)rsb.st_size;
    } else if (rfd >= 0) {
        close(rfd);
    }

    char dir[1024];
    snprintf(dir, sizeof(dir), "%.*s", (int)(lt->name - lt->path), lt->path);
    lt->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (lt->ifd >= 0 &&
        inotify_add_watch(lt->ifd, dir[0] ? dir : ".",
                          IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE) < 0)
        vg_warn("logtail", "cannot watch %s (%s); polling once a second", dir, strerror(errno));
    ev_io_init(&lt->iw, on_inotify, lt->ifd, EV_READ);
    lt->iw.data = lt;
    ev_timer_init(&lt->fallback, on_fallback, LOGTAIL_FALLBACK_S, LOGTAIL_FALLBACK_S);
    lt->fallback.data = lt;
    return lt;
}

uint64_t hd_logtail_history_start(const logtail *lt, size_t history)
{
    if (lt->fd < 0) /* no file (yet): nothing to replay, the stream goes on where it stood */
        return lt->st->end;
    uint64_t size = lt->st->end - lt->st->base;
    if (size >= history)
        return lt->st->base + size - history;
    uint64_t more = lt->old_fd >= 0 ? history - size : 0;
    return lt->st->base - (more < lt->old_size ? more : lt->old_size);
}

/* The rotated file's bytes from stream offset `from` (if before base) to its end, once, before
 * the current file's. */
static void replay_rotated(logtail *lt, uint64_t from)
{
    uint64_t first = lt->st->base - lt->old_size;
    uint64_t pos = from > first ? from - first : 0;
    while (pos < lt->old_size) {
        uint64_t left = lt->old_size - pos;
        ssize_t n = pread(lt->old_fd, chunk, left < sizeof(chunk) ? (size_t)left : sizeof(chunk),
                          (off_t)pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) { /* the ring then starts later: viewers of the missing part get a GAP */
            vg_warn("logtail", "%s: %s", lt->rotated,
                    n < 0 ? strerror(errno) : "shorter than it was");
            break;
        }
        if (lt->cbs.on_data)
            lt->cbs.on_data(lt->cbs.ud, first + pos, chunk, (size_t)n);
        pos += (uint64_t)n;
    }
    close(lt->old_fd);
    lt->old_fd = -1;
}

void hd_logtail_start(logtail *lt, uint64_t from)
{
    lt->started = 1;
    if (lt->old_fd >= 0)
        replay_rotated(lt, from);
    if (lt->fd >= 0) {
        lt->pos = from > lt->st->base ? from - lt->st->base : 0;
        lt->st->end = lt->st->base + lt->pos;
    }
    if (lt->ifd >= 0)
        ev_io_start(lt->loop, &lt->iw);
    ev_timer_start(lt->loop, &lt->fallback);
    hd_logtail_poll(lt);
}

uint64_t hd_logtail_end(const logtail *lt)
{
    return lt->st->end;
}

void hd_logtail_free(logtail *lt)
{
    if (!lt)
        return;
    ev_io_stop(lt->loop, &lt->iw);
    ev_timer_stop(lt->loop, &lt->fallback);
    if (lt->ifd >= 0)
        close(lt->ifd);
    if (lt->fd >= 0)
        close(lt->fd);
    if (lt->old_fd >= 0)
        close(lt->old_fd);
    free(lt);
}
