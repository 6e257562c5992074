/* Line mode (C10, docs/api.md "Line mode"): the RPC methods behind the gateway's console.send,
 * console.key, console.read, console.status and console.exec, run here because the ring and
 * the holder connection are here.
 *
 * An API user writes through a line-mode session: a console_viewer attached read-write in
 * the user's name, so it shares the one write lock with browser viewers (viewer.c) and shows
 * in their viewer lists. It takes the lock when nobody holds it (or with take), writes under
 * the lock of the same user's browser, is refused `conflict` while another user holds it, and
 * detaches LM_HOLD_S after its last use. Its wakeups (new output, the console going away)
 * drive console.exec: type the line, collect the output after its echo, answer at the prompt,
 * Ctrl-C at the deadline. */
#ifndef LINEMODE_H
#define LINEMODE_H

#include "link/rpc.h"

/* console.send {vm, dev?, user, data_b64, take?} → {sent, offset} */
void hd_linemode_send(rpc_call *call, const cJSON *params);
/* console.read {vm, dev?, offset?, encoding?, wait_ms?, user (with wait_ms)} → {offset, next,
 * start, end, gap, data_b64|text, connected}: console/ringread.h */
void hd_linemode_read(rpc_call *call, const cJSON *params);
/* console.status {vm, dev?} → {connected, reason, writer, viewers, start, end} */
void hd_linemode_status(rpc_call *call, const cJSON *params);
/* console.exec {vm, dev?, user, command, prompt?, timeout_s?, strip_ansi?, exit_status?,
 * take?} → {output, exit?, timed_out, cancelled, offset_from, offset_to, ...} */
void hd_linemode_exec(rpc_call *call, const cJSON *params);
/* console.exec.cancel {vm, dev?, user} → {cancelled}: the user's running exec answers now. */
void hd_linemode_cancel(rpc_call *call, const cJSON *params);
/* Frees every session (shutdown); running execs answer `unavailable`. */
void hd_linemode_free_all(void);

#endif
