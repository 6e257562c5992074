#include "console/consdir.h"

#include "vg_log.h"
#include "vg_util.h"
#include "libvirt/virt.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONSDIR_MAX 1024

static struct ev_loop *loop;
static char *dir;
static int ifd = -1;
static ev_io iw;
static ev_timer rescan;

int hd_consdir_parse_name(const char *file, dir_socket *out)
{
    memset(out, 0, sizeof(*out));
    size_t len = strlen(file);
    const char *dash = strchr(file, '-');
    if (len < 8 || strcmp(file + len - 5, ".sock") != 0 || !dash || dash == file)
        return 0;
    size_t plen = (size_t)(dash - file);
    size_t vlen = len - 5 - plen - 1;
    if (plen >= sizeof(out->dev) || vlen == 0 || vlen >= sizeof(out->vm))
        return 0;
    memcpy(out->vm, dash + 1, vlen);
    if (!vg_valid_name(out->vm))
        return 0;
    if (plen == 3 && strncmp(file, "com", 3) == 0)
        snprintf(out->dev, sizeof(out->dev), "serial0");
    else if (plen == 3 && strncmp(file, "hvc", 3) == 0)
        snprintf(out->dev, sizeof(out->dev), "console1");
    else
        snprintf(out->dev, sizeof(out->dev), "%.*s", (int)plen, file);
    return vg_valid_name(out->dev);
}

static void scan(void)
{
    DIR *d = opendir(dir);
    if (!d) {
        vg_warn("consdir", "%s: %s", dir, strerror(errno));
        return;
    }
    dir_socket *socks = calloc(CONSDIR_MAX, sizeof(*socks));
    size_t n = 0;
    struct dirent *e;
    while (socks && n < CONSDIR_MAX && (e = readdir(d))) {
        char path[4096];
        struct stat sb;
        if (!hd_consdir_parse_name(e->d_name, &socks[n]) ||
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(socks[n].path) ||
            stat(path, &sb) != 0 || !S_ISSOCK(sb.st_mode))
            continue;
        memcpy(socks[n].path, path, strlen(path) + 1);
        n++;
    }
    closedir(d);
    if (socks)
        hd_vms_sync_dir(socks, n);
    free(socks);
}

static void on_rescan(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
    scan();
}

static void on_inotify(struct ev_loop *l, ev_io *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    int created = 0, any = 0;
    ssize_t n;
    while ((n = read(ifd, buf, sizeof(buf))) > 0) {
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *e = (const struct inotify_event *)p;
            if (e->len && strstr(e->name, ".sock")) {
                any = 1;
                created |= (e->mask & (IN_CREATE | IN_MOVED_TO)) != 0;
            }
            p += sizeof(*e) + e->len;
        }
    }
    if (created)
        hd_vms_kick_all(); /* a VM (re)started or was restored: connect without waiting */
    if (any) {
        scan();
        hd_virt_poke();
    }
}

int hd_consdir_start(struct ev_loop *l, const char *d, vg_err *err)
{
    loop = l;
    dir = strdup(d);
    if (!dir)
        return vg_fail(err, VG_E_INTERNAL, "out of memory");
    ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (ifd < 0 ||
        inotify_add_watch(ifd, dir, IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM) < 0)
        return vg_fail(err, VG_E_INTERNAL, "cannot watch console_dir %s: %s", dir, strerror(errno));
    ev_io_init(&iw, on_inotify, ifd, EV_READ);
    ev_io_start(loop, &iw);
    /* Belt and braces against missed events (directory replaced, queue overflow). */
    ev_timer_init(&rescan, on_rescan, 5., 5.);
    ev_timer_start(loop, &rescan);
    scan();
    return VG_OK;
}

void hd_consdir_stop(void)
{
    if (!loop)
        return;
    ev_io_stop(loop, &iw);
    ev_timer_stop(loop, &rescan);
    if (ifd >= 0)
        close(ifd);
    ifd = -1;
    free(dir);
    dir = NULL;
}
