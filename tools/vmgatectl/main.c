/* vmgatectl: the command line client of the vmgate gateway (docs/vmgatectl.md). */
#include "ctl_app.h"
#include "ctl_http.h"
#include "ctl_params.h"

#include <errno.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *env(const char *name)
{
    return getenv(name);
}

static cJSON *call_params; /* CTL_CMD_CALL: built before connecting, taken by ctl_call_run */

static void run_command(ctl_app *app)
{
    switch (app->opts->cmd) {
    case CTL_CMD_CALL:
        ctl_call_run(app, call_params);
        call_params = NULL;
        break;
    case CTL_CMD_HELP:
        ctl_help_run(app);
        break;
    case CTL_CMD_LIST:
        ctl_list_run(app);
        break;
    case CTL_CMD_CONSOLE:
        ctl_console_run(app);
        break;
    case CTL_CMD_EXEC:
        ctl_exec_run(app);
        break;
    case CTL_CMD_VOLUME:
        ctl_volume_run(app);
        break;
    case CTL_CMD_NONE:
        break;
    }
}

static void login_cb(const cJSON *result, const vg_err *err, void *ud)
{
    ctl_app *app = ud;
    const cJSON *token = cJSON_GetObjectItemCaseSensitive(result, "token");
    vg_err e;
    if (!err && !cJSON_IsString(token))
        err = &e, vg_fail(&e, VG_E_INTERNAL, "internal: login answered without a token");
    if (!err && ctl_api_set_token(app->api, token->valuestring, &e) != VG_OK)
        err = &e;
    if (err) {
        if (app->opts->cmd == CTL_CMD_CALL || app->opts->cmd == CTL_CMD_HELP)
            ctl_call_fail(app, err);
        else
            ctl_app_fail(app, "login", err);
        return;
    }
    run_command(app);
}

int main(int argc, char **argv)
{
    ctl_opts opts;
    vg_err err;
    if (ctl_args_parse(&opts, argc, argv, env, &err) != VG_OK) {
        fprintf(stderr, "vmgatectl: %s\nTry 'vmgatectl --help'.\n", err.msg);
        ctl_args_free(&opts);
        return CTL_EXIT_USAGE;
    }
    if (opts.help) {
        fputs(ctl_usage_text, stdout);
        ctl_args_free(&opts);
        return CTL_EXIT_OK;
    }
    if (opts.cmd == CTL_CMD_CALL) {
        int rc = ctl_params_build(opts.words, opts.nwords, ctl_params_read_file, NULL, &call_params,
                                  &err);
        /* bare `login` logs in with the credentials of the options and shows the answer */
        if (rc == VG_OK && strcmp(opts.method, "login") == 0 && !opts.nwords) {
            cJSON_AddStringToObject(call_params, "user", opts.user);
            cJSON_AddStringToObject(call_params, "password", opts.password);
        }
        if (rc == VG_OK && opts.sendkey &&
            (cJSON_HasObjectItem(call_params, "vm") || cJSON_HasObjectItem(call_params, "keys"))) {
            rc = vg_fail(&err, VG_E_BAD_REQUEST,
                         "sendkey takes the VM and keys as words, not vm= or keys=");
        }
        if (rc == VG_OK && opts.sendkey) {
            cJSON_AddStringToObject(call_params, "vm", opts.vm);
            cJSON_AddItemToObject(call_params, "keys",
                                  cJSON_CreateStringArray(opts.keys, opts.nkeys));
        }
        if (rc != VG_OK) {
            fprintf(stderr, "vmgatectl: %s\nTry 'vmgatectl --help'.\n", err.msg);
            ctl_args_free(&opts);
            return CTL_EXIT_USAGE;
        }
    }
    regex_t prompt;
    if (opts.cmd == CTL_CMD_EXEC) {
        if (regcomp(&prompt, opts.prompt, REG_EXTENDED | REG_NOSUB) != 0) {
            fprintf(stderr, "vmgatectl: --prompt: \"%s\" is not a valid extended regex\n",
                    opts.prompt);
            ctl_args_free(&opts);
            return CTL_EXIT_USAGE;
        }
        regfree(&prompt); /* checked here so a typo fails before logging in */
    }
    if (opts.ca && access(opts.ca, R_OK) != 0) {
        fprintf(stderr, "vmgatectl: --ca: cannot read %s: %s\n", opts.ca, strerror(errno));
        cJSON_Delete(call_params);
        ctl_args_free(&opts);
        return CTL_EXIT_USAGE;
    }
    ctl_url url;
    ctl_url_parse(opts.url, &url, &err); /* already validated by ctl_args_parse */
    signal(SIGPIPE, SIG_IGN);

    ctl_app app;
    memset(&app, 0, sizeof(app));
    app.loop = ev_default_loop(0);
    app.opts = &opts;
    app.net = ctl_net_new(app.loop, &url, opts.ca, opts.insecure, &ctl_http_protocol, &err);
    app.api = app.net ? ctl_api_new(app.net, opts.token) : NULL;
    if (!app.api) {
        fprintf(stderr, "vmgatectl: %s\n", app.net ? "out of memory" : err.msg);
        app.exit_code = CTL_EXIT_API;
    } else if (opts.token || (opts.cmd == CTL_CMD_CALL && strcmp(opts.method, "login") == 0)) {
        run_command(&app);
    } else {
        cJSON *params = cJSON_CreateObject();
        cJSON_AddStringToObject(params, "user", opts.user);
        cJSON_AddStringToObject(params, "password", opts.password);
        if (ctl_api_call(app.api, "login", params, login_cb, &app, &err) != VG_OK)
            login_cb(NULL, &err, &app);
    }
    if (app.api || app.quitting)
        ev_run(app.loop, 0);
    if (!app.quitting)
        ctl_api_free(app.api);
    ctl_net_free(app.net);
    cJSON_Delete(call_params);
    ctl_args_free(&opts);
    return app.exit_code;
}
