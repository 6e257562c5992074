/* Follows a console's durable chardev log (virtlogd, <log file=… append='on'/>) and turns it
 * into the console's output stream (C3).
 *
 * The stream offset of a byte is the base of the log file it is in plus its position there.
 * virtlogd rotates by renaming the file to .0 and starting a new one; the old file is read to
 * its end through the descriptor still open on it, and the new file's base is the old base
 * plus the old size. The (inode, base, prev) triple lives in the console's console_state, which
 * the owner persists whenever on_state reports a change; prev names the rotated file, so that
 * after a restart the history (the ring's refill) can reach back into .0 when the current file
 * is shorter than the ring. */
#ifndef LOGTAIL_H
#define LOGTAIL_H

#include "console/state.h"
#include "vg.h"

#include <ev.h>

typedef struct logtail logtail;

typedef struct logtail_cbs {
    void (*on_data)(void *ud, uint64_t offset, const unsigned char *p, size_t n);
    void (*on_state)(void *ud); /* inode or base in the shared console_state changed */
    void *ud;
} logtail_cbs;

/* Positions the tail by st (loaded from disk, updated in place) and the files as they are now.
 * Nothing is read until logtail_start. */
logtail *hd_logtail_new(struct ev_loop *loop, const char *path, console_state *st,
                        const logtail_cbs *cbs, vg_err *err);
/* Stream offset where the last `history` bytes of the log begin (ring rebuild): of the current
 * file, and of the rotated one before it when the current file holds fewer. */
uint64_t hd_logtail_history_start(const logtail *lt, size_t history);
/* Delivers the log from stream offset `from` (the rotated file's part first) to its end, then
 * follows it. */
void hd_logtail_start(logtail *lt, uint64_t from);
/* Reads whatever is new; called on inotify events and by a slow fallback timer. */
void hd_logtail_poll(logtail *lt);
/* Stream offset one past the last byte delivered. */
uint64_t hd_logtail_end(const logtail *lt);
void hd_logtail_free(logtail *lt);

#endif
