/* State shared by vmgatectl's commands: the loop, the connections and the exit status. */
#ifndef CTL_APP_H
#define CTL_APP_H

#include "ctl_api.h"
#include "ctl_args.h"
#include "ctl_ws.h"

#include <ev.h>
#include <regex.h>

typedef struct ctl_app {
    struct ev_loop *loop;
    const ctl_opts *opts;
    ctl_net *net;
    ctl_api *api;
    int exit_code;
    int quitting;
    ev_tstamp quit_deadline;
    ev_timer quit_timer;
} ctl_app;

/* Closes the API connection and leaves the loop once every connection has closed (or after a
 * short grace period); main returns `code`. Commands stop their own attachments first. */
void ctl_app_quit(ctl_app *app, int code);
/* Prints "vmgatectl: <what>: <err->msg>" on stderr and quits with CTL_EXIT_API. */
void ctl_app_fail(ctl_app *app, const char *what, const vg_err *err);

int ctl_list_run(ctl_app *app);
int ctl_console_run(ctl_app *app);
int ctl_exec_run(ctl_app *app, const regex_t *prompt);

#endif
