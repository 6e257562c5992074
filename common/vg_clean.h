/* Turning raw console output into plain text for console.exec (pure, no I/O).
 *
 * vg_clean strips terminal escape sequences (CSI such as busybox ash's ESC[6n, OSC, DCS and
 * two-byte ESC sequences), carriage returns and other control bytes, and applies backspaces. It
 * is a streaming decoder: a sequence split across two console frames is still removed whole.
 * vg_transcript then finds the echoed command line and the next prompt in the cleaned text. */
#ifndef VG_CLEAN_H
#define VG_CLEAN_H

#include "vg.h"

#include <regex.h>

typedef struct vg_clean {
    int state;  /* position inside an escape sequence */
    char *text; /* cleaned output, NUL-terminated; owned */
    size_t len;
    size_t cap;
    size_t max;   /* text is never longer; older text is not kept beyond it */
    int overflow; /* set once bytes were dropped because of max */
} vg_clean;

void vg_clean_init(vg_clean *c, size_t max);
void vg_clean_free(vg_clean *c);
/* Forgets the text but keeps the escape-sequence state (the stream continues). */
void vg_clean_clear(vg_clean *c);
int vg_clean_feed(vg_clean *c, const unsigned char *data, size_t len, vg_err *err);

/* Whether the last line of the text (after its last line break) matches the prompt regex. */
int vg_clean_at_prompt(const vg_clean *c, const regex_t *prompt);

typedef struct vg_transcript {
    size_t out_start; /* first byte after the echoed command line */
    size_t out_end;   /* first byte of the prompt line */
    int echo_done;    /* the echoed command line is complete */
    int prompt;       /* the last line matches the prompt regex */
} vg_transcript;

/* Looks at text cleaned since the command was typed; text[len] must be NUL. The echo is matched
 * against `cmd` (the terminal may wrap it); the output is [out_start, out_end) once `prompt` is
 * set, and [out_start, len) before that. */
void vg_transcript_scan(const char *text, size_t len, const char *cmd, const regex_t *prompt,
                        vg_transcript *t);

#endif
