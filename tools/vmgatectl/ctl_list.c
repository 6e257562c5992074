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

/* `list` shows the whole list: it follows vm.list's pages, gathering their VMs in acc. */
typedef struct list_run {
    ctl_app *app;
    cJSON *acc; /* {"vms": [...], "next": null} */
} list_run;

static int list_page(list_run *l, const char *cursor, vg_err *err);

static void list_end(list_run *l, const vg_err *err)
{
    ctl_app *app = l->app;
    vg_err e;
    if (!err && ctl_list_print(l->acc, app->opts->json, stdout, &e) != VG_OK)
        err = &e;
    cJSON_Delete(l->acc);
    free(l);
    if (err) {
        ctl_app_fail(app, "vm.list", err);
        return;
    }
    fflush(stdout);
    ctl_app_quit(app, CTL_EXIT_OK);
}

static void list_cb(const cJSON *result, const vg_err *err, void *ud)
{
    list_run *l = ud;
    vg_err e;
    if (err) {
        list_end(l, err);
        return;
    }
    const cJSON *vms = cJSON_GetObjectItemCaseSensitive(result, "vms"), *vm;
    if (!cJSON_IsArray(vms)) {
        vg_fail(&e, VG_E_BAD_REQUEST, "bad_request: vm.list answered without a vms array");
        list_end(l, &e);
        return;
    }
    cJSON *all = cJSON_GetObjectItemCaseSensitive(l->acc, "vms");
    cJSON_ArrayForEach(vm, vms)
    {
        cJSON *copy = cJSON_Duplicate(vm, 1);
        if (!copy || !cJSON_AddItemToArray(all, copy)) {
            cJSON_Delete(copy);
            vg_fail(&e, VG_E_INTERNAL, "internal: out of memory");
            list_end(l, &e);
            return;
        }
    }
    const char *next = str_field(result, "next", NULL);
    if (!next || !next[0]) {
        list_end(l, NULL);
        return;
    }
    if (list_page(l, next, &e) != VG_OK)
        list_end(l, &e);
}

static int list_page(list_run *l, const char *cursor, vg_err *err)
{
    cJSON *params = NULL;
    if (cursor &&
        (!(params = cJSON_CreateObject()) || !cJSON_AddStringToObject(params, "cursor", cursor))) {
        cJSON_Delete(params);
        return vg_fail(err, VG_E_INTERNAL, "internal: out of memory");
    }
    return ctl_api_call(l->app->api, "vm.list", params, list_cb, l, err);
}

int ctl_list_run(ctl_app *app)
{
    vg_err err;
    list_run *l = calloc(1, sizeof(*l));
    if (l) {
        l->app = app;
        l->acc = cJSON_CreateObject();
    }
    if (!l || !l->acc || !cJSON_AddArrayToObject(l->acc, "vms") ||
        !cJSON_AddNullToObject(l->acc, "next")) {
        if (l)
            cJSON_Delete(l->acc);
        free(l);
        vg_fail(&err, VG_E_INTERNAL, "internal: out of memory");
        ctl_app_fail(app, "vm.list", &err);
        return VG_ERR;
    }
    if (list_page(l, NULL, &err) != VG_OK) {
        cJSON_Delete(l->acc);
        free(l);
        ctl_app_fail(app, "vm.list", &err);
        return VG_ERR;
    }
    return VG_OK;
}
