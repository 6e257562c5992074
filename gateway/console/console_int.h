/* What the files of the console relay share: a viewer (one browser attachment), a channel (the
 * gateway's channel to a console on its link to the console's host, link v3, and the shared
 * buffer its viewers read), and the steps each file offers the others. The files call one
 * another in one direction only (tools/lint/call-cycles.mjs):
 *
 *   browser.c, uplink.c, console.c  ->  attach.c  ->  follow.c  ->  channel.c  ->  viewer.c
 *
 * browser.c is the /ws/console WebSocket, uplink.c the channel's end on the host's link
 * (backend/hostmux.c), attach.c the ticket redemption and registry lookup, follow.c the host
 * the channel goes to (the VM's host, again after the link dropped, the new one after a
 * migration), channel.c the shared buffer, its members, its credit and what hostd tells them,
 * viewer.c a viewer's lifetime and what any step may tell the browser; console.c the module's
 * entry points (console.h).
 *
 * The shared buffer (docs/architecture.md "Console fan-out"): each channel mirrors hostd's ring
 * of the console in a byte ring of the same size, addressed by the browser's offsets; each
 * viewer is a cursor into it and is written from it while its socket takes more, one frame at
 * a time built in one process-wide buffer. A viewer the ring overtakes is skipped ahead with a
 * GAP (or closed with 4408, as hostd's laggard_policy says); nobody waits for it. Control
 * messages for a viewer wait in its own small queue, each marked with the ring offset it came
 * at, so they reach the browser in the order hostd sent them relative to the output. */
#ifndef GW_CONSOLE_INT_H
#define GW_CONSOLE_INT_H

#include "backend/hostmux.h"
#include "console/console.h"
#include "net/keepalive.h"
#include "net/wsq.h"
#include "vg_ring.h"

#include <ev.h>

struct cJSON;
typedef struct gw_channel gw_channel;

/* Client input waiting for the link; past this the browser's socket is no longer read. */
#define UP_QUEUE_MAX 65536
/* The most viewers of a console whose joined and left go to every viewer one by one. */
#define GW_DELTA_VIEWERS 100
/* Console bytes per OUTPUT frame to a browser, as hostd sends them. */
#define GW_FRAME_DATA 16384

/* One browser attachment. It lives until its browser has closed and no Redis reply is
 * outstanding; its channel forgets it when it leaves. */
struct gw_viewer {
    gw *g;
    gw_viewer *next, *prev;
    struct lws *browser; /* NULL once closed */
    int redis_pending;
    gw_console_query q;
    gw_ticket t;           /* what the ticket opens; empty until it has been redeemed */
    uint64_t revoked_mark; /* g->revoked.count when the ticket was sent to be redeemed */
    char addr[64];
    gw_wsq down; /* control messages for the browser, each marked with its ring offset */
    gw_wsq up;   /* to hostd, tagged */
    int browser_paused;
    gw_wsbuf rx_browser;
    int close_code; /* close the browser with this once the queue to it is empty */
    char close_reason[64];
    gw_keepalive ka; /* of the browser connection */
    int audited;     /* the attach is on record, so the detach goes there too */
    /* In a channel: */
    gw_channel *chan;
    gw_viewer *chan_next, *chan_prev;
    gw_viewer *dirty_next; /* among the channel's viewers with input to send */
    int dirty;
    uint32_t tag;      /* the channel's id of this viewer, in its tagged frames */
    int joined;        /* the join went to the current host */
    int attached;      /* hostd said hello to this viewer */
    int64_t viewer_id; /* hostd's id of this viewer (hello), -1 unknown */
    int writer;        /* it holds the write lock */
    uint64_t cursor;   /* next browser offset it is sent */
    int sent_data;     /* a GAP before the first output is a resume, never a laggard */
    int take_on_join;  /* after a move: take the lock on the new host */
};

/* The gateway's channel to one console: its link to the host that has it, the ring of output
 * its viewers read, its viewers. */
struct gw_channel {
    gw *g;
    gw_channel *next, *prev; /* g->channels, while viewers may still join it */
    int listed;
    char vm[65], dev[65];
    gw_muxend end;       /* on the host's link while attached (end.mux set) */
    int link_close_code; /* what hostd closed the channel with */
    int link_paused;     /* credit withheld while every viewer is far behind (channel.c) */
    uint32_t owed;       /* output received and not yet granted back to hostd */
    char host[65];       /* the host the established link goes to */
    char link_host[65];  /* the host the channel is being opened on ("" when none) */
    ev_timer link_timer; /* hostd's hello not there by LINK_ANSWER_S: the host is unavailable */
    int attached;        /* hostd said the channel's hello */
    int console_down;    /* hostd does not hold the VM's socket: input waits */
    int laggard_close;   /* hostd's laggard_policy is close */
    char offset[24];     /* where the next link's stream starts: ring, end or a number */
    vg_ring ring;        /* browser offsets */
    uint64_t delta;      /* browser offset = host offset + delta (mod 2^64), after moves */
    int moved;           /* the next hello comes from the host the VM moved to */
    gw_wsq ctl;          /* joins and leaves for hostd, sent before any input */
    gw_viewer *members;
    unsigned nmembers;
    gw_viewer *dirty_head, *dirty_tail;
    /* Following the VM to another host (migration): the viewers stay connected while the link
     * is rebuilt to the new host. */
    int following;
    int follow_code;    /* what the link closed with; viewers get it if the VM never shows up */
    int follow_pending; /* a registry lookup is on its way */
    int64_t follow_deadline;
    int64_t gone_since; /* while following: since when no host reports the VM (0: one does) */
    ev_timer follow_timer;
    /* Past GW_DELTA_VIEWERS viewers of the console, joined and left are summed up in a `count`
     * notice at most every second instead of going to every viewer (docs/protocol.md §1). */
    unsigned viewers;     /* the console's count of viewers, as hostd's last delta said */
    int count_due;        /* the count changed since the last `count` notice */
    ev_timer count_timer; /* active while summarising */
};

/* ---- viewer.c ---- */

/* A viewer for the browser connection wsi, in g->viewers; NULL when out of memory. */
gw_viewer *gw_viewer_new(gw *g, struct lws *wsi);
/* Frees v once neither its browser nor a Redis reply refers to it any more (it has left its
 * channel by then). */
void gw_viewer_maybe_free(gw_viewer *v);
/* Queues a control message (owned, may be NULL), a JSON text, or an `error` message for the
 * browser, after the output up to `at` (a browser offset; 0: before any output still due). */
void gw_viewer_send_control(gw_viewer *v, struct cJSON *msg, uint64_t at);
void gw_viewer_send_text(gw_viewer *v, const unsigned char *text, size_t len, uint64_t at);
void gw_viewer_send_error(gw_viewer *v, vg_err_code code, const char *message);
/* Puts an attach, detach or take-over on the audit trail. */
void gw_viewer_audit(gw_viewer *v, const char *method);
/* Closes the browser with code once what is queued for it has been written; _fail sends an
 * `error` first. */
void gw_viewer_close_browser(gw_viewer *v, int code, const char *reason);
void gw_viewer_fail_browser(gw_viewer *v, vg_err_code code, const char *message, int close_code);
/* Closes the browser as the link was closed (code), or as unavailable. */
void gw_viewer_close_like_link(gw_viewer *v, int code, const char *why);
/* The ticket's session ended or its user's access did: the browser is closed with 4001. */
void gw_viewer_access_ended(gw_viewer *v, gw_revoked_kind kind);

/* ---- uplink.c ---- */

/* A channel's end on the link: the callbacks hostmux.c calls. */
extern const gw_muxend_ops gw_uplink_ops;

/* ---- channel.c ---- */

/* The channel of vm/dev, or a new one (not connected: *fresh is set); NULL when out of memory. */
gw_channel *gw_channel_get(gw *g, const char *vm, const char *dev, int *fresh);
/* v joins ch: its join goes to hostd once the link is up. */
void gw_channel_add(gw_channel *ch, gw_viewer *v);
/* v leaves its channel (its browser closed); a channel without viewers closes its link. */
void gw_channel_remove(gw_viewer *v);
/* v has input queued in v->up: the link is to send it. */
void gw_channel_input(gw_viewer *v);
/* The link is up: every viewer's join is queued anew (also after a move). */
void gw_channel_rejoin(gw_channel *ch);
/* One whole message from hostd on the channel's link. */
void gw_channel_message(gw_channel *ch, int binary, unsigned char *data, size_t len);
/* Closes every viewer of ch as the link closed (code), or as unavailable; ch leaves the
 * table, so new viewers get a new channel. */
void gw_channel_fail(gw_channel *ch, int code, const char *why);
/* Frees ch once it has no link and no viewers. */
void gw_channel_maybe_free(gw_channel *ch);
/* v was sent output up to its cursor: the link is read again once a viewer is close enough to
 * the ring's end. */
void gw_channel_viewer_sent(gw_viewer *v);
/* Asks the link for a turn when something waits to be sent. */
void gw_channel_want_write(gw_channel *ch);
/* Closes the channel on the host's link, if open; its viewers stay (they join the next). */
void gw_channel_close_link(gw_channel *ch);
/* The channel is open on the host: hostd is granted its first credit. */
void gw_channel_link_up(gw_channel *ch);

/* ---- follow.c ---- */

/* Opens ch on the link to the hostd at link_url (ch->link_host names the host). */
int gw_follow_connect(gw_channel *ch, const char *link_url);
/* The channel ended: hostd closed it (code), or the link went (code 0; link_code is how the
 * link closed). Resumes on the host if the link dropped or hostd restarts, follows the VM if it
 * left its host, else closes the viewers. */
void gw_follow_link_gone(gw_channel *ch, int code, int link_code, const char *why);
/* Looks for the VM on another host; code is what the viewers get if it never shows up. */
void gw_follow_start(gw_channel *ch, int code);
void gw_follow_stop(gw_channel *ch);

/* ---- attach.c ---- */

/* Reads the query of the browser connection wsi and redeems its ticket; the channel follows. */
void gw_attach_start(gw_viewer *v, struct lws *wsi);

#endif
