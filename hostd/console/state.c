#include "console/state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int hd_state_parse(const char *text, size_t len, console_state *st, vg_err *err)
{
    char buf[128];
    memset(st, 0, sizeof(*st));
    if (len >= sizeof(buf))
        return vg_fail(err, VG_E_BAD_REQUEST, "state file is too long");
    memcpy(buf, text, len);
    buf[len] = '\0';
    int used = 0, more = 0;
    if (sscanf(buf, "inode=%" SCNu64 " base=%" SCNu64 " end=%" SCNu64 "%n", &st->inode, &st->base,
               &st->end, &used) == 3 &&
        strncmp(buf + used, " prev=", 6) == 0 &&
        sscanf(buf + used + 6, "%" SCNu64 "%n", &st->prev, &more) == 1)
        used += 6 + more;
    if (!used || (buf[used] != '\0' && strcmp(buf + used, "\n") != 0)) {
        memset(st, 0, sizeof(*st));
        return vg_fail(err, VG_E_BAD_REQUEST, "state file is not `inode=N base=N end=N [prev=N]`");
    }
    if (st->end < st->base) {
        memset(st, 0, sizeof(*st));
        return vg_fail(err, VG_E_BAD_REQUEST, "state file has end before base");
    }
    return VG_OK;
}

int hd_state_load(const char *path, console_state *st, vg_err *err)
{
    memset(st, 0, sizeof(*st));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return VG_OK;
        return vg_fail(err, VG_E_INTERNAL, "%s: %s", path, strerror(errno));
    }
    char buf[128];
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n < 0)
        return vg_fail(err, VG_E_INTERNAL, "%s: %s", path, strerror(errno));
    return hd_state_parse(buf, (size_t)n, st, err);
}

int hd_state_save(const char *path, const console_state *st, vg_err *err)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return vg_fail(err, VG_E_INTERNAL, "state path too long");
    char line[128];
    int len = snprintf(line, sizeof(line),
                       "inode=%" PRIu64 " base=%" PRIu64 " end=%" PRIu64 " prev=%" PRIu64 "\n",
                       st->inode, st->base, st->end, st->prev);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return vg_fail(err, VG_E_INTERNAL, "%s: %s", tmp, strerror(errno));
    int ok = write(fd, line, (size_t)len) == len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return vg_fail(err, VG_E_INTERNAL, "%s: %s", path, strerror(e));
    }
    return VG_OK;
}
