#include "ctl_list.h"

#include "ctl_app.h"

#include <stdlib.h>
#include <string.h>

typedef struct row {
    const char *cols[3]; /* name, host, state; the consoles live in the row itself */
    char consoles[512];
} row;

static const char *str_field(const cJSON *o, const char *name, const char *def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : def;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const row *)a)->cols[0], ((const row *)b)->cols[0]);
}

int ctl_list_print(const cJSON *result, int json, FILE *out, vg_err *err)
{
    const cJSON *vms = cJSON_GetObjectItemCaseSensitive(result, "vms");
    if (!cJSON_IsArray(vms))
        return vg_fail(err, VG_E_BAD_REQUEST, "bad_request: vm.list answered without a vms array");
    if (json) {
        char *text = cJSON_Print(result);
        if (!text)
            return vg_fail(err, VG_E_INTERNAL, "internal: out of memory");
        fprintf(out, "%s\n", text);
        free(text);
        return VG_OK;
    }
    int n = cJSON_GetArraySize(vms);
    row *rows = calloc((size_t)n + 1, sizeof(*rows));
    if (!rows)
        return vg_fail(err, VG_E_INTERNAL, "internal: out of memory");
    static const char *const heads[4] = {"NAME", "HOST", "STATE", "CONSOLES"};
    size_t width[3];
    for (int c = 0; c < 3; c++)
        width[c] = strlen(heads[c]);
    int count = 0;
    const cJSON *vm;
    cJSON_ArrayForEach(vm, vms)
    {
        if (!cJSON_IsObject(vm))
            continue;
        row *r = &rows[count++];
        r->cols[0] = str_field(vm, "name", "?");
        r->cols[1] = str_field(vm, "host", "-");
        const cJSON *up = cJSON_GetObjectItemCaseSensitive(vm, "host_up");
        r->cols[2] = cJSON_IsFalse(up) ? "host-down" : str_field(vm, "state", "unknown");
        const cJSON *cons = cJSON_GetObjectItemCaseSensitive(vm, "consoles"), *c;
        size_t used = 0;
        cJSON_ArrayForEach(c, cons)
        {
            if (!cJSON_IsString(c))
                continue;
            int w = snprintf(r->consoles + used, sizeof(r->consoles) - used, "%s%s",
                             used ? "," : "", c->valuestring);
            if (w < 0 || (size_t)w >= sizeof(r->consoles) - used)
                break;
            used += (size_t)w;
        }
        if (!used)
            snprintf(r->consoles, sizeof(r->consoles), "-");
        for (int k = 0; k < 3; k++)
            if (strlen(r->cols[k]) > width[k])
                width[k] = strlen(r->cols[k]);
    }
    qsort(rows, (size_t)count, sizeof(*rows), by_name);
    fprintf(out, "%-*s  %-*s  %-*s  %s\n", (int)width[0], heads[0], (int)width[1], heads[1],
            (int)width[2], heads[2], heads[3]);
    for (int i = 0; i < count; i++)
        fprintf(out, "%-*s  %-*s  %-*s  %s\n", (int)width[0], rows[i].cols[0], (int)width[1],
                rows[i].cols[1], (int)width[2], rows[i].cols[2], rows[i].consoles);
    free(rows);
    return VG_OK;
}

static void list_cb(const cJSON *result, const vg_err *err, void *ud)
{
    ctl_app *app = ud;
    vg_err e;
    if (!err && ctl_list_print(result, app->opts->json, stdout, &e) != VG_OK)
        err = &e;
    if (err) {
        ctl_app_fail(app, "vm.list", err);
        return;
    }
    fflush(stdout);
    ctl_app_quit(app, CTL_EXIT_OK);
}

int ctl_list_run(ctl_app *app)
{
    vg_err err;
    if (ctl_api_call(app->api, "vm.list", NULL, list_cb, app, &err) != VG_OK) {
        ctl_app_fail(app, "vm.list", &err);
        return VG_ERR;
    }
    return VG_OK;
}
