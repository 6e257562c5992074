/* hostd's Prometheus exposition (docs/monitoring.md "hostd"): `GET /metrics` on its own
 * address and port (metrics_bind, metrics_port), a vhost of the link's lws context on the same
 * loop. Not on the link's port: the link takes only gateway certificates, and a scraper must
 * not hold one. HTTPS with the link's certificate when hostd has one (no client certificate
 * asked), plain HTTP with link_insecure; either way the request needs
 * `Authorization: Bearer <the token of metrics_token_file>`, as the gateway's /metrics. */
#ifndef EXPO_H
#define EXPO_H

#include "vg.h"

typedef struct expo_config {
    const char *bind;
    int port;
    const char *token;    /* 64 hexadecimal characters */
    const char *tls_cert; /* NULL: plain HTTP */
    const char *tls_key;
    const char *host_id;
} expo_config;

/* After hd_link_start; the vhost goes with the link (hd_link_stop), and cfg must outlive it. */
int hd_expo_start(const expo_config *cfg, vg_err *err);
/* The exposition text; NULL when out of memory. */
char *hd_expo_text(void);

#endif
