#include "ctl_app.h"

#include <stdio.h>

#define QUIT_GRACE 2.0 /* seconds to wait for close handshakes before leaving anyway */

static void quit_poll(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    ctl_app *app = w->data;
    if (ctl_net_live(app->net) == 0 || ev_now(loop) > app->quit_deadline) {
        ev_timer_stop(loop, w);
        ev_break(loop, EVBREAK_ALL);
    }
}

void ctl_app_quit(ctl_app *app, int code)
{
    if (app->quitting)
        return;
    app->quitting = 1;
    app->exit_code = code;
    ctl_api_free(app->api);
    app->api = NULL;
    app->quit_deadline = ev_now(app->loop) + QUIT_GRACE;
    ev_timer_init(&app->quit_timer, quit_poll, 0, 0.01);
    app->quit_timer.data = app;
    ev_timer_start(app->loop, &app->quit_timer);
}

void ctl_app_fail(ctl_app *app, const char *what, const vg_err *err)
{
    fprintf(stderr, "vmgatectl: %s: %s\n", what, err->msg);
    ctl_app_quit(app, ctl_exit_code(err->code));
}

int ctl_exit_code(vg_err_code code)
{
    switch (code) {
    case VG_E_UNAUTHORIZED:
    case VG_E_FORBIDDEN:
        return CTL_EXIT_DENIED;
    case VG_E_NOT_FOUND:
        return CTL_EXIT_NOT_FOUND;
    case VG_E_CONFLICT:
    case VG_E_QUOTA:
        return CTL_EXIT_CONFLICT;
    case VG_E_UNAVAILABLE:
        return CTL_EXIT_UNAVAILABLE;
    default:
        return CTL_EXIT_API;
    }
}
