/* `vmgatectl exec VM -- CMD`: types a command line into the console and prints its output up
 * to the next prompt. */
#include "ctl_app.h"
#include "ctl_attach.h"
#include "ctl_clean.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUIET_S 0.4  /* no output for this long: the shell is idle */
#define SETTLE_S 0.3 /* a prompt must stay the last line this long (output may continue) */
#define POKE_S 1.0   /* no prompt after an Enter: press it again this often */
#define MAX_OUTPUT (64u << 20)

/* WAIT_QUIET: attached, waiting for the console to fall silent. WAIT_PROMPT: an Enter was
 * pressed and a fresh prompt is awaited, so the command is never typed into a shell that is
 * still booting or busy. RUNNING: the command was typed, waiting for the next prompt. */
enum { WAIT_ATTACH, WAIT_QUIET, WAIT_PROMPT, RUNNING, FINISHED };

typedef struct exec {
    ctl_app *app;
    const regex_t *prompt;
    ctl_attach *att;
    int state;
    int connected;
    ctl_clean clean;
    ev_timer quiet, settle, deadline;
    int code; /* exit status once the attachment has ended */
} exec;

static void stop_timers(exec *x)
{
    ev_timer_stop(x->app->loop, &x->quiet);
    ev_timer_stop(x->app->loop, &x->settle);
    ev_timer_stop(x->app->loop, &x->deadline);
}

/* Leaves: closes the attachment first; on_end frees and quits with x->code. */
static void end_with(exec *x, int code)
{
    x->state = FINISHED;
    x->code = code;
    stop_timers(x);
    ctl_attach_stop(x->att);
}

static void fail(exec *x, vg_err_code code, const char *msg)
{
    fprintf(stderr, "vmgatectl: exec: %s\n", msg);
    end_with(x, ctl_exit_code(code));
}

static void print_output(exec *x, int at_prompt)
{
    ctl_transcript t;
    ctl_transcript_scan(x->clean.text ? x->clean.text : "", x->clean.len, x->app->opts->command,
                        x->prompt, &t);
    size_t end = at_prompt && t.prompt ? t.out_end : x->clean.len;
    if (t.echo_done && end > t.out_start)
        fwrite(x->clean.text + t.out_start, 1, end - t.out_start, stdout);
    fflush(stdout);
}

static void arm_quiet(exec *x)
{
    if (x->state != WAIT_QUIET || !x->connected)
        return;
    ev_timer_stop(x->app->loop, &x->quiet);
    ev_timer_set(&x->quiet, QUIET_S, 0);
    ev_timer_start(x->app->loop, &x->quiet);
}

/* Types cmd and Enter. Fails the run on errors other than `unavailable` (reconnecting), which
 * it returns to the caller to decide. */
static int send_line(exec *x, const char *cmd)
{
    size_t n = strlen(cmd);
    char *line = malloc(n + 2);
    vg_err err;
    int rc = VG_ERR;
    if (!line) {
        vg_fail(&err, VG_E_INTERNAL, "internal: out of memory");
    } else {
        memcpy(line, cmd, n);
        line[n] = '\r';
        rc = ctl_attach_input(x->att, line, n + 1, &err);
        free(line);
    }
    if (rc != VG_OK && err.code != VG_E_UNAVAILABLE)
        fail(x, err.code, err.msg);
    return rc;
}

/* Quiet console: press Enter to get a fresh prompt (again, while none comes). */
static void quiet_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    exec *x = w->data;
    if (send_line(x, "") == VG_OK) {
        ctl_clean_clear(&x->clean);
        x->state = WAIT_PROMPT;
    } else if (x->state == FINISHED) {
        return;
    }
    /* also when not attached right now: the attachment is reconnecting */
    ev_timer_set(w, POKE_S, 0);
    ev_timer_start(loop, w);
}

/* The prompt stayed the last line for SETTLE_S: type the command, or report its output. */
static void settle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    exec *x = w->data;
    if (x->state == WAIT_PROMPT) {
        ev_timer_stop(loop, &x->quiet);
        if (send_line(x, x->app->opts->command) != VG_OK) {
            if (x->state != FINISHED)
                fail(x, VG_E_UNAVAILABLE,
                     "unavailable: the console connection dropped before the command was typed");
            return;
        }
        ctl_clean_clear(&x->clean);
        x->state = RUNNING;
        return;
    }
    print_output(x, 1);
    end_with(x, CTL_EXIT_OK);
}

static void deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    exec *x = w->data;
    if (x->state == RUNNING) {
        print_output(x, 0);
        /* interrupt the command, as timeout(1) would, so the console is usable again */
        ctl_attach_input(x->att, "\x03", 1, NULL);
    }
    fprintf(stderr, "vmgatectl: exec: timeout: no prompt from %s after %g s\n", x->app->opts->vm,
            x->app->opts->timeout);
    end_with(x, CTL_EXIT_TIMEOUT);
}

static void on_hello(const cJSON *hello, int reattached, void *ud)
{
    exec *x = ud;
    x->connected = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(hello, "connected"));
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(hello, "writer"))) {
        fail(x, VG_E_CONFLICT, "conflict: could not take the console's write lock");
        return;
    }
    if (!reattached && x->state == WAIT_ATTACH)
        x->state = WAIT_QUIET;
    arm_quiet(x);
}

static void on_output(uint64_t offset, const unsigned char *data, size_t len, void *ud)
{
    (void)offset;
    exec *x = ud;
    if (x->state == WAIT_QUIET) {
        arm_quiet(x);
        return;
    }
    if (x->state != WAIT_PROMPT && x->state != RUNNING)
        return;
    vg_err err;
    if (ctl_clean_feed(&x->clean, data, len, &err) != VG_OK) {
        fail(x, err.code, err.msg);
        return;
    }
    int at_prompt;
    if (x->state == WAIT_PROMPT) {
        at_prompt = ctl_clean_at_prompt(&x->clean, x->prompt);
        /* poke again only after POKE_S without output and without a prompt */
        ev_timer_stop(x->app->loop, &x->quiet);
        if (!at_prompt) {
            ev_timer_set(&x->quiet, POKE_S, 0);
            ev_timer_start(x->app->loop, &x->quiet);
        }
    } else {
        ctl_transcript t;
        ctl_transcript_scan(x->clean.text, x->clean.len, x->app->opts->command, x->prompt, &t);
        at_prompt = t.prompt;
    }
    ev_timer_stop(x->app->loop, &x->settle);
    if (at_prompt) {
        ev_timer_set(&x->settle, SETTLE_S, 0);
        ev_timer_start(x->app->loop, &x->settle);
    }
}

static void on_gap(uint64_t from, uint64_t to, void *ud)
{
    exec *x = ud;
    fprintf(stderr, "vmgatectl: exec: %llu bytes of output were lost\n",
            (unsigned long long)(to - from));
    arm_quiet(x);
}

static void on_control(const cJSON *msg, const char *type, void *ud)
{
    exec *x = ud;
    if (strcmp(type, "state") == 0) {
        x->connected = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "connected"));
        if (!x->connected)
            ev_timer_stop(x->app->loop, &x->quiet);
        arm_quiet(x);
    } else if (strcmp(type, "error") == 0 && x->state != FINISHED) {
        const char *code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "code"));
        const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "message"));
        fprintf(stderr, "vmgatectl: exec: %s: %s\n", code ? code : "error", text ? text : "");
        end_with(x, ctl_exit_code(vg_err_code_from_name(code ? code : "internal")));
    }
}

static void on_notice(const char *text, void *ud)
{
    (void)ud;
    fprintf(stderr, "vmgatectl: exec: %s\n", text);
}

static void on_end(const vg_err *err, void *ud)
{
    exec *x = ud;
    ctl_app *app = x->app;
    int code = x->code;
    if (x->state != FINISHED) {
        stop_timers(x);
        fprintf(stderr, "vmgatectl: exec: %s\n",
                err ? err->msg : "unavailable: the console closed before the prompt came back");
        code = err ? ctl_exit_code(err->code) : CTL_EXIT_UNAVAILABLE;
    }
    ctl_clean_free(&x->clean);
    free(x);
    ctl_app_quit(app, code);
}

static const ctl_attach_ops exec_ops = {on_hello, on_output, on_gap, on_control, on_notice, on_end};

int ctl_exec_run(ctl_app *app, const regex_t *prompt)
{
    exec *x = calloc(1, sizeof(*x));
    vg_err err;
    if (!x) {
        vg_fail(&err, VG_E_INTERNAL, "internal: out of memory");
        ctl_app_fail(app, "exec", &err);
        return VG_ERR;
    }
    x->app = app;
    x->prompt = prompt;
    x->state = WAIT_ATTACH;
    ctl_clean_init(&x->clean, MAX_OUTPUT);
    ev_timer_init(&x->quiet, quiet_cb, QUIET_S, 0);
    ev_timer_init(&x->settle, settle_cb, SETTLE_S, 0);
    ev_timer_init(&x->deadline, deadline_cb, app->opts->timeout, 0);
    x->quiet.data = x->settle.data = x->deadline.data = x;
    ev_timer_start(app->loop, &x->deadline);
    ctl_attach_cfg cfg = {.vm = app->opts->vm, .dev = app->opts->dev, .take = 1, .offset = "end"};
    x->att = ctl_attach_start(app->loop, app->net, app->api, &cfg, &exec_ops, x, &err);
    if (!x->att) {
        ev_timer_stop(app->loop, &x->deadline);
        ctl_clean_free(&x->clean);
        free(x);
        ctl_app_fail(app, "exec", &err);
        return VG_ERR;
    }
    return VG_OK;
}
