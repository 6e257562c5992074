/* Per-console durable state in state_dir/<vm>-<dev>.state: what makes offsets survive hostd
 * restarts. One line, `inode=<n> base=<n> end=<n> prev=<n>`, replaced atomically (tmp +
 * rename); a line without prev (older hostd) reads as prev=0. */
#ifndef STATE_H
#define STATE_H

#include "vg.h"

typedef struct console_state {
    uint64_t inode; /* log file the offsets are counted in (0: no log) */
    uint64_t base;  /* stream offset of that log file's first byte */
    uint64_t end;   /* stream offset one past the last byte seen */
    uint64_t prev;  /* the rotated log file (.0) that ends at base, 0 when none is known */
} console_state;

/* Missing file: zeroed state and VG_OK. A corrupt file is an error. */
int hd_state_load(const char *path, console_state *st, vg_err *err);
int hd_state_save(const char *path, const console_state *st, vg_err *err);
/* Parses the file's text; exposed for the unit test and fuzzer. */
int hd_state_parse(const char *text, size_t len, console_state *st, vg_err *err);

#endif
