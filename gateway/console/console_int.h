/* What the files of the console relay share: one viewer (a browser attachment and its link to
 * hostd) and the steps each file offers the others. The files call one another in one
 * direction only (tools/lint/call-cycles.mjs):
 *
 *   browser.c, uplink.c, console.c  ->  attach.c  ->  follow.c  ->  viewer.c
 *
 * browser.c is the /ws/console WebSocket, uplink.c the link to hostd's /link/console (a raw
 * TLS connection framed by backend/linkws.c), attach.c the ticket redemption and registry lookup,
 * follow.c the host the link goes to (the VM's host, then the new one after a migration), viewer.c
 * a viewer's lifetime and what any step may tell the browser; console.c the module's entry points
 * (console.h). */
#ifndef GW_CONSOLE_INT_H
#define GW_CONSOLE_INT_H

#include "backend/linkws.h"
#include "console/console.h"
#include "net/keepalive.h"
#include "net/wsq.h"

#include <ev.h>

struct cJSON;

/* Client input waiting for the link; past this the browser's socket is no longer read. */
#define UP_QUEUE_MAX 65536
/* hostd frames are small (one ring read each); anything bigger means a broken peer. */
#define LINK_MSG_MAX (4 * 1024 * 1024)

/* One browser attachment and its link. Both connections point here; it lives until both have
 * closed and no Redis reply is outstanding, so neither side ever touches a freed wsi. */
struct gw_viewer {
    gw *g;
    gw_viewer *next, *prev;
    struct lws *browser; /* NULL once closed */
    struct lws *link;    /* NULL before connecting and once closed */
    int link_up;         /* link handshake done */
    int link_closing;
    int redis_pending;
    gw_console_query q;
    gw_ticket t;           /* what the ticket opens; empty until it has been redeemed */
    uint64_t revoked_mark; /* g->revoked.count when the ticket was sent to be redeemed */
    char addr[64];
    gw_wsq down; /* to the browser */
    gw_wsq up;   /* to hostd */
    int browser_paused;
    int link_paused;
    /* Output dropped because the browser is not keeping up: [skip_from, skip_to) becomes one
     * GAP frame once its queue has drained. */
    int skipping;
    uint64_t skip_from, skip_to;
    gw_wsbuf rx_browser;
    gw_linkws lw;   /* the link's WebSocket framing (backend/linkws.h) */
    int close_code; /* close the browser with this once the queue to it is empty */
    char close_reason[64];
    int link_close_code; /* what hostd closed the link with */
    gw_keepalive ka;     /* of the browser connection */
    int audited;         /* the attach is on record, so the detach goes there too */
    char host[65];       /* the host the established link goes to */
    char link_host[65];  /* the host a link is being made to ("" when none) */
    int attached;        /* hostd said hello on the link */
    int console_down;    /* hostd does not hold the VM's socket: input waits in `up` */
    int64_t viewer_id;   /* hostd's id of this viewer, and whether it holds the write lock */
    int writer;
    /* Following the VM to another host (migration): the browser stays connected while the
     * link is rebuilt to the new host; the new host's offsets differ, so every offset the
     * browser receives is shifted by delta to keep its stream contiguous. */
    int following;
    int follow_code; /* what the link closed with; the browser gets it if the VM never shows up */
    int64_t follow_deadline;
    int64_t gone_since; /* while following: since when no host reports the VM (0: one does) */
    ev_timer follow_timer;
    ev_timer link_timer; /* a link not up by LINK_ANSWER_S means the host is unavailable */
    int moved;           /* the new host's hello becomes a `state` frame */
    int rebase;          /* the next binary frame from the new host sets delta */
    uint64_t delta;      /* browser offset = host offset + delta (mod 2^64) */
    uint64_t next_out;   /* browser offset right after the last frame it was sent */
};

/* ---- viewer.c ---- */

/* A viewer for the browser connection wsi, in g->viewers; NULL when out of memory. */
gw_viewer *gw_viewer_new(gw *g, struct lws *wsi);
/* Frees v once neither connection nor a Redis reply refers to it any more. */
void gw_viewer_maybe_free(gw_viewer *v);
/* Queues a control message (owned, may be NULL) or an `error` message for the browser. */
void gw_viewer_send_control(gw_viewer *v, struct cJSON *msg);
void gw_viewer_send_error(gw_viewer *v, vg_err_code code, const char *message);
/* Puts an attach, detach or take-over on the audit trail. */
void gw_viewer_audit(gw_viewer *v, const char *method);
/* Closes the browser with code once what is queued for it has been written; _fail sends an
 * `error` first. */
void gw_viewer_close_browser(gw_viewer *v, int code, const char *reason);
void gw_viewer_fail_browser(gw_viewer *v, vg_err_code code, const char *message, int close_code);
/* Closes the browser as the link was closed (code), or as unavailable. */
void gw_viewer_close_like_link(gw_viewer *v, int code, const char *why);
/* Closes the link to hostd, if any. */
void gw_viewer_close_link(gw_viewer *v);
/* The ticket's session ended or its user's access did: the browser is closed with 4001. */
void gw_viewer_access_ended(gw_viewer *v, gw_revoked_kind kind);

/* ---- follow.c ---- */

/* Connects v's link to the hostd at link_url (v->link_host names the host). */
int gw_follow_connect(gw_viewer *v, const char *link_url);
/* The link ended (closed, failed, or no answer): follows the VM if it left its host, else
 * closes the browser. */
void gw_follow_link_gone(gw_viewer *v, const char *why);
/* Looks for the VM on another host; code is what the browser gets if it never shows up. */
void gw_follow_start(gw_viewer *v, int code);
void gw_follow_stop(gw_viewer *v);

/* ---- attach.c ---- */

/* Reads the query of the browser connection wsi and redeems its ticket; the link follows. */
void gw_attach_start(gw_viewer *v, struct lws *wsi);

#endif
