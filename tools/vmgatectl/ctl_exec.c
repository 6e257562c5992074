/* `vmgatectl exec`: the API method console.exec (docs/api.md). On one VM it prints the
 * command's output; on --vms or --env a table of the results, one row per VM. */
#include "ctl_app.h"
#include "ctl_render.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int all_ok(const cJSON *results)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, results)
    {
        const char *res = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "result"));
        if (!res || strcmp(res, "ok") != 0)
            return 0;
    }
    return 1;
}

static void print_json(const cJSON *result)
{
    char *text = cJSON_PrintUnformatted(result);
    if (text)
        printf("%s\n", text);
    free(text);
}

static void done_cb(const cJSON *result, const vg_err *err, void *ud)
{
    ctl_app *app = ud;
    const ctl_opts *o = app->opts;
    if (err) {
        ctl_call_fail(app, err);
        return;
    }
    if (o->vm) {
        const cJSON *out = cJSON_GetObjectItemCaseSensitive(result, "output");
        int timed_out = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(result, "timed_out"));
        if (o->json)
            print_json(result);
        else if (cJSON_IsString(out))
            fputs(out->valuestring, stdout);
        fflush(stdout);
        if (timed_out)
            fprintf(stderr, "vmgatectl: exec: timeout: no prompt from %s after %g s\n", o->vm,
                    o->timeout > 0 ? o->timeout : CTL_DEFAULT_TIMEOUT);
        ctl_app_quit(app, timed_out ? CTL_EXIT_TIMEOUT : CTL_EXIT_OK);
        return;
    }
    const cJSON *results = cJSON_GetObjectItemCaseSensitive(result, "results");
    if (o->json) {
        print_json(result);
    } else {
        /* the table shows the result and the output's last line; --json has everything */
        cJSON *rows = cJSON_CreateArray();
        const cJSON *r;
        cJSON_ArrayForEach(r, results)
        {
            cJSON *row = cJSON_CreateObject();
            const char *s;
            s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "vm"));
            cJSON_AddStringToObject(row, "vm", s ? s : "");
            s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "result"));
            cJSON_AddStringToObject(row, "result", s ? s : "");
            const char *out = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "output"));
            const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "message"));
            char line[256] = "";
            if (out) {
                size_t n = strlen(out);
                while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
                    n--;
                size_t b = n;
                while (b && out[b - 1] != '\n')
                    b--;
                snprintf(line, sizeof(line), "%.*s", (int)(n - b), out + b);
            } else if (msg) {
                snprintf(line, sizeof(line), "%s", msg);
            }
            cJSON_AddStringToObject(row, "output", line);
            cJSON_AddItemToArray(rows, row);
        }
        vg_err e;
        ctl_render_table(rows, o->wide ? 0 : CTL_RENDER_MAX_CELL * 2, stdout, &e);
        cJSON_Delete(rows);
        fflush(stdout);
    }
    ctl_app_quit(app, all_ok(results) ? CTL_EXIT_OK : CTL_EXIT_API);
}

int ctl_exec_run(ctl_app *app)
{
    const ctl_opts *o = app->opts;
    cJSON *p = cJSON_CreateObject();
    vg_err err;
    if (o->vm) {
        cJSON_AddStringToObject(p, "vm", o->vm);
    } else if (o->env) {
        cJSON_AddStringToObject(p, "env", o->env);
        if (o->role)
            cJSON_AddStringToObject(p, "role", o->role);
    } else {
        cJSON *vms = cJSON_AddArrayToObject(p, "vms");
        for (const char *s = o->vms; *s;) {
            size_t n = strcspn(s, ",");
            char name[65];
            if (n && n < sizeof(name)) {
                memcpy(name, s, n);
                name[n] = '\0';
                cJSON_AddItemToArray(vms, cJSON_CreateString(name));
            }
            s += n + (s[n] == ',');
        }
    }
    if (o->dev)
        cJSON_AddStringToObject(p, "dev", o->dev);
    cJSON_AddStringToObject(p, "command", o->command);
    if (o->prompt)
        cJSON_AddStringToObject(p, "prompt", o->prompt);
    double t = o->timeout > 0 ? o->timeout : CTL_DEFAULT_TIMEOUT;
    cJSON_AddNumberToObject(p, "timeout_s", t > 3600 ? 3600 : ceil(t));
    cJSON_AddBoolToObject(p, "take", 1);
    if (ctl_api_call(app->api, "console.exec", p, done_cb, app, &err) != VG_OK) {
        ctl_call_fail(app, &err);
        return VG_ERR;
    }
    return VG_OK;
}
