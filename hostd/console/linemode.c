#include "console/linemode.h"

#include "console/holder_int.h"
#include "console/ringread.h"
#include "libvirt/vms.h"
#include "vg_bytes.h"
#include "vg_clean.h"
#include "vg_log.h"
#include "vg_util.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LM_HOLD_S 10.0      /* a session keeps the write lock this long after its last use */
#define LM_SETTLE_S 0.05    /* the prompt must stay the last line this long */
#define LM_TEXT_MAX 32768   /* bytes of an exec's output */
#define LM_CLEAN_MAX 262144 /* cleaned text an exec keeps to find its prompt */
#define LM_COMMAND_MAX 4096 /* one line typed by console.exec */
#define LM_PROMPT_MAX 256
#define LM_DEFAULT_PROMPT "[#$] $"
#define LM_EXIT_MARK "__vg_rc="

typedef struct lm_exec lm_exec;

typedef struct lm_session {
    console_viewer v; /* first: the viewer's wake finds the session */
    ev_timer idle;
    ev_timer kick;
    lm_exec *exec;
    struct lm_session *next;
} lm_session;

struct lm_exec {
    rpc_call *call;
    lm_session *s;
    char *line; /* what was typed, without the Enter */
    regex_t prompt;
    int strip, want_exit;
    uint64_t from, scanned, lost;
    vg_clean clean;
    /* Where each line of the cleaned text starts in the stream, so the raw bytes of the output
     * can be cut at the same places as the text (its ends are always line starts). */
    size_t *line_at;
    uint64_t *line_raw;
    size_t nlines, cap;
    ev_timer deadline, settle;
};

static lm_session *sessions;

static struct ev_loop *loop(void)
{
    return hd_console_cfg()->loop;
}

/* ---- sessions ---- */

static void exec_finish(lm_exec *x, int timed_out, int cancelled, const vg_err *err);

static void session_free(lm_session *s)
{
    if (s->exec) {
        vg_err err;
        vg_fail(&err, VG_E_UNAVAILABLE, "the console went away");
        exec_finish(s->exec, 0, 0, &err);
    }
    hd_console_detach(&s->v);
    ev_timer_stop(loop(), &s->idle);
    ev_timer_stop(loop(), &s->kick);
    for (lm_session **pp = &sessions; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    free(s);
}

static void exec_progress(lm_exec *x);

/* Deferred from the wake: the console may be in the middle of walking its viewer list. */
static void on_kick(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)revents;
    lm_session *s = w->data;
    if (!s->v.con) {
        if (s->exec) {
            vg_err err;
            vg_fail(&err, VG_E_UNAVAILABLE, "the console went away");
            exec_finish(s->exec, 0, 0, &err);
        }
        session_free(s);
        return;
    }
    if (s->exec)
        exec_progress(s->exec);
}

static void on_wake(console_viewer *v)
{
    lm_session *s = (lm_session *)v;
    if (!ev_is_active(&s->kick)) {
        ev_timer_set(&s->kick, 0, 0);
        ev_timer_start(loop(), &s->kick);
    }
}

static void on_idle(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)revents;
    lm_session *s = w->data;
    if (!s->exec)
        session_free(s);
}

static void touch(lm_session *s)
{
    ev_timer_stop(loop(), &s->idle);
    ev_timer_set(&s->idle, LM_HOLD_S, 0);
    ev_timer_start(loop(), &s->idle);
}

/* The user's session on c with the right to write: the lock is taken when free (or with
 * take), shared with the same user's browser, refused while another user holds it. */
static lm_session *session_lock(console *c, const char *user, int take, vg_err *err)
{
    const console_viewer *w = hd_console_writer(c);
    if (w && strcmp(w->user, user) != 0 && !take) {
        vg_fail(err, VG_E_CONFLICT,
                "user %s holds the write lock of %s/%s (viewer %s); take: true takes it", w->user,
                c->vm, c->dev, w->id);
        return NULL;
    }
    lm_session *s = sessions;
    while (s && (s->v.con != c || strcmp(s->v.user, user) != 0))
        s = s->next;
    if (!s) {
        if (!(s = calloc(1, sizeof(*s)))) {
            vg_fail(err, VG_E_INTERNAL, "out of memory");
            return NULL;
        }
        s->v.wake = on_wake;
        ev_init(&s->idle, on_idle); /* before the attach, which wakes every viewer */
        ev_init(&s->kick, on_kick);
        s->idle.data = s->kick.data = s;
        if (hd_console_attach(c, &s->v, user, 1, 0, "end", err) != VG_OK) {
            ev_timer_stop(loop(), &s->kick);
            free(s);
            return NULL;
        }
        s->next = sessions;
        sessions = s;
        vg_info("linemode", "%s/%s: API session of %s (viewer %s)", c->vm, c->dev, user, s->v.id);
    }
    w = hd_console_writer(c);
    if (!w || strcmp(w->user, user) != 0)
        hd_console_take(&s->v);
    touch(s);
    return s;
}

void hd_linemode_free_all(void)
{
    while (sessions)
        session_free(sessions);
}

/* ---- parameters ---- */

typedef struct lm_target {
    const char *vm, *dev, *user;
    console *c;
} lm_target;

static int target(const cJSON *params, int need_user, lm_target *t, vg_err *err)
{
    memset(t, 0, sizeof(*t));
    if (hd_rpc_name(params, "vm", 1, &t->vm, err) != VG_OK ||
        hd_rpc_name(params, "dev", 0, &t->dev, err) != VG_OK ||
        hd_rpc_name(params, "user", need_user, &t->user, err) != VG_OK)
        return VG_ERR;
    if (!t->dev)
        t->dev = "serial0";
    if (!(t->c = hd_vms_console(t->vm, t->dev)))
        return vg_fail(err, VG_E_NOT_FOUND, "no console %s/%s on this host", t->vm, t->dev);
    return VG_OK;
}

/* ---- console.send ---- */

void hd_linemode_send(rpc_call *call, const cJSON *params)
{
    vg_err err;
    lm_target t;
    const char *b64;
    int take;
    unsigned char *data = NULL;
    size_t n = 0;
    lm_session *s;
    if (target(params, 1, &t, &err) != VG_OK ||
        hd_rpc_string(params, "data_b64", 1, RPC_MAX_MESSAGE, &b64, &err) != VG_OK ||
        hd_rpc_bool(params, "take", 0, &take, &err) != VG_OK ||
        vg_base64_decode(b64, "params.data_b64", &data, &n, &err) != VG_OK)
        goto fail;
    if (n == 0) {
        vg_fail(&err, VG_E_BAD_REQUEST, "nothing to send");
        goto fail;
    }
    if (!(s = session_lock(t.c, t.user, take, &err)) ||
        hd_console_send_input(t.c, data, n, &err) != VG_OK)
        goto fail;
    free(data);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "sent", (double)n);
    cJSON_AddNumberToObject(r, "offset", (double)t.c->ring.end);
    hd_rpc_reply(call, r);
    return;
fail:
    free(data);
    hd_rpc_fail(call, &err);
}

/* ---- console.read and console.status ---- */

void hd_linemode_read(rpc_call *call, const cJSON *params)
{
    vg_err err;
    lm_target t;
    long long off, wait_ms;
    const char *enc;
    if (target(params, 0, &t, &err) != VG_OK ||
        hd_rpc_int(params, "offset", -1, 0, 9007199254740992LL, &off, &err) != VG_OK ||
        hd_rpc_string(params, "encoding", 0, 8, &enc, &err) != VG_OK ||
        hd_rpc_int(params, "wait_ms", 0, 0, RINGREAD_WAIT_MAX_MS, &wait_ms, &err) != VG_OK ||
        (wait_ms && hd_rpc_name(params, "user", 1, &t.user, &err) != VG_OK)) {
        hd_rpc_fail(call, &err);
        return;
    }
    int text = enc && strcmp(enc, "text") == 0;
    if (enc && !text && strcmp(enc, "base64") != 0) {
        vg_fail(&err, VG_E_BAD_REQUEST, "params.encoding must be base64 or text");
        hd_rpc_fail(call, &err);
        return;
    }
    hd_ringread_wait(call, t.c, t.user, off, text, (long)wait_ms);
}

void hd_linemode_status(rpc_call *call, const cJSON *params)
{
    vg_err err;
    lm_target t;
    if (target(params, 0, &t, &err) != VG_OK) {
        hd_rpc_fail(call, &err);
        return;
    }
    console *c = t.c;
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "vm", c->vm);
    cJSON_AddStringToObject(res, "dev", c->dev);
    cJSON_AddStringToObject(res, "state", c->connected ? "connected" : "disconnected");
    cJSON_AddStringToObject(res, "reason", c->reason);
    const console_viewer *w = hd_console_writer(c);
    if (w) {
        cJSON *o = cJSON_AddObjectToObject(res, "writer");
        cJSON_AddStringToObject(o, "viewer", w->id);
        cJSON_AddStringToObject(o, "user", w->user);
    } else {
        cJSON_AddNullToObject(res, "writer");
    }
    cJSON *vj = hd_console_viewers_json(c, NULL);
    cJSON_AddItemToObject(res, "viewers", cJSON_DetachItemFromObject(vj, "viewers"));
    cJSON_Delete(vj);
    cJSON_AddNumberToObject(res, "start", (double)c->ring.start);
    cJSON_AddNumberToObject(res, "end", (double)c->ring.end);
    hd_rpc_reply(call, res);
}

/* ---- console.exec ---- */

static int note_line(lm_exec *x, uint64_t raw)
{
    if (x->nlines == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 64;
        size_t *a = realloc(x->line_at, cap * sizeof(*a));
        if (a)
            x->line_at = a;
        uint64_t *b = a ? realloc(x->line_raw, cap * sizeof(*b)) : NULL;
        if (!b)
            return VG_ERR;
        x->line_raw = b;
        x->cap = cap;
    }
    x->line_at[x->nlines] = x->clean.len;
    x->line_raw[x->nlines++] = raw;
    return VG_OK;
}

/* The stream offset where the cleaned text's position pos starts: pos is 0, the end, or just
 * after a line break. */
static uint64_t raw_of(const lm_exec *x, size_t pos)
{
    if (pos == 0)
        return x->from;
    for (size_t i = x->nlines; i-- > 0;)
        if (x->line_at[i] == pos)
            return x->line_raw[i];
    return x->scanned;
}

static void exec_free(lm_exec *x)
{
    ev_timer_stop(loop(), &x->deadline);
    ev_timer_stop(loop(), &x->settle);
    regfree(&x->prompt);
    vg_clean_free(&x->clean);
    free(x->line_at);
    free(x->line_raw);
    free(x->line);
    free(x);
}

/* Cuts a trailing exit marker ("__vg_rc=N") off [p, p + *n); returns N or -1. */
static int cut_exit(const char *p, size_t *n)
{
    size_t mlen = strlen(LM_EXIT_MARK);
    for (size_t i = *n; i-- > 0;) {
        if (i + mlen > *n || memcmp(p + i, LM_EXIT_MARK, mlen) != 0)
            continue;
        const char *d = p + i + mlen;
        if (d >= p + *n || *d < '0' || *d > '9')
            continue;
        *n = i;
        return atoi(d);
    }
    return -1;
}

static void exec_finish(lm_exec *x, int timed_out, int cancelled, const vg_err *err)
{
    lm_session *s = x->s;
    s->exec = NULL;
    if (err) {
        hd_rpc_fail(x->call, err);
        exec_free(x);
        touch(s);
        return;
    }
    vg_transcript t;
    const char *text = x->clean.text ? x->clean.text : "";
    vg_transcript_scan(text, x->clean.len, x->line, &x->prompt, &t);
    size_t a = t.echo_done ? t.out_start : x->clean.len;
    size_t b = t.prompt ? t.out_end : x->clean.len;
    if (b < a)
        b = a;
    uint64_t raw_a = raw_of(x, a), raw_b = raw_of(x, b);
    char *out = NULL;
    size_t n;
    int truncated = 0;
    if (x->strip) {
        n = b - a;
        out = malloc(n + 1);
        if (out)
            memcpy(out, text + a, n);
    } else {
        const vg_ring *r = s->v.con ? &s->v.con->ring : NULL;
        if (r && raw_a < r->start)
            raw_a = r->start;
        if (!r || raw_b < raw_a)
            raw_b = raw_a;
        n = (size_t)(raw_b - raw_a);
        out = r ? (char *)hd_ringread_copy(r, raw_a, n) : malloc(1);
    }
    int code = out && x->want_exit ? cut_exit(out, &n) : -1;
    if (n > LM_TEXT_MAX) {
        n = LM_TEXT_MAX;
        truncated = 1;
    }
    char *utf8 = out ? vg_utf8_text((const unsigned char *)out, n) : NULL;
    free(out);
    cJSON *res = utf8 ? cJSON_CreateObject() : NULL;
    if (!res) {
        free(utf8);
        vg_err e;
        vg_fail(&e, VG_E_INTERNAL, "out of memory");
        hd_rpc_fail(x->call, &e);
        exec_free(x);
        touch(s);
        return;
    }
    cJSON_AddStringToObject(res, "output", utf8);
    free(utf8);
    if (code >= 0)
        cJSON_AddNumberToObject(res, "exit", code);
    else
        cJSON_AddNullToObject(res, "exit");
    cJSON_AddBoolToObject(res, "timed_out", timed_out);
    cJSON_AddBoolToObject(res, "cancelled", cancelled);
    cJSON_AddNumberToObject(res, "offset_from", (double)x->from);
    cJSON_AddNumberToObject(res, "offset_to", (double)x->scanned);
    cJSON_AddBoolToObject(res, "truncated", truncated || x->clean.overflow);
    cJSON_AddNumberToObject(res, "lost", (double)x->lost);
    vg_info("linemode", "%s/%s: exec for %s %s after %llu bytes", s->v.con ? s->v.con->vm : "-",
            s->v.con ? s->v.con->dev : "-", s->v.user,
            cancelled   ? "cancelled"
            : timed_out ? "timed out"
                        : "done",
            (unsigned long long)(x->scanned - x->from));
    hd_rpc_reply(x->call, res);
    exec_free(x);
    touch(s);
}

static void on_settle(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)revents;
    exec_finish(w->data, 0, 0, NULL);
}

static void interrupt(lm_exec *x)
{
    vg_err err;
    if (x->s->v.con &&
        hd_console_send_input(x->s->v.con, (const unsigned char *)"\x03", 1, &err) != VG_OK)
        vg_info("linemode", "cannot interrupt: %s", err.msg);
}

static void on_deadline(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)revents;
    lm_exec *x = w->data;
    exec_progress(x); /* what arrived since the last wake counts */
    if (x->s->exec != x)
        return;
    interrupt(x);
    exec_finish(x, 1, 0, NULL);
}

/* Feeds what the ring got since the last look; at the prompt, answers after LM_SETTLE_S. */
static void exec_progress(lm_exec *x)
{
    const vg_ring *r = &x->s->v.con->ring;
    vg_err err;
    x->lost += vg_ring_clamp(r, &x->scanned);
    while (x->scanned < r->end) {
        const unsigned char *p;
        size_t n = vg_ring_peek(r, x->scanned, 65536, &p);
        const unsigned char *nl = memchr(p, '\n', n);
        if (nl)
            n = (size_t)(nl - p) + 1;
        if (vg_clean_feed(&x->clean, p, n, &err) != VG_OK) {
            exec_finish(x, 0, 0, &err);
            return;
        }
        x->scanned += n;
        if (x->clean.len && x->clean.text[x->clean.len - 1] == '\n' &&
            (!x->nlines || x->line_at[x->nlines - 1] != x->clean.len) &&
            note_line(x, x->scanned) != VG_OK) {
            vg_fail(&err, VG_E_INTERNAL, "out of memory");
            exec_finish(x, 0, 0, &err);
            return;
        }
    }
    vg_transcript t;
    vg_transcript_scan(x->clean.text ? x->clean.text : "", x->clean.len, x->line, &x->prompt, &t);
    ev_timer_stop(loop(), &x->settle);
    if (t.prompt) {
        ev_timer_set(&x->settle, LM_SETTLE_S, 0);
        ev_timer_start(loop(), &x->settle);
    }
}

static int valid_command(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

void hd_linemode_exec(rpc_call *call, const cJSON *params)
{
    vg_err err;
    lm_target t;
    const char *command, *prompt;
    long long timeout;
    int strip, want_exit, take;
    if (target(params, 1, &t, &err) != VG_OK ||
        hd_rpc_string(params, "command", 1, LM_COMMAND_MAX, &command, &err) != VG_OK ||
        hd_rpc_string(params, "prompt", 0, LM_PROMPT_MAX, &prompt, &err) != VG_OK ||
        hd_rpc_int(params, "timeout_s", 30, 1, 3600, &timeout, &err) != VG_OK ||
        hd_rpc_bool(params, "strip_ansi", 1, &strip, &err) != VG_OK ||
        hd_rpc_bool(params, "exit_status", 0, &want_exit, &err) != VG_OK ||
        hd_rpc_bool(params, "take", 0, &take, &err) != VG_OK)
        goto fail;
    if (!valid_command(command)) {
        vg_fail(&err, VG_E_BAD_REQUEST, "params.command must be one line without control bytes");
        goto fail;
    }
    lm_exec *x = calloc(1, sizeof(*x));
    if (!x) {
        vg_fail(&err, VG_E_INTERNAL, "out of memory");
        goto fail;
    }
    if (regcomp(&x->prompt, prompt ? prompt : LM_DEFAULT_PROMPT, REG_EXTENDED | REG_NOSUB) != 0) {
        free(x);
        vg_fail(&err, VG_E_BAD_REQUEST, "params.prompt is not a valid extended regex");
        goto fail;
    }
    vg_clean_init(&x->clean, LM_CLEAN_MAX);
    size_t len = strlen(command) + (want_exit ? strlen("; echo " LM_EXIT_MARK "$?") : 0);
    if (!(x->line = malloc(len + 2))) {
        vg_fail(&err, VG_E_INTERNAL, "out of memory");
        exec_free(x);
        goto fail;
    }
    snprintf(x->line, len + 1, "%s%s", command, want_exit ? "; echo " LM_EXIT_MARK "$?" : "");
    lm_session *s;
    if (!t.c->connected) {
        vg_fail(&err, VG_E_UNAVAILABLE, "the console of VM %s is not connected (%s)", t.vm,
                t.c->reason);
        exec_free(x);
        goto fail;
    }
    if (!(s = session_lock(t.c, t.user, take, &err))) {
        exec_free(x);
        goto fail;
    }
    if (s->exec) {
        vg_fail(&err, VG_E_CONFLICT, "user %s already runs a command on %s/%s", t.user, t.vm,
                t.dev);
        exec_free(x);
        goto fail;
    }
    x->from = x->scanned = t.c->ring.end;
    x->line[len] = '\r';
    int rc = hd_console_send_input(t.c, (const unsigned char *)x->line, len + 1, &err);
    x->line[len] = '\0';
    if (rc != VG_OK) {
        exec_free(x);
        goto fail;
    }
    x->call = call;
    x->s = s;
    x->strip = strip;
    x->want_exit = want_exit;
    s->exec = x;
    ev_timer_init(&x->deadline, on_deadline, (double)timeout, 0);
    ev_timer_init(&x->settle, on_settle, LM_SETTLE_S, 0);
    x->deadline.data = x->settle.data = x;
    ev_timer_start(loop(), &x->deadline);
    return;
fail:
    hd_rpc_fail(call, &err);
}

void hd_linemode_cancel(rpc_call *call, const cJSON *params)
{
    vg_err err;
    lm_target t;
    if (target(params, 1, &t, &err) != VG_OK) {
        hd_rpc_fail(call, &err);
        return;
    }
    lm_session *s = sessions;
    while (s && (s->v.con != t.c || strcmp(s->v.user, t.user) != 0 || !s->exec))
        s = s->next;
    if (s) {
        interrupt(s->exec);
        exec_finish(s->exec, 0, 1, NULL);
    }
    cJSON *r = cJSON_CreateObject();
    cJSON_AddBoolToObject(r, "cancelled", s != NULL);
    hd_rpc_reply(call, r);
}
