#include "libvirt/worker.h"

#include "vg_json.h"
#include "vg_log.h"

#include <errno.h>
#include <fcntl.h>
#include <libvirt/virterror.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORKER_ANSWER_MAX (1024 * 1024)

typedef struct worker {
    ev_io io;
    ev_child child;
    char *buf;
    size_t len;
    int eof;
    int exited;
    int status;
    worker_done *done;
    void *priv;
} worker;

static struct ev_loop *loop;
static char *uri;
static int nrunning;

void hd_worker_init(struct ev_loop *l, const char *u)
{
    loop = l;
    free(uri);
    uri = strdup(u);
}

int hd_worker_count(void)
{
    return nrunning;
}

/* Child side: the answer is {"result":{...}} or {"code":n,"message":"..."}. */
static void child_main(int fd, worker_fn *fn, const cJSON *params)
{
    vg_err err = {VG_E_NONE, ""};
    cJSON *result = NULL, *answer = cJSON_CreateObject();
    virConnectPtr conn = uri ? virConnectOpen(uri) : NULL;
    if (!conn)
        vg_fail(&err, VG_E_UNAVAILABLE, "cannot connect to libvirt: %s", virGetLastErrorMessage());
    else if (fn(conn, params, &result, &err) == VG_OK && !result)
        result = cJSON_CreateObject();
    if (conn)
        virConnectClose(conn);
    if (result) {
        cJSON_AddItemToObject(answer, "result", result);
    } else {
        cJSON_AddNumberToObject(answer, "code", err.code ? err.code : VG_E_INTERNAL);
        cJSON_AddStringToObject(answer, "message", err.msg);
    }
    char *s = cJSON_PrintUnformatted(answer);
    for (size_t off = 0, n = s ? strlen(s) : 0; off < n;) {
        ssize_t w = write(fd, s + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    /* No atexit handlers, no stdio flush: those belong to the parent's state. */
    _exit(0);
}

static void finish(worker *w)
{
    nrunning--;
    vg_err err = {VG_E_NONE, ""};
    cJSON *answer = w->buf ? vg_json_parse(w->buf, w->len, NULL) : NULL;
    cJSON *result = cJSON_DetachItemFromObject(answer, "result");
    const cJSON *code = cJSON_GetObjectItem(answer, "code");
    const cJSON *msg = cJSON_GetObjectItem(answer, "message");
    if (cJSON_IsObject(result)) {
        w->done(w->priv, result, NULL);
    } else {
        cJSON_Delete(result);
        if (cJSON_IsNumber(code) && cJSON_IsString(msg) && code->valueint > 0 &&
            code->valueint <= VG_E_LAST)
            vg_fail(&err, (vg_err_code)code->valueint, "%s", msg->valuestring);
        else
            vg_fail(&err, VG_E_INTERNAL, "worker ended without an answer (status %d)", w->status);
        w->done(w->priv, NULL, &err);
    }
    cJSON_Delete(answer);
    free(w->buf);
    free(w);
}

static void on_read(struct ev_loop *l, ev_io *io, int revents)
{
    (void)revents;
    worker *w = (worker *)io;
    char chunk[16384];
    ssize_t n = read(io->fd, chunk, sizeof(chunk));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n > 0 && w->len + (size_t)n <= WORKER_ANSWER_MAX) {
        char *b = realloc(w->buf, w->len + (size_t)n + 1);
        if (b) {
            memcpy(b + w->len, chunk, (size_t)n);
            w->buf = b;
            w->len += (size_t)n;
            b[w->len] = '\0';
            return;
        }
    }
    if (n > 0) { /* too large or out of memory: the answer is unusable, the child is not */
        free(w->buf);
        w->buf = NULL;
        w->len = 0;
        return;
    }
    ev_io_stop(l, io);
    close(io->fd);
    w->eof = 1;
    if (w->exited)
        finish(w);
}

static void on_child(struct ev_loop *l, ev_child *c, int revents)
{
    (void)revents;
    worker *w = (worker *)((char *)c - offsetof(worker, child));
    ev_child_stop(l, c);
    w->exited = 1;
    w->status = c->rstatus;
    if (w->eof)
        finish(w);
}

int hd_worker_start(worker_fn *fn, const cJSON *params, worker_done *done, void *priv, vg_err *err)
{
    int fds[2];
    if (pipe(fds) != 0)
        return vg_fail(err, VG_E_INTERNAL, "pipe: %s", strerror(errno));
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    worker *w = calloc(1, sizeof(*w));
    if (!w) {
        close(fds[0]);
        close(fds[1]);
        return vg_fail(err, VG_E_INTERNAL, "out of memory");
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        free(w);
        return vg_fail(err, VG_E_INTERNAL, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(fds[0]);
        child_main(fds[1], fn, params);
    }
    close(fds[1]);
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    w->done = done;
    w->priv = priv;
    ev_io_init(&w->io, on_read, fds[0], EV_READ);
    ev_io_start(loop, &w->io);
    ev_child_init(&w->child, on_child, pid, 0);
    ev_child_start(loop, &w->child);
    nrunning++;
    vg_debug("worker", "started child %d", (int)pid);
    return VG_OK;
}
