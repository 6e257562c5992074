#include "vg_clean.h"

#include <stdlib.h>
#include <string.h>

enum { S_TEXT, S_ESC, S_ESC_INTER, S_CSI, S_STRING, S_STRING_ESC };

void vg_clean_init(vg_clean *c, size_t max)
{
    memset(c, 0, sizeof(*c));
    c->max = max;
}

void vg_clean_free(vg_clean *c)
{
    free(c->text);
    memset(c, 0, sizeof(*c));
}

void vg_clean_clear(vg_clean *c)
{
    c->len = 0;
    c->overflow = 0;
    if (c->text)
        c->text[0] = '\0';
}

static int put(vg_clean *c, char ch, vg_err *err)
{
    if (c->len >= c->max) {
        c->overflow = 1;
        return VG_OK;
    }
    if (c->len + 1 >= c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1024;
        if (cap > c->max + 1)
            cap = c->max + 1;
        char *t = realloc(c->text, cap);
        if (!t)
            return vg_fail(err, VG_E_INTERNAL, "out of memory");
        c->text = t;
        c->cap = cap;
    }
    c->text[c->len++] = ch;
    c->text[c->len] = '\0';
    return VG_OK;
}

int vg_clean_feed(vg_clean *c, const unsigned char *data, size_t len, vg_err *err)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char b = data[i];
        switch (c->state) {
        case S_TEXT:
            if (b == 0x1b) {
                c->state = S_ESC;
            } else if (b == '\b') {
                /* line editors erase with "\b \b"; never reach back past a line break */
                if (c->len && c->text[c->len - 1] != '\n')
                    c->text[--c->len] = '\0';
            } else if (b == '\n' || b == '\t' || (b >= 0x20 && b != 0x7f)) {
                if (put(c, (char)b, err) != VG_OK)
                    return VG_ERR;
            }
            /* \r, NUL, BEL and the other C0 controls carry no text */
            break;
        case S_ESC:
            if (b == '[')
                c->state = S_CSI;
            else if (b == ']' || b == 'P' || b == 'X' || b == '^' || b == '_')
                c->state = S_STRING; /* OSC, DCS, SOS, PM, APC: up to BEL or ST */
            else if (b >= 0x20 && b <= 0x2f)
                c->state = S_ESC_INTER; /* e.g. ESC ( B: charset selection */
            else
                c->state = S_TEXT; /* two-byte sequence such as ESC 7, ESC M, ESC = */
            break;
        case S_ESC_INTER:
            if (b < 0x20 || b > 0x2f)
                c->state = S_TEXT;
            break;
        case S_CSI:
            /* parameters and intermediates (0x20-0x3f) until a final byte 0x40-0x7e */
            if (b >= 0x40 && b <= 0x7e)
                c->state = S_TEXT;
            else if (b == 0x1b)
                c->state = S_ESC;
            break;
        case S_STRING:
            if (b == 0x07)
                c->state = S_TEXT;
            else if (b == 0x1b)
                c->state = S_STRING_ESC;
            break;
        case S_STRING_ESC:
            c->state = b == '\\' ? S_TEXT : b == 0x1b ? S_STRING_ESC : S_STRING;
            break;
        }
    }
    return VG_OK;
}

int vg_clean_at_prompt(const vg_clean *c, const regex_t *prompt)
{
    if (!c->len)
        return 0;
    const char *line = c->text + c->len;
    while (line > c->text && line[-1] != '\n')
        line--;
    return *line && regexec(prompt, line, 0, NULL, 0) == 0;
}

/* Skips the echo of cmd at the start of text. Terminals may break a long echo with line
 * breaks, spaces and redraws, so those are tolerated between the command's characters.
 * Returns the index just past the echo's own line break, or len when it is not complete. */
static size_t skip_echo(const char *text, size_t len, const char *cmd, int *done)
{
    size_t i = 0, j = 0, clen = strlen(cmd);
    *done = 0;
    while (i < len && j < clen) {
        if (text[i] == cmd[j]) {
            i++;
            j++;
        } else if (text[i] == '\n' || text[i] == ' ') {
            i++;
        } else {
            break;
        }
    }
    if (j < clen && i < len) {
        /* not our echo first (the guest printed something else before it): the echo further
         * on, else the first line break, the end of whatever line the command was typed on */
        const char *echo = clen ? strstr(text, cmd) : NULL;
        const char *after =
            echo ? memchr(echo + clen, '\n', len - (size_t)(echo + clen - text)) : NULL;
        if (after) {
            *done = 1;
            return (size_t)(after - text) + 1;
        }
        if (echo)
            return len;
        const char *nl = memchr(text, '\n', len);
        if (!nl)
            return len;
        *done = 1;
        return (size_t)(nl - text) + 1;
    }
    const char *nl = memchr(text + i, '\n', len - i);
    if (j < clen || !nl)
        return len;
    *done = 1;
    return (size_t)(nl - text) + 1;
}

void vg_transcript_scan(const char *text, size_t len, const char *cmd, const regex_t *prompt,
                        vg_transcript *t)
{
    memset(t, 0, sizeof(*t));
    t->out_start = skip_echo(text, len, cmd, &t->echo_done);
    t->out_end = len;
    if (!t->echo_done)
        return;
    /* A line typed before the shell had put the terminal in raw mode is echoed twice: by the
     * kernel's tty, then by the line editor (after its prompt). */
    size_t clen = strlen(cmd);
    for (int again = 0; again < 2 && clen; again++) {
        const char *nl = memchr(text + t->out_start, '\n', len - t->out_start);
        size_t n = nl ? (size_t)(nl - (text + t->out_start)) : 0;
        if (!nl || n < clen || memcmp(nl - clen, cmd, clen) != 0)
            break;
        t->out_start += n + 1;
    }
    size_t line = len;
    while (line > t->out_start && text[line - 1] != '\n')
        line--;
    if (line == len)
        return; /* the prompt line has not started yet */
    if (regexec(prompt, text + line, 0, NULL, 0) == 0) {
        t->prompt = 1;
        t->out_end = line;
    }
}
