/* Console recordings (C12, docs/architecture.md "Recordings"): every writer session of a console
 * is written to recording_dir as an asciicast v2 file, <id>.cast — output always, what the writer
 * typed as "i" events when the gateway asked for it (the record_input setting, passed with the
 * attach). Files are written through a stdio buffer flushed once a second, so the loop never
 * waits on the disk for more than one buffer. A file that reaches max_bytes is closed and the
 * session goes on in a new one (its part number one higher); files older than keep_s, and the
 * oldest files while all of them take more than total_bytes, are deleted.
 *
 * The index is in Redis (docs/redis.md "Recordings"), written by
 * redis-scripts/hostd_recording.lua on its own connection: on start, every second while a file
 * grows, at its end and at its deletion. On every (re)connection the whole directory is written
 * again from the files' headers, so a Redis restart or a write lost while it was down is repaired.
 */
#ifndef HD_RECORDER_H
#define HD_RECORDER_H

#include "console/console.h"
#include "link/rpc.h"
#include "vg.h"

#include <ev.h>

typedef struct rec_config {
    const char *dir;
    const char *host_id;
    long long max_bytes;   /* one file; then the session continues in the next part */
    long long total_bytes; /* all files of this host */
    long long keep_s;      /* a file older than this is deleted */
    const char *redis_host;
    int redis_port;
    const char *redis_sentinels, *redis_master_name; /* vg_redis_config */
    const char *password;                            /* NULL: no AUTH */
    const char *scripts_dir;
} rec_config;

/* The struct must outlive hd_rec_stop. */
int hd_rec_start(struct ev_loop *loop, const rec_config *cfg, vg_err *err);
/* Ends every recording (the files are complete asciicast files at any moment). */
void hd_rec_stop(void);

/* The console hooks (console_config): the writer changed (w NULL: none), output arrived, the
 * writer typed. */
void hd_rec_on_writer(const console *c, const console_viewer *w);
void hd_rec_on_output(const console *c, const unsigned char *p, size_t n);
void hd_rec_on_input(const console *c, const unsigned char *p, size_t n);

/* 1 for a well-formed recording id (rec-<ms>-<8 hex>): nothing else reaches a path. */
int hd_rec_valid_id(const char *id);
/* Opens the recording for reading (a file being written is flushed first, so it ends with a
 * whole event); *size is what to send. not_found when there is no such file. */
int hd_rec_open(const char *id, int *fd, long long *size, vg_err *err);

/* RPC recording.delete {id}: the file and its index entry. */
void hd_rec_rpc_delete(rpc_call *call, const cJSON *params);

#endif
