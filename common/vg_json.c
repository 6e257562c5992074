#include "vg_json.h"
#include "vg_utf8.h"

#include <stdlib.h>
#include <string.h>

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_hex4(const char *p)
{
    for (int i = 0; i < 4; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') ||
              (p[i] >= 'A' && p[i] <= 'F')))
            return 0;
    return 1;
}

/* Text cJSON accepted, whose escapes it checked only in part: it reads a \u escape with a
 * non-hex digit ("\u12zz") as code point 0, which cuts the C string just as \u0000 does. One
 * pass over the strings, stepping over each escape as cJSON does, finds those, \u0000 itself and
 * the raw control bytes (cJSON takes any of them as whitespace between tokens, and copies them
 * into strings), and bytes that are not UTF-8 (JSON text is UTF-8; what passes here reaches XML
 * and libvirt, which refuse anything else). */
static int check_bytes(const char *text, size_t len, vg_err *err)
{
    int in_string = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 && (in_string || !is_space((char)c)))
            return vg_fail(err, VG_E_BAD_REQUEST, "invalid JSON: a control character at byte %zu",
                           i);
        if (c >= 0x80) {
            size_t n = vg_utf8_seq((const unsigned char *)text + i, len - i);
            if (!n)
                return vg_fail(err, VG_E_BAD_REQUEST, "invalid JSON: not UTF-8 at byte %zu", i);
            i += n - 1;
            continue;
        }
        if (!in_string) {
            in_string = c == '"';
        } else if (c == '"') {
            in_string = 0;
        } else if (c == '\\' && i + 1 < len && text[i + 1] == 'u') {
            if (i + 5 >= len || !is_hex4(text + i + 2))
                return vg_fail(err, VG_E_BAD_REQUEST,
                               "invalid JSON: a \\u escape without four hex digits at byte %zu", i);
            if (!memcmp(text + i + 2, "0000", 4))
                return vg_fail(err, VG_E_BAD_REQUEST,
                               "invalid JSON: \\u0000 inside a string at byte %zu", i);
            i += 5;
        } else if (c == '\\') {
            i++; /* the escaped character, a quote or a backslash among them */
        }
    }
    return VG_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorting the names keeps an object of many keys from costing n^2 comparisons. cJSON's nesting
 * limit bounds the recursion. */
static int check_keys(const cJSON *v, vg_err *err)
{
    size_t n = 0;
    for (const cJSON *c = v->child; c; c = c->next) {
        if (check_keys(c, err) != VG_OK)
            return VG_ERR;
        n++;
    }
    if (!cJSON_IsObject(v) || n < 2)
        return VG_OK;
    const char **names = malloc(n * sizeof(*names));
    if (!names)
        return vg_fail(err, VG_E_INTERNAL, "out of memory");
    size_t i = 0;
    for (const cJSON *c = v->child; c; c = c->next)
        names[i++] = c->string;
    qsort(names, n, sizeof(*names), by_name);
    int rc = VG_OK;
    for (i = 1; i < n && rc == VG_OK; i++)
        if (!strcmp(names[i - 1], names[i]))
            rc = vg_fail(err, VG_E_BAD_REQUEST, "invalid JSON: the key \"%.64s\" appears twice",
                         names[i]);
    free(names);
    return rc;
}

cJSON *vg_json_parse(const char *buf, size_t len, vg_err *err)
{
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!v) {
        size_t at = end && end >= buf ? (size_t)(end - buf) : 0;
        vg_fail(err, VG_E_BAD_REQUEST, "invalid JSON at byte %zu", at);
        return NULL;
    }
    size_t used = (size_t)(end - buf), rest = used;
    while (rest < len && is_space(buf[rest]))
        rest++;
    if (rest < len)
        vg_fail(err, VG_E_BAD_REQUEST, "invalid JSON: data after the value at byte %zu", rest);
    if (rest < len || check_bytes(buf, used, err) != VG_OK || check_keys(v, err) != VG_OK) {
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}
