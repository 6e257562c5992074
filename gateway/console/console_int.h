/* What the files of the console relay share: the feed of a console (one per console the
 * gateway serves, whatever the number of its browsers) and the viewers, each a cursor into
 * its feed. The files call one another in one direction only (tools/lint/call-cycles.mjs):
 *
 *   browser.c, console.c  ->  attach.c  ->  feed.c  ->  follow.c  ->  viewer.c
 *
 * browser.c is the /ws/console WebSocket, attach.c the ticket redemption and registry lookup,
 * feed.c the shared buffer, what hostd's channel says and who is attached; follow.c where the
 * channel goes (the VM's host, a lost link, the new host after a migration); viewer.c the
 * lifetime of viewers and feeds and what any step may tell the browser; console.c the entry
 * points. */
#ifndef GW_CONSOLE_INT_H
#define GW_CONSOLE_INT_H

#include "backend/link.h"
#include "console/console.h"
#include "net/keepalive.h"
#include "net/wsq.h"
#include "vg_ring.h"

#include <ev.h>

struct cJSON;

/* Client input waiting for the console; past this the browser's socket is no longer read. */
#define UP_QUEUE_MAX 65536
/* Output per browser frame: with its headers (9 + 4 bytes), one TLS record (VG_LINK_OUTPUT_SEND
 * says why). */
#define FEED_FRAME_MAX (16384 - 4 - VG_FRAME_OUTPUT_HDR)
/* The full viewer list (in the attach answer) names at most this many viewers. */
#define FEED_LIST_MAX 100

typedef struct gw_feed gw_feed;

/* One browser attachment: a cursor into its console's feed. */
struct gw_viewer {
    gw *g;
    gw_viewer *next, *prev; /* g->viewers */
    gw_feed *feed;          /* NULL until joined and once left */
    gw_viewer *fnext, *fprev;
    struct lws *browser; /* NULL once closed */
    int redis_pending;
    gw_console_query q;
    gw_ticket t;           /* what the ticket opens; empty until it has been redeemed */
    uint64_t revoked_mark; /* g->revoked.count when the ticket was sent to be redeemed */
    char addr[64];
    char id[16]; /* "v<n>", unique in the gateway and, most likely, across its restarts */
    int64_t since_ms;
    int rw;
    int started;     /* hello sent: output flows */
    uint64_t cursor; /* the next byte it gets (feed offsets, which are the browser's) */
    int sent_data;   /* a GAP before the first output is a resume, never a laggard */
    gw_wsq ctl;      /* control messages for the browser, written before output */
    gw_wsq up;       /* input waiting while the console is not connected */
    int browser_paused;
    gw_wsbuf rx_browser;
    int close_code; /* close the browser with this once what is due has been written */
    char close_reason[64];
    gw_keepalive ka;
    int audited; /* the attach is on record, so the detach goes there too */
};

/* A console as this gateway serves it: one channel on the link to its host, one buffer of
 * its recent output that every browser reads from at its own cursor. */
struct gw_feed {
    gw *g;
    gw_feed *next, *prev; /* g->feeds */
    char vm[65], dev[65];
    gw_chan ch;
    char host[65]; /* where the channel goes */
    int opened;    /* hostd answered OPEN on the current channel */
    int based;     /* the buffer has a place in the stream (the first OPENED came) */
    int connected; /* hostd holds the VM's console */
    char reason[96];
    vg_ring ring;      /* browser offsets */
    uint64_t delta;    /* browser offset = host offset + delta (mod 2^64), changed by a move */
    uint64_t open_end; /* the host's end when the channel opened, in browser offsets */
    uint64_t lead;     /* the furthest any viewer has read */
    uint64_t rcvd;     /* bytes of output received on the channel since it opened */
    uint64_t credit;   /* the last credit: hostd may send while its count is below it */
    int moved;         /* the next OPENED is a new host's: rebase, tell the browsers */
    gw_viewer *viewers;
    unsigned nviewers;
    gw_viewer *writer; /* this gateway's viewer holding the write lock */
    char remote[65];   /* else the user of another gateway's viewer holding it ("" none) */
    ev_timer wait;     /* OPENED must come by then (first open, or after a lost link) */
    int following;     /* looking for the VM on another host */
    int follow_code;   /* what the browsers get if it never shows up */
    int64_t follow_deadline;
    int64_t gone_since; /* while following: since when no host reports the VM (0: one does) */
    ev_timer follow_timer;
    int redis_pending;
};

/* ---- viewer.c ---- */

/* A viewer for the browser connection wsi, in g->viewers; NULL when out of memory. */
gw_viewer *gw_viewer_new(gw *g, struct lws *wsi);
/* Frees v once its browser is closed, it has left its feed and no Redis reply is due. */
void gw_viewer_maybe_free(gw_viewer *v);
/* Queues a control message (owned, may be NULL) or an `error` message for the browser. */
void gw_viewer_send_control(gw_viewer *v, struct cJSON *msg);
void gw_viewer_send_text(gw_viewer *v, const char *text);
void gw_viewer_send_error(gw_viewer *v, vg_err_code code, const char *message);
/* Puts an attach, detach or take-over on the audit trail. */
void gw_viewer_audit(gw_viewer *v, const char *method);
/* Closes the browser with code once what is queued for it has been written; _fail sends an
 * `error` first. */
void gw_viewer_close_browser(gw_viewer *v, int code, const char *reason);
void gw_viewer_fail_browser(gw_viewer *v, vg_err_code code, const char *message, int close_code);
/* Closes the browser as hostd closed the channel (code), or as unavailable. */
void gw_viewer_close_like_link(gw_viewer *v, int code, const char *why);
/* The ticket's session ended or its user's access did: the browser is closed with 4001. */
void gw_viewer_access_ended(gw_viewer *v, gw_revoked_kind kind);
/* Asks for a writable callback on the browser, if it is still there. */
void gw_viewer_wake(gw_viewer *v);
/* Frees the feed once no viewer and no Redis reply refers to it; its channel closes. */
void gw_feed_maybe_free(gw_feed *f);

/* ---- follow.c ---- */

/* Puts the feed's channel on the link to host (link_url from the registry). */
void gw_follow_open(gw_feed *f, const char *host, const char *link_url);
/* Looks for the VM on another host; code is what the browsers get if it never shows up. */
void gw_follow_start(gw_feed *f, int code);
void gw_follow_stop(gw_feed *f);
/* Closes every browser of the feed as hostd closed its channel (code), or as unavailable. */
void gw_follow_fail(gw_feed *f, int code, const char *why);
/* The channel is waiting for OPENED: after s seconds every browser is closed (4503). */
void gw_follow_wait(gw_feed *f, double s);

/* ---- feed.c ---- */

/* The feed's channel hooks (backend/link.h). */
extern const gw_chan_ops gw_feed_ops;
/* Puts v on the feed of its console (made, and its channel opened on host, when it is the
 * console's first viewer here). */
void gw_feed_join(gw_viewer *v, const char *host, const char *link_url);
/* v's browser is gone: it leaves its feed (the last one closes the channel). */
void gw_feed_leave(gw_viewer *v);
/* What the browser sent, checked: input, take, release. */
void gw_feed_input(gw_viewer *v, const unsigned char *p, size_t n);
void gw_feed_take(gw_viewer *v);
void gw_feed_release(gw_viewer *v);
/* Writes to v's browser while it takes it: control messages, then output from the buffer.
 * Returns -1 to close the connection. */
int gw_feed_write(gw_viewer *v, struct lws *wsi);

/* ---- attach.c ---- */

/* Reads the query of the browser connection wsi and redeems its ticket; the feed follows. */
void gw_attach_start(gw_viewer *v, struct lws *wsi);

#endif
