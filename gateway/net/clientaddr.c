#include "net/clientaddr.h"

#include "gateway.h"

#include <arpa/inet.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>

/* lws reports an IPv4 client of a dual-stack socket as ::ffff:a.b.c.d. */
static const char *plain(const char *addr)
{
    return strncmp(addr, "::ffff:", 7) == 0 && strchr(addr + 7, '.') ? addr + 7 : addr;
}

static int listed(const char *addr, const char *list)
{
    size_t len = strlen(addr);
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ", ");
        if (n && n == len && strncmp(p, addr, n) == 0)
            return 1;
        p += n;
    }
    return 0;
}

/* Copies the address in s[0..len) with blanks trimmed to out when it is a valid one. */
static int take(const char *s, size_t len, char *out, size_t n)
{
    char a[INET6_ADDRSTRLEN];
    unsigned char bin[sizeof(struct in6_addr)];
    while (len && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (!len || len >= sizeof(a))
        return 0;
    memcpy(a, s, len);
    a[len] = '\0';
    if (inet_pton(AF_INET, a, bin) != 1 && inet_pton(AF_INET6, a, bin) != 1)
        return 0;
    snprintf(out, n, "%s", plain(a));
    return 1;
}

void gw_clientaddr_pick(const char *peer, const char *trusted, const char *real_ip, const char *xff,
                        char *out, size_t n)
{
    peer = plain(peer);
    if (listed(peer, trusted)) {
        if (real_ip && take(real_ip, strlen(real_ip), out, n))
            return;
        if (xff) {
            const char *last = strrchr(xff, ',');
            last = last ? last + 1 : xff;
            if (take(last, strlen(last), out, n))
                return;
        }
    }
    snprintf(out, n, "%s", peer);
}

void gw_client_addr(struct lws *wsi, char *out, size_t n)
{
    char peer[64], real_ip[128] = "", xff[512] = "";
    lws_get_peer_simple(wsi, peer, sizeof(peer));
    const gw *g = gw_from_wsi(wsi);
    const char *trusted = g ? g->cfg.trusted_proxies : NULL;
    if (!trusted || !*trusted) {
        snprintf(out, n, "%s", plain(peer));
        return;
    }
    int has_real = lws_hdr_custom_copy(wsi, real_ip, sizeof(real_ip), "x-real-ip:", 10) > 0;
    int has_xff = lws_hdr_copy(wsi, xff, sizeof(xff), WSI_TOKEN_X_FORWARDED_FOR) > 0;
    gw_clientaddr_pick(peer, trusted, has_real ? real_ip : NULL, has_xff ? xff : NULL, out, n);
}
