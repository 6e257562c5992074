#include "vg_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Where the options of the table loaded last were set, so that a check made after loading
 * (a range, a cross-option rule, a missing file) names the line (vg_config_invalid). A program
 * has one option table. */
#define ORIGIN_MAX 64
static struct {
    const vg_opt *opts;
    char file[256];
    int line[ORIGIN_MAX];           /* line of the file that set the option, 0 = none */
    unsigned char flag[ORIGIN_MAX]; /* set by a command-line flag (which wins over the file) */
} origin;

static void origin_reset(const vg_opt *opts, const char *file)
{
    memset(&origin, 0, sizeof(origin));
    origin.opts = opts;
    snprintf(origin.file, sizeof(origin.file), "%s", file ? file : "");
}

static void origin_note(const vg_opt *opts, const vg_opt *o, int line)
{
    long i = o - opts;
    if (origin.opts != opts || i < 0 || i >= ORIGIN_MAX)
        return;
    if (line)
        origin.line[i] = line;
    else
        origin.flag[i] = 1;
}

static const vg_opt *find(const vg_opt *opts, const char *name, size_t len)
{
    for (const vg_opt *o = opts; o->name; o++)
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

static int assign(const vg_opt *o, const char *value, vg_err *err)
{
    switch (o->type) {
    case VG_OPT_STR: {
        char *copy = strdup(value);
        if (!copy)
            return vg_fail(err, VG_E_INTERNAL, "out of memory");
        free(*(char **)o->dst);
        *(char **)o->dst = copy;
        return VG_OK;
    }
    case VG_OPT_INT: {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end)
            return vg_fail(err, VG_E_BAD_REQUEST, "%s: \"%.40s\" is not a whole number", o->name,
                           value);
        *(long *)o->dst = v;
        return VG_OK;
    }
    case VG_OPT_BOOL:
        if (!strcmp(value, "true") || !strcmp(value, "yes") || !strcmp(value, "on") ||
            !strcmp(value, "1"))
            *(int *)o->dst = 1;
        else if (!strcmp(value, "false") || !strcmp(value, "no") || !strcmp(value, "off") ||
                 !strcmp(value, "0"))
            *(int *)o->dst = 0;
        else
            return vg_fail(err, VG_E_BAD_REQUEST, "%s: \"%.40s\" is not true or false", o->name,
                           value);
        return VG_OK;
    }
    return vg_fail(err, VG_E_INTERNAL, "%s: bad option type", o->name);
}

void vg_config_defaults(const vg_opt *opts)
{
    for (const vg_opt *o = opts; o->name; o++) {
        if (o->def)
            assign(o, o->def, NULL);
        else if (o->type == VG_OPT_STR) {
            free(*(char **)o->dst);
            *(char **)o->dst = NULL;
        }
    }
}

int vg_config_set(const vg_opt *opts, const char *name, const char *value, vg_err *err)
{
    const vg_opt *o = find(opts, name, strlen(name));
    if (!o)
        return vg_fail(err, VG_E_UNKNOWN, "unknown option \"%.60s\"", name);
    return assign(o, value, err);
}

static int parse_lines(const vg_opt *opts, const char *text, size_t len, int *set_on, vg_err *err)
{
    const char *p = text, *end = text + len;
    for (int lineno = 1; p < end; lineno++) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        const char *s = p, *e = eol;
        p = eol + 1;
        /* A NUL would end the name or the value early as C strings see them. */
        if (memchr(s, '\0', (size_t)(e - s)))
            return vg_fail(err, VG_E_BAD_REQUEST, "line %d: NUL byte", lineno);
        while (s < e && isspace((unsigned char)*s))
            s++;
        while (e > s && isspace((unsigned char)e[-1]))
            e--;
        if (s == e || *s == '#')
            continue;
        const char *eq = memchr(s, '=', (size_t)(e - s));
        if (!eq)
            return vg_fail(err, VG_E_BAD_REQUEST, "line %d: expected name = value", lineno);
        const char *ne = eq;
        while (ne > s && isspace((unsigned char)ne[-1]))
            ne--;
        const char *vs = eq + 1;
        while (vs < e && isspace((unsigned char)*vs))
            vs++;
        const vg_opt *o = find(opts, s, (size_t)(ne - s));
        if (!o)
            return vg_fail(err, VG_E_UNKNOWN, "line %d: unknown option \"%.*s\"", lineno,
                           (int)((ne - s) > 60 ? 60 : ne - s), s);
        if (set_on[o - opts])
            return vg_fail(err, VG_E_BAD_REQUEST, "line %d: %s is already set on line %d", lineno,
                           o->name, set_on[o - opts]);
        set_on[o - opts] = lineno;
        origin_note(opts, o, lineno);
        char value[4096];
        size_t vlen = (size_t)(e - vs);
        if (vlen >= sizeof(value))
            return vg_fail(err, VG_E_TOO_BIG, "line %d: value too long", lineno);
        memcpy(value, vs, vlen);
        value[vlen] = '\0';
        vg_err sub;
        if (assign(o, value, &sub) != VG_OK)
            return vg_fail(err, sub.code, "line %d: %s", lineno, sub.msg);
    }
    return VG_OK;
}

/* A second line for one option is refused rather than letting the last silently win: an operator
 * who edits the first line would see no effect. set_on[i] is the line that set opts[i]. */
int vg_config_parse(const vg_opt *opts, const char *text, size_t len, vg_err *err)
{
    size_t nopts = 0;
    while (opts[nopts].name)
        nopts++;
    int *set_on = calloc(nopts ? nopts : 1, sizeof(*set_on));
    if (!set_on)
        return vg_fail(err, VG_E_INTERNAL, "out of memory");
    int rc = parse_lines(opts, text, len, set_on, err);
    free(set_on);
    return rc;
}

int vg_config_load_file(const vg_opt *opts, const char *path, vg_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return vg_fail(err, VG_E_NOT_FOUND, "cannot open %s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = VG_OK;
    for (;;) {
        if (len == cap) {
            if (cap >= (1u << 20)) {
                rc = vg_fail(err, VG_E_TOO_BIG, "%s is larger than 1 MiB", path);
                break;
            }
            cap = cap ? cap * 2 : 4096;
            char *nb = realloc(buf, cap);
            if (!nb) {
                rc = vg_fail(err, VG_E_INTERNAL, "out of memory");
                break;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    origin_reset(opts, path);
    vg_err sub;
    if (rc == VG_OK && vg_config_parse(opts, buf ? buf : "", len, &sub) != VG_OK)
        rc = vg_fail(err, sub.code, "%s: %s", path, sub.msg);
    free(buf);
    return rc;
}

int vg_config_check_only(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--check-config") == 0)
            return 1;
    return 0;
}

int vg_config_args(const vg_opt *opts, int argc, char **argv, vg_err *err)
{
    if (origin.opts != opts)
        origin_reset(opts, NULL);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            if (vg_config_load_file(opts, argv[i + 1], err) != VG_OK)
                return VG_ERR;
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            if (vg_config_load_file(opts, argv[i] + 9, err) != VG_OK)
                return VG_ERR;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0)
            return vg_fail(err, VG_E_BAD_REQUEST, "unexpected argument \"%.60s\"", a);
        a += 2;
        if (strcmp(a, "config") == 0) {
            if (++i >= argc)
                return vg_fail(err, VG_E_BAD_REQUEST, "--config needs a value");
            continue;
        }
        if (strncmp(a, "config=", 7) == 0 || strcmp(a, "check-config") == 0)
            continue;
        const char *eq = strchr(a, '=');
        const vg_opt *o = find(opts, a, eq ? (size_t)(eq - a) : strlen(a));
        if (!o && !eq && strncmp(a, "no-", 3) == 0) {
            o = find(opts, a + 3, strlen(a + 3));
            if (o && o->type == VG_OPT_BOOL) {
                *(int *)o->dst = 0;
                continue;
            }
            o = NULL;
        }
        if (!o)
            return vg_fail(err, VG_E_UNKNOWN, "unknown option --%.60s", a);
        const char *value;
        if (eq)
            value = eq + 1;
        else if (o->type == VG_OPT_BOOL)
            value = "true";
        else if (i + 1 < argc)
            value = argv[++i];
        else
            return vg_fail(err, VG_E_BAD_REQUEST, "--%s needs a value", o->name);
        if (assign(o, value, err) != VG_OK)
            return VG_ERR;
        origin_note(opts, o, 0);
    }
    return VG_OK;
}

int vg_config_invalid(const vg_opt *opts, const char *name, vg_err *err, const char *fmt, ...)
{
    char why[200], where[300] = "default";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    const vg_opt *o = find(opts, name, strlen(name));
    long i = o ? o - opts : -1;
    if (origin.opts == opts && i >= 0 && i < ORIGIN_MAX) {
        if (origin.flag[i])
            snprintf(where, sizeof(where), "--%s", name);
        else if (origin.line[i])
            snprintf(where, sizeof(where), "%s: line %d", origin.file, origin.line[i]);
    }
    return vg_fail(err, VG_E_BAD_REQUEST, "%s: %s: %s", where, name, why);
}

int vg_config_check_paths(const vg_opt *opts, const char *const *names, vg_err *err)
{
    for (; *names; names++) {
        const vg_opt *o = find(opts, *names, strlen(*names));
        const char *path = o && o->type == VG_OPT_STR ? *(char **)o->dst : NULL;
        if (path && *path && access(path, R_OK) != 0)
            return vg_config_invalid(opts, *names, err, "cannot read %s: %s", path,
                                     strerror(errno));
    }
    return VG_OK;
}

void vg_config_usage(const vg_opt *opts, FILE *out)
{
    for (const vg_opt *o = opts; o->name; o++)
        fprintf(out, "  --%-22s %s (default: %s)\n", o->name, o->help, o->def ? o->def : "none");
}

void vg_config_free(const vg_opt *opts)
{
    for (const vg_opt *o = opts; o->name; o++)
        if (o->type == VG_OPT_STR) {
            free(*(char **)o->dst);
            *(char **)o->dst = NULL;
        }
}
