#include "ctl_render.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Characters (UTF-8 code points) in s; stray continuation bytes are not counted twice. */
static size_t width_of(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

/* Replaces the control characters of s in place; keep_lines spares '\n' and '\t'. */
static void sanitize(char *s, int keep_lines)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c < 0x20 || c == 0x7f) && !(keep_lines && (c == '\n' || c == '\t')))
            *s = '?';
    }
}

/* The text of a value (malloc'd): strings as they are, the rest as compact JSON. */
static char *value_text(const cJSON *v, int keep_lines)
{
    char *t;
    if (!v || cJSON_IsNull(v))
        t = strdup("-");
    else if (cJSON_IsString(v))
        t = strdup(v->valuestring);
    else
        t = cJSON_PrintUnformatted(v);
    if (t)
        sanitize(t, keep_lines);
    return t;
}

/* Cuts t to max characters, the last one being "…". t must have room for 2 more bytes. */
static void truncate_cell(char *t, size_t max)
{
    if (max == 0 || width_of(t) <= max)
        return;
    size_t chars = 0, i = 0;
    for (; t[i]; i++) {
        if (((unsigned char)t[i] & 0xC0) != 0x80 && chars++ == max - 1)
            break;
    }
    memcpy(t + i, "\xe2\x80\xa6", 4);
}

static int is_table(const cJSON *v)
{
    if (!cJSON_IsArray(v) || !v->child)
        return 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        if (!cJSON_IsObject(e))
            return 0;
    }
    return 1;
}

typedef struct table {
    const char **keys; /* point into the rows */
    size_t *width;
    size_t ncols, cap;
    char **cells; /* nrows x ncols */
    size_t nrows;
} table;

static void table_free(table *t)
{
    for (size_t i = 0; t->cells && i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->keys);
    free(t->width);
}

static int add_column(table *t, const char *key)
{
    for (size_t c = 0; c < t->ncols; c++)
        if (strcmp(t->keys[c], key) == 0)
            return VG_OK;
    if (t->ncols == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 8;
        const char **k = realloc(t->keys, cap * sizeof(*k));
        if (!k)
            return VG_ERR;
        t->keys = k;
        size_t *w = realloc(t->width, cap * sizeof(*w));
        if (!w)
            return VG_ERR;
        t->width = w;
        t->cap = cap;
    }
    t->width[t->ncols] = width_of(key);
    t->keys[t->ncols++] = key;
    return VG_OK;
}

static int table_fill(table *t, const cJSON *rows, size_t max_cell)
{
    const cJSON *row, *f;
    cJSON_ArrayForEach(row, rows)
    {
        if (!cJSON_IsObject(row))
            continue;
        t->nrows++;
        cJSON_ArrayForEach(f, row)
        {
            if (add_column(t, f->string) != VG_OK)
                return VG_ERR;
        }
    }
    if (t->nrows == 0 || t->ncols == 0)
        return VG_OK;
    t->cells = calloc(t->nrows * t->ncols, sizeof(*t->cells));
    if (!t->cells)
        return VG_ERR;
    size_t r = 0;
    cJSON_ArrayForEach(row, rows)
    {
        if (!cJSON_IsObject(row))
            continue;
        for (size_t c = 0; c < t->ncols; c++) {
            char *text = value_text(cJSON_GetObjectItemCaseSensitive(row, t->keys[c]), 0);
            /* room for "…" replacing a shorter last character */
            char *cell = text ? realloc(text, strlen(text) + 3) : NULL;
            if (!cell) {
                free(text);
                return VG_ERR;
            }
            truncate_cell(cell, max_cell);
            t->cells[r * t->ncols + c] = cell;
            size_t w = width_of(cell);
            if (w > t->width[c])
                t->width[c] = w;
        }
        r++;
    }
    return VG_OK;
}

static void print_cell(FILE *out, const char *s, size_t width, int last)
{
    fputs(s, out);
    if (last) {
        fputc('\n', out);
        return;
    }
    for (size_t w = width_of(s); w < width + 2; w++)
        fputc(' ', out);
}

int ctl_render_table(const cJSON *rows, size_t max_cell, FILE *out, vg_err *err)
{
    table t;
    memset(&t, 0, sizeof(t));
    if (table_fill(&t, rows, max_cell) != VG_OK) {
        table_free(&t);
        return vg_fail(err, VG_E_INTERNAL, "internal: out of memory");
    }
    if (t.cells) {
        for (size_t c = 0; c < t.ncols; c++) {
            char head[256];
            snprintf(head, sizeof(head), "%s", t.keys[c]);
            for (char *p = head; *p; p++)
                *p = (char)toupper((unsigned char)*p);
            sanitize(head, 0);
            print_cell(out, head, t.width[c], c + 1 == t.ncols);
        }
        for (size_t r = 0; r < t.nrows; r++)
            for (size_t c = 0; c < t.ncols; c++)
                print_cell(out, t.cells[r * t.ncols + c], t.width[c], c + 1 == t.ncols);
    }
    table_free(&t);
    return VG_OK;
}

/* "key: value" lines of every member that is not a table; nested objects become dotted keys. */
static int print_lines(const cJSON *obj, const char *prefix, FILE *out, vg_err *err)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, obj)
    {
        if (!prefix && is_table(m))
            continue;
        char key[512];
        snprintf(key, sizeof(key), "%s%s%s", prefix ? prefix : "", prefix ? "." : "", m->string);
        sanitize(key, 0);
        if (cJSON_IsObject(m) && m->child) {
            if (print_lines(m, key, out, err) != VG_OK)
                return VG_ERR;
            continue;
        }
        char *text = value_text(m, 1);
        if (!text)
            return vg_fail(err, VG_E_INTERNAL, "internal: out of memory");
        if (strchr(text, '\n')) /* multi-line text (XML, CSV) starts on its own line */
            fprintf(out, "%s:\n%s%s", key, text, text[strlen(text) - 1] == '\n' ? "" : "\n");
        else
            fprintf(out, "%s: %s\n", key, text);
        free(text);
    }
    return VG_OK;
}

int ctl_render(const cJSON *result, size_t max_cell, FILE *out, vg_err *err)
{
    if (!result)
        return VG_OK;
    if (cJSON_IsArray(result)) {
        if (!result->child)
            return VG_OK;
        if (is_table(result))
            return ctl_render_table(result, max_cell, out, err);
    }
    if (!cJSON_IsObject(result)) {
        char *text = value_text(result, 1);
        if (!text)
            return vg_fail(err, VG_E_INTERNAL, "internal: out of memory");
        fprintf(out, "%s\n", text);
        free(text);
        return VG_OK;
    }
    /* A null member says "nothing" (vm.list's next at the last page): it does not count. */
    const cJSON *only = NULL, *m;
    int members = 0;
    cJSON_ArrayForEach(m, result)
    {
        if (!cJSON_IsNull(m)) {
            only = m;
            members++;
        }
    }
    if (members != 1)
        only = NULL;
    if (only && cJSON_IsArray(only) && !only->child)
        return VG_OK;
    if (only && is_table(only))
        return ctl_render_table(only, max_cell, out, err);
    int printed = 0;
    cJSON_ArrayForEach(m, result)
    {
        if (!is_table(m))
            printed = 1;
    }
    if (print_lines(result, NULL, out, err) != VG_OK)
        return VG_ERR;
    cJSON_ArrayForEach(m, result)
    {
        if (!is_table(m))
            continue;
        char title[256];
        snprintf(title, sizeof(title), "%s", m->string);
        sanitize(title, 0);
        fprintf(out, "%s%s:\n", printed ? "\n" : "", title);
        printed = 1;
        if (ctl_render_table(m, max_cell, out, err) != VG_OK)
            return VG_ERR;
    }
    return VG_OK;
}

int ctl_render_event(const cJSON *msg, FILE *out, vg_err *err)
{
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "event"));
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(msg, "data"), *m;
    if (!cJSON_IsObject(data))
        data = NULL;
    char *t = strdup(type ? type : "?");
    if (!t)
        return vg_fail(err, VG_E_INTERNAL, "internal: out of memory");
    sanitize(t, 0);
    fputs(t, out);
    free(t);
    cJSON_ArrayForEach(m, data)
    {
        if (strcmp(m->string, "type") == 0)
            continue;
        int quote =
            cJSON_IsString(m) && (!m->valuestring[0] || strpbrk(m->valuestring, " \t\n=\"\\"));
        char *key = strdup(m->string);
        char *text = quote ? cJSON_PrintUnformatted(m) : value_text(m, 0);
        if (!key || !text) {
            free(key);
            free(text);
            return vg_fail(err, VG_E_INTERNAL, "internal: out of memory");
        }
        sanitize(key, 0);
        sanitize(text, 0);
        fprintf(out, " %s=%s", key, text);
        free(key);
        free(text);
    }
    fputc('\n', out);
    return VG_OK;
}
