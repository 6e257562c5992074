/* One VM console (C2, C3, C6, C7): the single holder connection to its unix socket, the ring
 * of recent output addressed by absolute offsets, and the viewers attached to it.
 *
 * Output comes from the durable chardev log when the console has one (logtail.c): virtlogd
 * records every byte even while hostd is down, so offsets survive restarts with nothing lost
 * or repeated. The socket is then held for input only and its output is read and dropped,
 * which QEMU needs to keep the guest running. Without a log the socket output is the stream.
 *
 * Viewers are transport-neutral: endpoint.c (a v1 link) or channel.c (a gateway's channel and
 * its members, link v2) owns the connection and asks hd_console_viewer_next for the next message
 * whenever the connection is writable, so at most one frame per reader is ever built and a slow
 * one costs nothing but its offset. */
#ifndef CONSOLE_H
#define CONSOLE_H

#include "console/state.h"
#include "vg.h"

#include <ev.h>

typedef struct console console;
typedef struct console_viewer console_viewer;

typedef struct console_config {
    struct ev_loop *loop;
    size_t ring_size;
    int laggard_close; /* laggard_policy = close: 4408 instead of a GAP */
    const char *state_dir;
    /* Told when the holder connection comes or goes (registry events). */
    void (*on_connected)(const console *c, int connected);
    /* Recording (hostd/recording): the writer changed (w NULL: none, also when the console
     * goes), new output arrived (each byte once, in order), the writer's input was accepted.
     * Any of them may be NULL. */
    void (*on_writer)(const console *c, const console_viewer *w);
    void (*on_output)(const console *c, const unsigned char *p, size_t n);
    void (*on_input)(const console *c, const unsigned char *p, size_t n);
} console_config;

/* Process-wide settings; the struct must outlive every console. */
void hd_console_configure(const console_config *cfg);

console *hd_console_new(const char *vm, const char *dev, const char *kind, const char *path,
                        const char *log, vg_err *err);
/* Detaches every viewer (they are closed with 4004) and persists the offsets. */
void hd_console_free(console *c);
/* The VM's definition moved the socket or the log (migration, redefinition). */
void hd_console_update(console *c, const char *path, const char *log);
/* Try to connect now, e.g. because a socket file just appeared. */
void hd_console_kick(console *c);
/* Writes the offsets to state_dir now (shutdown). */
void hd_console_save(console *c);

/* Queues bytes for the guest on the holder connection; refuses (unavailable) while the socket
 * is down or the guest has not read the last CONSOLE_INPUT_MAX bytes. */
int hd_console_send_input(console *c, const unsigned char *p, size_t n, vg_err *err);

const char *hd_console_vm(const console *c);
const char *hd_console_dev(const console *c);
const char *hd_console_path(const console *c);
int hd_console_connected(const console *c);
uint64_t hd_console_start(const console *c);
uint64_t hd_console_end(const console *c);

#define CONSOLE_MAX_PONGS 8

/* What a console_viewer stands for (docs/protocol.md §3, link v2):
 * - CONSOLE_VIEWER: a whole viewer, as a v1 link or a line-mode session: it is one of the
 *   viewers (listed, may write) and reads the output from its own offset;
 * - CONSOLE_MEMBER: a browser viewer behind a gateway's channel: listed and may write, but its
 *   output and the who-is-attached notices travel once per channel; it is told only its hello,
 *   the list, its errors and pongs;
 * - CONSOLE_CHANNEL: a gateway's channel: not a viewer (never listed, never writes), it reads
 *   the output from its own offset and is told every state, writer and membership notice. */
enum { CONSOLE_VIEWER, CONSOLE_MEMBER, CONSOLE_CHANNEL };

struct console_viewer {
    console *con;          /* NULL once the console is gone */
    console_viewer *next;  /* among the console's viewers (CONSOLE_VIEWER, CONSOLE_MEMBER) */
    console_viewer *rnext; /* among its readers of output (CONSOLE_VIEWER, CONSOLE_CHANNEL) */
    int kind;              /* set before attaching */
    char id[16];
    char user[65];
    int rw;
    int rec_input; /* recordings of this writer keep its input (the record_input setting) */
    int64_t since_ms;
    uint64_t offset;     /* next byte this viewer gets */
    uint64_t asked;      /* offset it asked for, reported in hello */
    int sent_data;       /* a gap before the first frame is a resume, never a laggard */
    unsigned pending;    /* CONSOLE_P_* */
    uint64_t event_next; /* the console's next membership event this viewer is to be told */
    char prev_writer[16];
    int64_t pongs[CONSOLE_MAX_PONGS];
    unsigned npongs;
    vg_err err;
    int close_code;
    /* Set by the transport: asks for a writable callback. */
    void (*wake)(console_viewer *v);
    void *ud;
};

/* offset: NULL or "ring" (all the ring holds), "end" (new output only) or a decimal offset.
 * v->kind says what v is; a CONSOLE_CHANNEL ignores user, rw and take. */
int hd_console_attach(console *c, console_viewer *v, const char *user, int rw, int take,
                      const char *offset, vg_err *err);
void hd_console_detach(console_viewer *v);
/* Gives the write lock to v (read-write), as a take message does. */
void hd_console_take(console_viewer *v);
/* The viewer holding the write lock, or NULL. */
const console_viewer *hd_console_writer(const console *c);
/* {"type":"viewers","count":N,"viewers":[{viewer,user,mode,writer,since}...],"truncated":B},
 * as a viewer (me, listed after the writer; NULL for none) is told after its hello. */
struct cJSON *hd_console_viewers_json(const console *c, const console_viewer *me);
/* Handles one complete message from the viewer; refusals are queued as error messages. */
void hd_console_viewer_recv(console_viewer *v, int binary, const unsigned char *buf, size_t len);
/* Queues an error message for the viewer (too_big also closes with 1009). */
void hd_console_viewer_refuse(console_viewer *v, const vg_err *err);
/* Asks the viewer to be closed with code (after any queued error is sent). */
void hd_console_viewer_close(console_viewer *v, int code);

typedef struct console_msg {
    size_t len;     /* bytes written to buf; 0 when only a close is due */
    int binary;     /* else a JSON text frame */
    int close_code; /* non-zero: close the connection with it after sending */
} console_msg;

/* Builds the next message due for the viewer into buf (cap >= 16 KiB + 9 is a full frame).
 * Returns 1 when it produced something, 0 when nothing is due. */
int hd_console_viewer_next(console_viewer *v, unsigned char *buf, size_t cap, console_msg *out);
/* As hd_console_viewer_next, but only what is due before any output (a channel's notices go
 * out before its members' hellos and lists, so no member is told a change twice). */
int hd_console_viewer_control(console_viewer *v, unsigned char *buf, size_t cap, console_msg *out);

#endif
