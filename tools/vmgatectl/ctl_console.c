/* `vmgatectl console VM`: the local terminal in raw mode, attached through the gateway.
 * Ctrl-] detaches, like telnet. */
#include "ctl_app.h"
#include "ctl_attach.h"
#include "ctl_notices.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define DETACH_KEY 0x1d /* Ctrl-] */

typedef struct console {
    ctl_app *app;
    ctl_attach *att;
    ev_io input;
    cJSON *viewer; /* our viewer id from hello, to recognise writer notices about us */
    int detaching;
    int warned_ro;
} console;

/* The terminal state to restore; kept in statics so signal handlers and atexit can reach it. */
static struct termios saved_tty;
static volatile sig_atomic_t tty_raw;

static void restore_tty(void)
{
    if (tty_raw) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
        tty_raw = 0;
    }
}

static void fatal_signal(int sig)
{
    restore_tty(); /* tcsetattr is async-signal-safe */
    signal(sig, SIG_DFL);
    raise(sig);
}

static void enter_raw_mode(void)
{
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tty) != 0)
        return;
    static const int sigs[] = {SIGTERM, SIGHUP,  SIGINT, SIGQUIT, SIGSEGV,
                               SIGBUS,  SIGABRT, SIGFPE, SIGILL};
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fatal_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
    atexit(restore_tty);
    struct termios raw = saved_tty;
    cfmakeraw(&raw);
    if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
        tty_raw = 1;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char text[1400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    /* in raw mode "\n" does not return the carriage */
    fprintf(stderr, tty_raw ? "\r\n[vmgatectl: %s]\r\n" : "[vmgatectl: %s]\n", text);
}

static void say_line(const char *line)
{
    say("%s", line);
}

static void write_all(int fd, const unsigned char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* stdout is gone; nothing useful left to do with the bytes */
        p += n;
        len -= (size_t)n;
    }
}

static void detach(console *c)
{
    if (c->detaching)
        return;
    c->detaching = 1;
    ev_io_stop(c->app->loop, &c->input);
    if (c->att)
        ctl_attach_stop(c->att);
}

static void input_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    console *c = w->data;
    unsigned char buf[4096];
    ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) { /* end of input detaches, so `... | vmgatectl console VM` ends */
        detach(c);
        return;
    }
    unsigned char *key = memchr(buf, DETACH_KEY, (size_t)n);
    size_t send = key ? (size_t)(key - buf) : (size_t)n;
    if (send && c->app->opts->ro) {
        if (!c->warned_ro)
            say("read-only: input is ignored; Ctrl-] detaches");
        c->warned_ro = 1;
    } else if (send) {
        vg_err err;
        if (ctl_attach_input(c->att, buf, send, &err) != VG_OK)
            say("input dropped: %s", err.msg);
    }
    if (key)
        detach(c);
}

static void on_hello(const cJSON *hello, int reattached, void *ud)
{
    console *c = ud;
    cJSON_Delete(c->viewer);
    c->viewer = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(hello, "viewer"), 1);
    const char *mode = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(hello, "mode"));
    const char *dev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(hello, "dev"));
    int writer = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(hello, "writer"));
    if (reattached) {
        say("reattached");
    } else {
        say("attached to %s %s (%s%s); Ctrl-] detaches", c->app->opts->vm, dev ? dev : "",
            mode ? mode : "?", writer ? ", writer" : "");
        ctl_notices_follow(c->app, c->app->opts->vm, say_line);
    }
    if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(hello, "connected")))
        say("the VM's console is not connected right now");
    if (!c->detaching)
        ev_io_start(c->app->loop, &c->input);
}

static void on_output(uint64_t offset, const unsigned char *data, size_t len, void *ud)
{
    (void)offset;
    (void)ud;
    write_all(STDOUT_FILENO, data, len);
}

static void on_gap(uint64_t from, uint64_t to, void *ud)
{
    (void)ud;
    say("%llu bytes of output were lost", (unsigned long long)(to - from));
}

static void on_control(const cJSON *msg, const char *type, void *ud)
{
    console *c = ud;
    if (strcmp(type, "writer") == 0) {
        const cJSON *prev = cJSON_GetObjectItemCaseSensitive(msg, "previous");
        const cJSON *now = cJSON_GetObjectItemCaseSensitive(msg, "viewer");
        const char *user = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "user"));
        if (c->viewer && prev && cJSON_Compare(prev, c->viewer, 1))
            say("%s took the write lock; you are a spectator now", user ? user : "someone");
        else if (c->viewer && now && cJSON_Compare(now, c->viewer, 1))
            say("you hold the write lock");
    } else if (strcmp(type, "state") == 0) {
        const char *reason = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "reason"));
        int up = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "connected"));
        say("console %s%s%s", up ? "connected" : "disconnected", reason ? ": " : "",
            reason ? reason : "");
    } else if (strcmp(type, "error") == 0) {
        const char *code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "code"));
        const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "message"));
        say("%s: %s", code ? code : "error", text ? text : "");
    }
}

static void on_notice(const char *text, void *ud)
{
    (void)ud;
    say("%s", text);
}

static void on_end(const vg_err *err, void *ud)
{
    console *c = ud;
    ctl_app *app = c->app;
    c->att = NULL;
    ev_io_stop(app->loop, &c->input);
    if (c->detaching)
        say("detached from %s", app->opts->vm);
    else if (!err)
        say("the gateway closed the console");
    restore_tty();
    cJSON_Delete(c->viewer);
    free(c);
    if (err) {
        ctl_app_fail(app, "console", err);
        return;
    }
    ctl_app_quit(app, CTL_EXIT_OK);
}

static const ctl_attach_ops console_ops = {on_hello,   on_output, on_gap,
                                           on_control, on_notice, on_end};

int ctl_console_run(ctl_app *app)
{
    console *c = calloc(1, sizeof(*c));
    if (!c) {
        vg_err err;
        vg_fail(&err, VG_E_INTERNAL, "internal: out of memory");
        ctl_app_fail(app, "console", &err);
        return VG_ERR;
    }
    c->app = app;
    ctl_attach_cfg cfg = {.vm = app->opts->vm,
                          .dev = app->opts->dev,
                          .ro = app->opts->ro,
                          .take = !app->opts->ro,
                          .offset = "ring"};
    vg_err err;
    c->att = ctl_attach_start(app->loop, app->net, app->api, &cfg, &console_ops, c, &err);
    if (!c->att) {
        free(c);
        ctl_app_fail(app, "console", &err);
        return VG_ERR;
    }
    enter_raw_mode();
    /* stdin is read from the first hello on, so an early end of input cannot hide an error */
    ev_io_init(&c->input, input_cb, STDIN_FILENO, EV_READ);
    c->input.data = c;
    return VG_OK;
}
