/* Turning raw console output into plain text for `exec` (pure, no I/O).
 *
 * ctl_clean strips terminal escape sequences (CSI such as busybox ash's ESC[6n, OSC, DCS and
 * two-byte ESC sequences), carriage returns and other control bytes, and applies backspaces. It
 * is a streaming decoder: a sequence split across two console frames is still removed whole.
 * ctl_transcript then finds the echoed command line and the next prompt in the cleaned text. */
#ifndef CTL_CLEAN_H
#define CTL_CLEAN_H

#include "vg.h"

#include <regex.h>

typedef struct ctl_clean {
    int state;  /* position inside an escape sequence */
    char *text; /* cleaned output, NUL-terminated; owned */
    size_t len;
    size_t cap;
    size_t max;   /* text is never longer; older text is not kept beyond it */
    int overflow; /* set once bytes were dropped because of max */
} ctl_clean;

void ctl_clean_init(ctl_clean *c, size_t max);
void ctl_clean_free(ctl_clean *c);
/* Forgets the text but keeps the escape-sequence state (the stream continues). */
void ctl_clean_clear(ctl_clean *c);
int ctl_clean_feed(ctl_clean *c, const unsigned char *data, size_t len, vg_err *err);

/* Whether the last line of the text (after its last line break) matches the prompt regex. */
int ctl_clean_at_prompt(const ctl_clean *c, const regex_t *prompt);

typedef struct ctl_transcript {
    size_t out_start; /* first byte after the echoed command line */
    size_t out_end;   /* first byte of the prompt line */
    int echo_done;    /* the echoed command line is complete */
    int prompt;       /* the last line matches the prompt regex */
} ctl_transcript;

/* Looks at text cleaned since the command was typed; text[len] must be NUL. The echo is matched
 * against `cmd` (the terminal may wrap it); the output is [out_start, out_end) once `prompt` is
 * set, and [out_start, len) before that. */
void ctl_transcript_scan(const char *text, size_t len, const char *cmd, const regex_t *prompt,
                         ctl_transcript *t);

#endif
