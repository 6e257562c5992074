/* The link secret every gateway presents in its X-Vmgate-Link header, checked in constant time
 * by each endpoint of hostd's link (consoles, the RPC, volume streams). */
#ifndef HD_LINK_SECRET_H
#define HD_LINK_SECRET_H

struct lws;

/* 1 when the connection's X-Vmgate-Link header holds secret. */
int hd_link_secret_ok(struct lws *wsi, const char *secret);

#endif
