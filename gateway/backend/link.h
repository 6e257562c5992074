/* The gateway's one link to each hostd (link v2, docs/protocol.md §3): a long-lived mutually
 * authenticated WebSocket per host that carries every console channel the gateway has open
 * there and every management call (§4), so neither a console nor a call pays for a TLS
 * handshake. A link is made when first needed, reconnects with backoff while it has users,
 * and lives as long as the process (a handful per gateway, one per host). */
#ifndef GW_BACKEND_LINK_H
#define GW_BACKEND_LINK_H

#include "gateway.h"
#include "vg_link.h"

#include <cjson/cJSON.h>
#include <stddef.h>

typedef struct gw_hlink gw_hlink;
typedef struct gw_chan gw_chan;

/* What the owner of a channel hears; every hook is required. */
typedef struct gw_chan_ops {
    void (*opened)(gw_chan *ch, const cJSON *info);
    void (*output)(gw_chan *ch, uint64_t offset, const unsigned char *p, size_t n);
    void (*gap)(gw_chan *ch, uint64_t from, uint64_t to);
    void (*control)(gw_chan *ch, const cJSON *msg);
    /* hostd closed the channel (code, reason); it is no longer on the link. */
    void (*closed)(gw_chan *ch, int code, const char *reason);
    /* The link went down (the channel stays registered and is told `up` when it is back,
     * then sends OPEN again), or could not be made at all (`up` may never come). */
    void (*down)(gw_chan *ch, const char *why);
    void (*up)(gw_chan *ch);
} gw_chan_ops;

/* A channel lives inside its owner's structure. */
struct gw_chan {
    gw_hlink *link; /* NULL while on no link */
    uint32_t id;
    const gw_chan_ops *ops;
    void *owner;
    gw_chan *next, *prev;
};

/* The link to host (made on first use, its URL updated from the registry on each use). */
gw_hlink *gw_hlink_get(gw *g, const char *host, const char *url);
int gw_hlink_is_up(const gw_hlink *l);
const char *gw_hlink_host(const gw_hlink *l);
/* Puts ch on the link with a fresh id; the link connects if it is not up (ops->up follows). */
void gw_hlink_attach(gw_hlink *l, gw_chan *ch);
/* Takes ch off its link, telling hostd (CLOSE 1000) when the link is up. */
void gw_hlink_detach(gw_chan *ch);
/* Queues one frame of ch (OPEN, INPUT, CREDIT, CONTROL); VG_ERR when the link is not up. */
int gw_hlink_send(gw_chan *ch, int type, const void *data, size_t len);
int gw_hlink_send_json(gw_chan *ch, int type, const cJSON *o);

/* A management call: the request text must carry "id":id; done gets the answer object, or
 * NULL when the link failed before it came. */
typedef void gw_hlink_answer(void *priv, const cJSON *answer, const char *why);
void gw_hlink_call(gw_hlink *l, double id, const char *text, size_t len, gw_hlink_answer *done,
                   void *priv);
/* Forgets a call (its deadline passed): its answer, should it come, is dropped. */
void gw_hlink_forget(gw_hlink *l, double id);

/* Frees every link, after the lws context is gone (its connections with it). */
void gw_hlink_free_all(gw *g);

struct lws_protocols;
extern const struct lws_protocols gw_hlink_protocol;

#endif
