/* `vmgatectl METHOD key=value...`, `vmgatectl methods` and `vmgatectl help METHOD`: any API
 * method, called generically, so methods added to the gateway need no change here. */
#include "ctl_call.h"

#include "ctl_app.h"
#include "ctl_render.h"

#include <stdlib.h>
#include <string.h>

#define DOC_MAX (4 << 20)

/* Splits "<code>: <message>" as ctl_api formats its errors. */
static const char *message_of(const vg_err *err, char *code, size_t size)
{
    const char *sep = strstr(err->msg, ": ");
    size_t n = sep ? (size_t)(sep - err->msg) : 0;
    int word = n > 0 && n < size;
    for (size_t i = 0; word && i < n; i++)
        word = (err->msg[i] >= 'a' && err->msg[i] <= 'z') || err->msg[i] == '_';
    if (!word) {
        snprintf(code, size, "%s", vg_err_code_name(err->code));
        return err->msg;
    }
    memcpy(code, err->msg, n);
    code[n] = '\0';
    return sep + 2;
}

void ctl_call_fail(ctl_app *app, const vg_err *err)
{
    char code[48];
    const char *msg = message_of(err, code, sizeof(code));
    if (app->opts->json) {
        cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(e, "code", code);
        cJSON_AddStringToObject(e, "message", msg);
        char *text = cJSON_PrintUnformatted(o);
        fprintf(stderr, "%s\n", text ? text : "{\"error\":{\"code\":\"internal\"}}");
        free(text);
        cJSON_Delete(o);
    } else {
        fprintf(stderr, "vmgatectl: %s: %s%s\n", code, msg,
                err->code == VG_E_UNKNOWN ? " ('vmgatectl methods' lists the methods)" : "");
    }
    ctl_app_quit(app, ctl_exit_code(err->code));
}

static void on_event(const cJSON *msg, void *ud)
{
    ctl_app *app = ud;
    vg_err e;
    if (app->opts->json) {
        char *text = cJSON_PrintUnformatted(msg);
        if (text)
            printf("%s\n", text);
        free(text);
    } else if (ctl_render_event(msg, stdout, &e) != VG_OK) {
        fprintf(stderr, "vmgatectl: %s\n", e.msg);
    }
    fflush(stdout);
}

static void on_drop(const vg_err *err, void *ud)
{
    ctl_call_fail(ud, err);
}

static const ctl_api_events event_handler = {on_event, on_drop};

static void call_cb(const cJSON *result, const vg_err *err, void *ud)
{
    ctl_app *app = ud;
    vg_err e;
    if (err) {
        ctl_call_fail(app, err);
        return;
    }
    if (strcmp(app->opts->method, "events.subscribe") == 0) {
        /* stays connected: the events follow until the user interrupts or the gateway closes */
        ctl_api_watch(app->api, &event_handler, app);
        fprintf(stderr, "vmgatectl: subscribed to events; Ctrl-C ends\n");
        return;
    }
    if (app->opts->json) {
        char *text = cJSON_PrintUnformatted(result);
        if (!text) {
            vg_fail(&e, VG_E_INTERNAL, "internal: out of memory");
            ctl_call_fail(app, &e);
            return;
        }
        printf("%s\n", text);
        free(text);
    } else {
        size_t max_cell = app->opts->wide ? 0 : CTL_RENDER_MAX_CELL;
        int rc = strcmp(app->opts->method, "api.methods") == 0
                     ? ctl_methods_render(result, max_cell, stdout, &e)
                     : ctl_render(result, max_cell, stdout, &e);
        if (rc != VG_OK) {
            ctl_call_fail(app, &e);
            return;
        }
    }
    fflush(stdout);
    ctl_app_quit(app, CTL_EXIT_OK);
}

int ctl_call_run(ctl_app *app, cJSON *params)
{
    vg_err err;
    if (ctl_api_call(app->api, app->opts->method, params, call_cb, app, &err) != VG_OK) {
        ctl_call_fail(app, &err);
        return VG_ERR;
    }
    return VG_OK;
}

static int heading_names(const char *line, size_t len, const char *method)
{
    char quoted[80];
    int n = snprintf(quoted, sizeof(quoted), "`%s`", method);
    if (n < 0 || (size_t)n >= sizeof(quoted) || len < 4 || strncmp(line, "###", 3) != 0)
        return 0;
    for (size_t i = 0; i + (size_t)n <= len; i++)
        if (memcmp(line + i, quoted, (size_t)n) == 0)
            return 1;
    return 0;
}

int ctl_help_section(const char *doc, const char *method, FILE *out)
{
    const char *start = NULL;
    int fenced = 0; /* inside a ``` block, where '#' starts shell comments, not headings */
    for (const char *line = doc; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (strncmp(line, "```", 3) == 0)
            fenced = !fenced;
        if (start && !fenced && line[0] == '#' && (len < 4 || line[3] != '#')) {
            fwrite(start, 1, (size_t)(line - start), out);
            return 1;
        }
        if (!start && !fenced && heading_names(line, len, method))
            start = line;
        line += len + (nl ? 1 : 0);
    }
    if (!start)
        return 0;
    fputs(start, out);
    if (start[strlen(start) - 1] != '\n')
        fputc('\n', out);
    return 1;
}

/* "1..3600", "8..1024 chars", "max 64 items", "rw|ro": what a field takes beyond its type. */
static void range_text(const cJSON *f, char *buf, size_t size)
{
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "type"));
    const char *choices = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "choices"));
    const cJSON *min = cJSON_GetObjectItemCaseSensitive(f, "min");
    const cJSON *max = cJSON_GetObjectItemCaseSensitive(f, "max");
    buf[0] = '\0';
    if (choices)
        snprintf(buf, size, "%s", choices);
    else if (cJSON_IsNumber(max) && type && !strcmp(type, "int"))
        snprintf(buf, size, "%.0f..%.0f", cJSON_IsNumber(min) ? min->valuedouble : 0.0,
                 max->valuedouble);
    else if (cJSON_IsNumber(max) && type && !strcmp(type, "string") && cJSON_IsNumber(min))
        snprintf(buf, size, "%.0f..%.0f chars", min->valuedouble, max->valuedouble);
    else if (cJSON_IsNumber(max) && type && !strcmp(type, "string"))
        snprintf(buf, size, "max %.0f chars", max->valuedouble);
    else if (cJSON_IsNumber(max))
        snprintf(buf, size, "max %.0f items", max->valuedouble);
}

/* The table rows of `help METHOD` for api.methods' params; NULL when out of memory. */
static cJSON *field_rows(const cJSON *params)
{
    cJSON *rows = cJSON_CreateArray();
    const cJSON *f;
    cJSON_ArrayForEach(f, params)
    {
        cJSON *row = cJSON_CreateObject();
        if (!rows || !row || !cJSON_AddItemToArray(rows, row)) {
            cJSON_Delete(row);
            cJSON_Delete(rows);
            return NULL;
        }
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "type"));
        char typebuf[64], range[128];
        snprintf(typebuf, sizeof(typebuf), "%s%s", type ? type : "?",
                 cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "nullable")) ? "|null" : "");
        range_text(f, range, sizeof(range));
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "name"));
        const char *doc = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "doc"));
        int required = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "required"));
        if (!cJSON_AddStringToObject(row, "name", name ? name : "?") ||
            !cJSON_AddStringToObject(row, "type", typebuf) ||
            !cJSON_AddStringToObject(row, "required", required ? "yes" : "no") ||
            !cJSON_AddStringToObject(row, "range", range[0] ? range : "-") ||
            !cJSON_AddStringToObject(row, "doc", doc ? doc : "")) {
            cJSON_Delete(rows);
            return NULL;
        }
    }
    return rows;
}

int ctl_help_render(const cJSON *method, FILE *out, vg_err *err)
{
    cJSON *copy = cJSON_Duplicate(method, 1);
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(copy, "params");
    cJSON *shown =
        params && cJSON_GetArraySize(params) > 0 ? field_rows(params) : cJSON_CreateString("none");
    if (!copy || !shown) {
        cJSON_Delete(copy);
        cJSON_Delete(shown);
        return vg_fail(err, VG_E_INTERNAL, "internal: out of memory");
    }
    cJSON_DeleteItemFromObjectCaseSensitive(copy, "params");
    cJSON_AddItemToObject(copy, "params", shown);
    int rc = ctl_render(copy, 0, out, err);
    cJSON_Delete(copy);
    return rc;
}

/* "vm, dev?, mode?" (malloc'd); NULL when out of memory. */
static char *signature(const cJSON *params)
{
    size_t size = 1;
    const cJSON *f;
    cJSON_ArrayForEach(f, params)
    {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "name"));
        size += (name ? strlen(name) : 0) + 3;
    }
    char *s = malloc(size);
    if (!s)
        return NULL;
    size_t n = 0;
    s[0] = '\0';
    cJSON_ArrayForEach(f, params)
    {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "name"));
        int required = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "required"));
        n += (size_t)snprintf(s + n, size - n, "%s%s%s", n ? ", " : "", name ? name : "?",
                              required ? "" : "?");
    }
    return s;
}

int ctl_methods_render(const cJSON *result, size_t max_cell, FILE *out, vg_err *err)
{
    cJSON *copy = cJSON_Duplicate(result, 1);
    if (!copy)
        return vg_fail(err, VG_E_INTERNAL, "internal: out of memory");
    cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(copy, "methods"))
    {
        const cJSON *params = cJSON_GetObjectItemCaseSensitive(m, "params");
        if (!params)
            continue;
        char *sig = signature(params);
        cJSON *text = sig ? cJSON_CreateString(sig[0] ? sig : "-") : NULL;
        free(sig);
        if (!text) {
            cJSON_Delete(copy);
            return vg_fail(err, VG_E_INTERNAL, "internal: out of memory");
        }
        cJSON_ReplaceItemInObjectCaseSensitive(m, "params", text);
    }
    int rc = ctl_render(copy, max_cell, out, err);
    cJSON_Delete(copy);
    return rc;
}

/* The text of docs/api.md: $VMGATE_API_DOC, the installed copy, or the source tree's. */
static char *read_api_doc(void)
{
    const char *paths[] = {getenv("VMGATE_API_DOC"), CTL_API_DOC_INSTALLED, CTL_API_DOC_SOURCE};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        if (!paths[i] || !paths[i][0])
            continue;
        FILE *f = fopen(paths[i], "r");
        if (!f)
            continue;
        char *buf = malloc(DOC_MAX + 1);
        size_t len = buf ? fread(buf, 1, DOC_MAX, f) : 0;
        fclose(f);
        if (buf) {
            buf[len] = '\0';
            return buf;
        }
    }
    return NULL;
}

static void help_cb(const cJSON *result, const vg_err *err, void *ud)
{
    ctl_app *app = ud;
    const char *method = app->opts->method;
    if (err) {
        ctl_call_fail(app, err);
        return;
    }
    const cJSON *m, *found = NULL;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(result, "methods"))
    {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "name"));
        if (name && strcmp(name, method) == 0)
            found = m;
    }
    vg_err e;
    if (!found) {
        vg_fail(&e, VG_E_UNKNOWN, "unknown: the gateway has no method %.64s", method);
        ctl_call_fail(app, &e);
        return;
    }
    if (ctl_help_render(found, stdout, &e) != VG_OK) {
        ctl_call_fail(app, &e);
        return;
    }
    char *doc = read_api_doc();
    if (doc) {
        fputc('\n', stdout);
        if (!ctl_help_section(doc, method, stdout))
            printf("(docs/api.md has no section on %s)\n", method);
        free(doc);
    }
    fflush(stdout);
    ctl_app_quit(app, CTL_EXIT_OK);
}

int ctl_help_run(ctl_app *app)
{
    vg_err err;
    if (ctl_api_call(app->api, "api.methods", NULL, help_cb, app, &err) != VG_OK) {
        ctl_call_fail(app, &err);
        return VG_ERR;
    }
    return VG_OK;
}
