/* Internals shared by holder.c (the holder connection and the output stream) and
 * viewer.c (what each viewer is sent), and linemode.c (the API's reads and writes of the ring);
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

struct console {
    char vm[65];
    char dev[32];
    char kind[16];
    char path[108];
    char log[1024];
    char state_path[1200];
    console_state st;
    console_state saved;
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
    console_viewer *viewers;
    console_viewer *writer;
    unsigned viewer_seq;
    const char *reason; /* why the holder connection is down */
};

const console_config *hd_console_cfg(void);
/* Asks the viewer's transport for a writable callback. */
void hd_console_wake(console_viewer *v);
/* Marks `pending` for every viewer of c and wakes them. */
void hd_console_wake_all(console *c, unsigned pending);

#endif
