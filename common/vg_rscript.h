/* Redis Lua scripts (the .lua files of redis-scripts/) for async hiredis connections, shared by
 * hostd and the gateway so atomic logic lives in one place and is loaded one way.
 *
 * A script is read from scripts_dir once at start-up, so a missing file stops the daemon
 * before it serves anything. What Redis runs is the shared prelude (scripts_dir/lib/prelude.lua,
 * the local functions several scripts need) followed by the script's file, as `cat` joins them;
 * the SHA1 covers both, so a changed prelude is a new script for Redis. The SHA1 is computed
 * locally, which lets callers queue EVALSHA right behind SCRIPT LOAD on a fresh connection
 * without waiting for the answer. Redis loses its script cache on restart and on SCRIPT FLUSH;
 * a call answered with NOSCRIPT loads the script again and is retried once on the same
 * connection. */
#ifndef VG_RSCRIPT_H
#define VG_RSCRIPT_H

#include "vg.h"

#include <hiredis/async.h>

#define VG_RSCRIPT_MAX 65536                 /* bytes per file; the largest script is a few KiB */
#define VG_RSCRIPT_MAX_ARGS 16               /* keys plus arguments of one call */
#define VG_RSCRIPT_PRELUDE "lib/prelude.lua" /* below scripts_dir */

typedef struct vg_rscript vg_rscript;

/* Reads dir/lib/prelude.lua and dir/name. name is a plain file name. Errors: VG_E_NOT_FOUND when
 * either file does not exist, VG_E_BAD_REQUEST for a bad name, an empty or too large file,
 * VG_E_INTERNAL otherwise; the message names the file. */
vg_rscript *vg_rscript_open(const char *dir, const char *name, vg_err *err);
void vg_rscript_free(vg_rscript *s);
const char *vg_rscript_name(const vg_rscript *s);
/* 40 lowercase hex characters, as SCRIPT LOAD answers. */
const char *vg_rscript_sha(const vg_rscript *s);
/* Queues SCRIPT LOAD; call it on every new connection (commands queue until it is up). */
int vg_rscript_load(vg_rscript *s, redisAsyncContext *ac);
/* Queues EVALSHA sha nkeys args... (keys first, at most VG_RSCRIPT_MAX_ARGS in all). cb (may be
 * NULL) gets the final reply, or NULL when the connection went away; s must outlive the
 * connection's pending callbacks. */
int vg_rscript_call(vg_rscript *s, redisAsyncContext *ac, redisCallbackFn *cb, void *priv,
                    int nkeys, int argc, const char **argv, const size_t *lens);

#endif
