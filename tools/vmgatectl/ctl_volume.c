/* `vmgatectl volume upload|download POOL VOLUME [FILE]` (docs/vmgatectl.md "Volumes"): a local
 * file (or standard input / output) streamed to or from a volume over HTTP (ctl_http.h), with
 * its progress on standard error. */
#include "ctl_app.h"
#include "ctl_http.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct vol_xfer {
    ctl_app *app;
    int upload;
    int fd;
    const char *file; /* NULL: standard input / output */
    int tty;          /* standard error is a terminal: one line redrawn, else a line per 10 % */
    int last_step;
    ev_tstamp last_draw;
} vol_xfer;

static vol_xfer the_xfer; /* one transfer a process */

static void progress(long long bytes, long long total, void *ud)
{
    vol_xfer *v = ud;
    double mib = (double)bytes / (1 << 20);
    int pct = total > 0 ? (int)(bytes * 100 / total) : -1;
    if (v->tty) {
        ev_now_update(v->app->loop);
        ev_tstamp now = ev_now(v->app->loop);
        if (now - v->last_draw < 0.2 && bytes != total)
            return;
        v->last_draw = now;
        if (pct >= 0)
            fprintf(stderr, "\r%s: %.1f of %.1f MiB (%d %%)   ", v->upload ? "upload" : "download",
                    mib, (double)total / (1 << 20), pct);
        else
            fprintf(stderr, "\r%s: %.1f MiB   ", v->upload ? "upload" : "download", mib);
        return;
    }
    if (pct < 0 || pct / 10 <= v->last_step)
        return;
    v->last_step = pct / 10;
    fprintf(stderr, "%s: %.1f of %.1f MiB (%d %%)\n", v->upload ? "upload" : "download", mib,
            (double)total / (1 << 20), pct);
}

static void ended(const cJSON *result, const vg_err *err, long long bytes, void *ud)
{
    vol_xfer *v = ud;
    const ctl_opts *o = v->app->opts;
    if (v->tty)
        fputc('\n', stderr);
    if (v->file)
        close(v->fd);
    if (err) {
        /* A cut download leaves no partial file that looks like the volume. */
        if (!v->upload && v->file)
            unlink(v->file);
        ctl_app_fail(v->app, v->upload ? "upload" : "download", err);
        return;
    }
    const cJSON *host = cJSON_GetObjectItemCaseSensitive(result, "host");
    fprintf(stderr, "%s %s/%s: %lld bytes%s%s\n", v->upload ? "uploaded" : "downloaded",
            o->words[1], o->words[2], bytes, cJSON_IsString(host) ? " on host " : "",
            cJSON_IsString(host) ? host->valuestring : "");
    ctl_app_quit(v->app, CTL_EXIT_OK);
}

static int open_file(vol_xfer *v, long long *length, vg_err *err)
{
    struct stat st;
    if (!v->file) {
        v->fd = v->upload ? STDIN_FILENO : STDOUT_FILENO;
    } else if ((v->fd = v->upload
                            ? open(v->file, O_RDONLY | O_CLOEXEC)
                            : open(v->file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        return vg_fail(err, VG_E_BAD_REQUEST, "cannot open %.200s: %s", v->file, strerror(errno));
    }
    if (!v->upload)
        return VG_OK;
    /* The gateway needs the length first (Content-Length): a pipe does not know it. */
    if (fstat(v->fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
        if (v->file)
            close(v->fd);
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "%.200s is not a regular, non-empty file (an upload needs its length "
                       "first; redirect standard input from a file, not a pipe)",
                       v->file ? v->file : "standard input");
    }
    *length = (long long)st.st_size;
    return VG_OK;
}

int ctl_volume_run(ctl_app *app)
{
    const ctl_opts *o = app->opts;
    vol_xfer *v = &the_xfer;
    vg_err err;
    long long length = 0;
    memset(v, 0, sizeof(*v));
    v->app = app;
    v->upload = !strcmp(o->words[0], "upload");
    v->file = o->nwords > 3 && strcmp(o->words[3], "-") ? o->words[3] : NULL;
    v->tty = isatty(STDERR_FILENO);
    if (open_file(v, &length, &err) != VG_OK) {
        ctl_app_fail(app, o->words[0], &err);
        return VG_ERR;
    }
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/volume.%s?pool=%s&volume=%s", o->words[0], o->words[1],
             o->words[2]);
    ctl_http_req req = {path, ctl_api_token(app->api), v->fd, length, progress, ended, v};
    if (ctl_http_start(app->net, &req, &err) != VG_OK) {
        if (v->file)
            close(v->fd);
        ctl_app_fail(app, o->words[0], &err);
        return VG_ERR;
    }
    return VG_OK;
}
