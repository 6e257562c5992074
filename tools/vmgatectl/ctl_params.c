#include "ctl_params.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEGMENT_MAX 64

/* cJSON turns numbers beyond double's range into infinities, which it would print as null. */
static int finite_json(const cJSON *v)
{
    if (cJSON_IsNumber(v))
        return isfinite(v->valuedouble);
    const cJSON *c;
    cJSON_ArrayForEach(c, v)
    {
        if (!finite_json(c))
            return 0;
    }
    return 1;
}

/* JSON's number grammar, which cJSON relaxes: "007" or "1." must stay strings. */
static int json_number(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return 0;
    if (*s == '.') {
        if (!(*++s >= '0' && *s <= '9'))
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    return *s == '\0';
}

/* The whole text as one JSON value, or NULL. */
static cJSON *parse_exact(const char *text)
{
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithOpts(text, &end, 1);
    if (v && (!finite_json(v) || (cJSON_IsNumber(v) && !json_number(text)))) {
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

/* Plain key=value: JSON only when it looks like a JSON value from its first character, so
 * text with leading blanks stays a string. */
static cJSON *plain_value(const char *v)
{
    if (v[0] == '\\')
        return cJSON_CreateString(v + 1);
    if (v[0] && strchr("{[\"-0123456789tfn", v[0])) {
        cJSON *j = parse_exact(v);
        if (j)
            return j;
    }
    return cJSON_CreateString(v);
}

static int segment_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* Splits key[0..klen) at the dots into segs; each segment is 1..SEGMENT_MAX of [A-Za-z0-9_-]. */
static int split_key(const char *key, size_t klen, char segs[][SEGMENT_MAX + 1], int *nsegs,
                     vg_err *err)
{
    int n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= klen; i++) {
        if (i < klen && key[i] != '.') {
            if (!segment_char(key[i]))
                return vg_fail(err, VG_E_BAD_REQUEST,
                               "\"%.*s\": a key is made of letters, digits, '_', '-' and dots",
                               (int)(klen > 60 ? 60 : klen), key);
            continue;
        }
        size_t len = i - start;
        if (len == 0 || len > SEGMENT_MAX)
            return vg_fail(err, VG_E_BAD_REQUEST, "\"%.*s\": empty or over-long key part",
                           (int)(klen > 60 ? 60 : klen), key);
        if (n == CTL_PARAMS_MAX_DEPTH)
            return vg_fail(err, VG_E_BAD_REQUEST, "\"%.*s\": keys nest at most %d deep",
                           (int)(klen > 60 ? 60 : klen), key, CTL_PARAMS_MAX_DEPTH);
        memcpy(segs[n], key + start, len);
        segs[n][len] = '\0';
        n++;
        start = i + 1;
    }
    *nsegs = n;
    return VG_OK;
}

/* Puts value at the path; takes value in every case. */
static int insert(cJSON *params, char segs[][SEGMENT_MAX + 1], int nsegs, cJSON *value,
                  const char *key, vg_err *err)
{
    cJSON *cur = params;
    for (int i = 0; i < nsegs - 1; i++) {
        cJSON *child = cJSON_GetObjectItemCaseSensitive(cur, segs[i]);
        if (!child) {
            child = cJSON_CreateObject();
            if (!child || !cJSON_AddItemToObject(cur, segs[i], child)) {
                cJSON_Delete(child);
                cJSON_Delete(value);
                return vg_fail(err, VG_E_INTERNAL, "out of memory");
            }
        } else if (!cJSON_IsObject(child)) {
            cJSON_Delete(value);
            return vg_fail(err, VG_E_BAD_REQUEST, "%.60s: \"%s\" is already set to a non-object",
                           key, segs[i]);
        }
        cur = child;
    }
    if (cJSON_GetObjectItemCaseSensitive(cur, segs[nsegs - 1])) {
        cJSON_Delete(value);
        return vg_fail(err, VG_E_BAD_REQUEST, "%.60s is given twice", key);
    }
    if (!cJSON_AddItemToObject(cur, segs[nsegs - 1], value)) {
        cJSON_Delete(value);
        return vg_fail(err, VG_E_INTERNAL, "out of memory");
    }
    return VG_OK;
}

static int add_word(cJSON *params, const char *word, ctl_params_reader read, void *ud,
                    int *stdin_used, vg_err *err)
{
    const char *eq = strchr(word, '=');
    if (!eq || eq == word)
        return vg_fail(err, VG_E_BAD_REQUEST, "\"%.60s\" is not key=value", word);
    int forced = eq[-1] == ':';
    size_t klen = (size_t)(eq - word) - (forced ? 1 : 0);
    char key[128];
    if (klen == 0 || klen >= sizeof(key))
        return vg_fail(err, VG_E_BAD_REQUEST, "\"%.60s\": empty or over-long key", word);
    memcpy(key, word, klen);
    key[klen] = '\0';
    char segs[CTL_PARAMS_MAX_DEPTH][SEGMENT_MAX + 1];
    int nsegs = 0;
    if (split_key(key, klen, segs, &nsegs, err) != VG_OK)
        return VG_ERR;

    const char *v = eq + 1;
    cJSON *value;
    if (v[0] == '@') {
        if (strcmp(v, "@-") == 0 && (*stdin_used)++)
            return vg_fail(err, VG_E_BAD_REQUEST, "%s: only one value can come from stdin", key);
        char *text = read(v + 1, ud, err);
        if (!text)
            return VG_ERR;
        value = parse_exact(text);
        free(text);
        if (!value)
            return vg_fail(err, VG_E_BAD_REQUEST, "%s: %.60s does not hold one valid JSON value",
                           key, v[1] == '-' && !v[2] ? "standard input" : v + 1);
    } else if (forced) {
        value = parse_exact(v);
        if (!value)
            return vg_fail(err, VG_E_BAD_REQUEST, "%s:= \"%.60s\" is not valid JSON", key, v);
    } else {
        value = plain_value(v);
        if (!value)
            return vg_fail(err, VG_E_INTERNAL, "out of memory");
    }
    return insert(params, segs, nsegs, value, key, err);
}

int ctl_params_build(char *const *words, int n, ctl_params_reader read, void *ud, cJSON **out,
                     vg_err *err)
{
    *out = NULL;
    cJSON *params = cJSON_CreateObject();
    if (!params)
        return vg_fail(err, VG_E_INTERNAL, "out of memory");
    int stdin_used = 0;
    for (int i = 0; i < n; i++) {
        if (add_word(params, words[i], read, ud, &stdin_used, err) != VG_OK) {
            cJSON_Delete(params);
            return VG_ERR;
        }
    }
    *out = params;
    return VG_OK;
}

char *ctl_params_read_file(const char *path, void *ud, vg_err *err)
{
    (void)ud;
    int is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "standard input" : path;
    FILE *f = is_stdin ? stdin : fopen(path, "r");
    if (!f) {
        vg_fail(err, VG_E_BAD_REQUEST, "cannot read %.200s: %s", name, strerror(errno));
        return NULL;
    }
    char *buf = malloc(CTL_PARAMS_MAX_FILE + 2);
    size_t len = buf ? fread(buf, 1, CTL_PARAMS_MAX_FILE + 1, f) : 0;
    int failed = buf && ferror(f);
    if (!is_stdin)
        fclose(f);
    if (!buf) {
        vg_fail(err, VG_E_INTERNAL, "out of memory");
        return NULL;
    }
    if (failed || len > CTL_PARAMS_MAX_FILE || memchr(buf, '\0', len)) {
        free(buf);
        if (failed)
            vg_fail(err, VG_E_BAD_REQUEST, "cannot read %.200s", name);
        else if (len > CTL_PARAMS_MAX_FILE)
            vg_fail(err, VG_E_TOO_BIG, "%.200s is over %d bytes", name, CTL_PARAMS_MAX_FILE);
        else
            vg_fail(err, VG_E_BAD_REQUEST, "%.200s holds a NUL byte", name);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}
