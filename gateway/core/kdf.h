/* Password checks off the event loop: argon2id takes ~40 ms of CPU, and the gateway has one
 * libev loop for every console and API connection, so a login flood checked on the loop would
 * stall every keystroke. A small fixed pool of threads runs the checks; the results come back
 * to the loop through an ev_async watcher.
 *
 * The bound is on jobs, not on a queue alone: a caller reserves a job before it starts the work
 * that leads to the check (the Redis round trip of login), so a full pool is known before any
 * failed-login counter is charged. Beyond the bound the caller answers `unavailable` instead of
 * queuing without limit.
 *
 * Every function is for the loop's thread. A job belongs to the caller from gw_kdf_reserve
 * until it hands it over with gw_kdf_verify or gives it back with gw_kdf_release; from
 * gw_kdf_verify on it belongs to the pool, which frees it after the callback returned. */
#ifndef GW_KDF_H
#define GW_KDF_H

#include "vg.h"

struct ev_loop;
typedef struct gw_kdf gw_kdf;
typedef struct gw_kdf_job gw_kdf_job;

/* kdf_threads (docs/config-gateway.md) is at most this; a check costs 19 MiB while it runs. */
#define GW_KDF_THREADS_MAX 16
/* Jobs the gateway lets wait or run per thread: ~32 × 40 ms = 1.3 s of queue at most. */
#define GW_KDF_JOBS_PER_THREAD 32
/* The answer when every job is taken. */
#define GW_KDF_BUSY "too many password checks in progress: retry in a moment"

/* The longest password the pool checks (longer ones never match). */
#define GW_KDF_PASSWORD_MAX 1024

/* Runs on the loop: match is 1 when the password matches the hash, 0 when not, -1 when the
 * pool was stopped before the result was delivered. */
typedef void gw_kdf_cb(int match, void *priv);

gw_kdf *gw_kdf_new(struct ev_loop *loop, int threads, int max_jobs, vg_err *err);
/* Lets each thread finish the check it runs, joins them, then calls every undelivered job's
 * callback with -1. Jobs still reserved may be released or queued afterwards (a queued one
 * gets its -1 from gw_kdf_free): the gateway stops the pool while Redis, which the callbacks
 * use, is still there, and frees it once the Redis callbacks have given their jobs back. */
void gw_kdf_stop(gw_kdf *k);
/* Stops the pool if needed and frees it; every reserved job must have been released. */
void gw_kdf_free(gw_kdf *k);
/* A job for one check, or NULL when max_jobs are reserved or in flight already. */
gw_kdf_job *gw_kdf_reserve(gw_kdf *k);
void gw_kdf_release(gw_kdf_job *j);
/* Queues the check of password against the argon2id hash encoded (both copied). cb runs
 * later on the loop, never from inside this call. */
void gw_kdf_verify(gw_kdf_job *j, const char *encoded, const char *password, gw_kdf_cb *cb,
                   void *priv);

#endif
