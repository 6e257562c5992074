#include "vg_query.h"

#include <string.h>

int vg_query_next(const char **p, const char *end, vg_query_arg *arg)
{
    const char *s = *p;
    if (s >= end)
        return 0;
    const char *amp = memchr(s, '&', (size_t)(end - s));
    const char *e = amp ? amp : end;
    const char *eq = memchr(s, '=', (size_t)(e - s));
    arg->key = s;
    arg->klen = (size_t)((eq ? eq : e) - s);
    arg->val = eq ? eq + 1 : e;
    arg->vlen = (size_t)(e - arg->val);
    *p = amp ? amp + 1 : end;
    return 1;
}

int vg_query_is(const vg_query_arg *arg, const char *key)
{
    return strlen(key) == arg->klen && !memcmp(arg->key, key, arg->klen);
}

int vg_query_copy(const vg_query_arg *arg, char *dst, size_t size)
{
    if (arg->vlen >= size)
        return VG_ERR;
    memcpy(dst, arg->val, arg->vlen);
    dst[arg->vlen] = '\0';
    return VG_OK;
}
