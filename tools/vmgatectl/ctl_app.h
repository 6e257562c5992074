/* State shared by vmgatectl's commands: the loop, the connections and the exit status. */
#ifndef CTL_APP_H
#define CTL_APP_H

#include "ctl_api.h"
#include "ctl_args.h"
#include "ctl_ws.h"

#include <ev.h>

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
/* Prints "vmgatectl: <what>: <err->msg>" on stderr and quits with ctl_exit_code(err->code). */
void ctl_app_fail(ctl_app *app, const char *what, const vg_err *err);
/* The exit status of a failure with this error code (docs/vmgatectl.md "Exit status"). */
int ctl_exit_code(vg_err_code code);

int ctl_list_run(ctl_app *app);
int ctl_console_run(ctl_app *app);
/* exec: console.exec on one VM (its output) or many (a table of results). */
int ctl_exec_run(ctl_app *app);
/* volume upload|download POOL VOLUME [FILE] (ctl_volume.c). */
int ctl_volume_run(ctl_app *app);
/* Calls opts->method with params (taken) and prints the result (ctl_call.c). */
int ctl_call_run(ctl_app *app, cJSON *params);
/* `help METHOD`: the method's entry in api.methods and its docs/api.md section. */
int ctl_help_run(ctl_app *app);
/* Prints err as "vmgatectl: <code>: <message>" (JSON with --json) and quits with its code. */
void ctl_call_fail(ctl_app *app, const vg_err *err);

#endif
