/* Reading a console's ring for the API (C10, docs/api.md "console.read" and "console.watch"):
 * what a read answers, now, or — with wait_ms — once the console printed something after the
 * offset, a GAP opened or the connection changed, or the wait ended.
 *
 * A held read waits through a watcher: a read-only console_viewer in the reader's name, so
 * whoever watches a console through the API shows in its viewers list like a browser that
 * watches it. One watcher serves every held read of one user on one console and stays
 * RINGREAD_HOLD_S after the last, so a client that reads again at once (console.watch in the
 * gateway does) does not make its viewers join and leave at every read. */
#ifndef RINGREAD_H
#define RINGREAD_H

#include "console/console.h"
#include "link/rpc.h"
#include "vg_ring.h"

#define RINGREAD_MAX 65536      /* bytes per read (base64) */
#define RINGREAD_TEXT_MAX 32768 /* bytes per read as text */
#define RINGREAD_WAIT_MAX_MS 60000
#define RINGREAD_HOLD_S 10.0

/* Copies [off, off + n) out of the ring, which must hold it (NULL: out of memory). */
unsigned char *hd_ringread_copy(const vg_ring *r, uint64_t off, size_t n);
/* {offset, next, start, end, gap, data_b64|text, connected} from offset (-1: the oldest byte
 * the ring holds); NULL when out of memory. */
cJSON *hd_ringread_answer(const console *c, long long offset, int text);
/* Answers call now when there is something to read from offset, else holds it until there is
 * or wait_ms pass (the answer is then empty). */
void hd_ringread_wait(rpc_call *call, console *c, const char *user, long long offset, int text,
                      long wait_ms);
/* Answers every held read `unavailable` and frees the watchers (shutdown). */
void hd_ringread_free_all(void);

#endif
