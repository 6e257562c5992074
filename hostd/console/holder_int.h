/* Internals shared by holder.c (the holder connection and the output stream) and
 * viewer.c (what each viewer is sent), and linemode.c and ringread.c (the API's reads and writes
 * of the ring);
 * nothing else includes this header. */
#ifndef CONSOLE_INT_H
#define CONSOLE_INT_H

#include "console/console.h"
#include "console/logtail.h"
#include "vg_ring.h"

/* What a viewer still has to be told (console_viewer.pending). */
enum {
    CONSOLE_P_HELLO = 1 << 0,
    CONSOLE_P_VIEWERS = 1 << 1,
    CONSOLE_P_WRITER = 1 << 2,
    CONSOLE_P_STATE = 1 << 3,
    CONSOLE_P_ERROR = 1 << 4,
};

/* Who joined or left, kept for viewers still to be told (docs/protocol.md "Who is attached"):
 * each viewer is sent the events from its own cursor, one small message each; one that fell
 * more than CONSOLE_EVENTS behind gets the (summarised) list again instead. */
#define CONSOLE_EVENTS 32
/* The list in hello's wake names at most this many viewers (the writer always among them). */
#define CONSOLE_LIST_MAX 50

typedef struct console_event {
    int joined; /* else left */
    char viewer[16];
    char user[65];
    int rw;
    int64_t since_ms;
} console_event;

struct console {
    char vm[65];
    char dev[32];
    char kind[16];
    char path[108];
    char log[1024];
    char state_path[1200];
    console_state st;
    console_state saved;
    uint64_t reserve;      /* how far ahead of the ring the last save put the end */
    ev_tstamp reserved_at; /* when it did */
    vg_ring ring;
    logtail *lt;
    int fd;
    int connected;
    ev_io rio;
    ev_io wio;
    ev_timer retry;
    ev_timer persist;
    unsigned char *inbuf; /* input the socket did not take yet, at most CONSOLE_INPUT_MAX */
    size_t inlen;
    console_viewer *viewers; /* listed and counted: CONSOLE_VIEWER and CONSOLE_MEMBER */
    console_viewer *readers; /* sent output and notices: CONSOLE_VIEWER and CONSOLE_CHANNEL */
    console_viewer *writer;
    unsigned viewer_seq;
    unsigned nviewers;
    console_event *events; /* CONSOLE_EVENTS of them, allocated with the first */
    uint64_t event_seq;    /* events so far; event n is events[n % CONSOLE_EVENTS] */
    const char *reason;    /* why the holder connection is down */
};

const console_config *hd_console_cfg(void);
/* Asks the viewer's transport for a writable callback. */
void hd_console_wake(console_viewer *v);
/* Marks `pending` for every reader of c and wakes them. */
void hd_console_wake_all(console *c, unsigned pending);

#endif
