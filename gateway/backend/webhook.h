/* Webhook delivery (docs/monitoring.md "Alerts"): every second each gateway claims the due
 * deliveries of vg:webhook:queue (gateway_webhook_claim.lua, a lease that keeps other gateways
 * off them), POSTs each body signed with HMAC-SHA256 of its webhook's secret through
 * libwebsockets' client on the loop (never waiting on a socket), and reports the outcome
 * (gateway_webhook_done.lua: gone when delivered, else due again after a backoff). */
#ifndef GW_WEBHOOK_H
#define GW_WEBHOOK_H

#include "gateway.h"

#include <libwebsockets.h>

#define GW_WEBHOOK_PROTOCOL "vg-webhook"

extern const struct lws_protocols gw_webhook_protocol;

void gw_webhook_start(gw *g);
/* Claims at once instead of at the next tick (a transition has just queued deliveries). */
void gw_webhook_poke(gw *g);
void gw_webhook_stop(gw *g);

/* Pure: "sha256=" and the hex HMAC-SHA256 of body under secret into out (72 bytes). */
void gw_webhook_sign(const char *secret, const char *body, size_t len, char out[72]);

#endif
