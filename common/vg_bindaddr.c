#include "vg_bindaddr.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vg_bindaddr_parse(const char *bind, int port, struct sockaddr_storage *out, vg_err *err)
{
    memset(out, 0, sizeof(*out));
    struct sockaddr_in *a4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)out;
    if (port < 1 || port > 65535)
        return vg_fail(err, VG_E_BAD_REQUEST, "link_port must be 1..65535, not %d", port);
    if (bind && inet_pton(AF_INET, bind, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        return VG_OK;
    }
    if (bind && inet_pton(AF_INET6, bind, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        return VG_OK;
    }
    memset(out, 0, sizeof(*out));
    return vg_fail(err, VG_E_BAD_REQUEST,
                   "link_bind must be an IPv4 or IPv6 address (127.0.0.1, ::1, 0.0.0.0, ::), "
                   "not '%.64s'",
                   bind ? bind : "");
}

void vg_bindaddr_format(const struct sockaddr_storage *a, char *buf, size_t size)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)a;
        inet_ntop(AF_INET, &a4->sin_addr, ip, sizeof(ip));
        snprintf(buf, size, "%s:%u", ip, ntohs(a4->sin_port));
    } else if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
        inet_ntop(AF_INET6, &a6->sin6_addr, ip, sizeof(ip));
        snprintf(buf, size, "[%s]:%u", ip, ntohs(a6->sin6_port));
    } else {
        snprintf(buf, size, "(address family %d)", a->ss_family);
    }
}

int vg_bindaddr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a,
                                 *y = (const struct sockaddr_in *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a,
                                  *y = (const struct sockaddr_in6 *)b;
        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
    }
    return 0;
}

static int port_of(const struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)a)->sin_port);
    if (a->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
    return -1;
}

/* lws keeps its listening socket to itself: the process's descriptors are where to find it. */
int vg_bindaddr_listeners(int port, struct sockaddr_storage *out)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 0;
    int n = 0, self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (*end || end == e->d_name || fd == self)
            continue;
        int listening = 0;
        socklen_t len = sizeof(listening);
        struct sockaddr_storage a;
        socklen_t alen = sizeof(a);
        if (getsockopt((int)fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening ||
            getsockname((int)fd, (struct sockaddr *)&a, &alen) != 0 || port_of(&a) != port)
            continue;
        if (n++ == 0)
            *out = a;
    }
    closedir(d);
    return n;
}
