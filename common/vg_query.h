/* Query strings as libwebsockets hands them over (`a=1&b=2`, each argument already decoded),
 * read by the gateway (/ws/console) and hostd (/link/console) alike. */
#ifndef VG_QUERY_H
#define VG_QUERY_H

#include "vg.h"

/* One argument: key and value point into the query, not NUL-terminated. An argument without
 * '=' has an empty value. */
typedef struct vg_query_arg {
    const char *key, *val;
    size_t klen, vlen;
} vg_query_arg;

/* Splits the next argument off [*p, end) and moves *p past it; 0 once nothing is left. Empty
 * arguments (`a&&b`) come out as an empty key. */
int vg_query_next(const char **p, const char *end, vg_query_arg *arg);
/* Whether the argument's key is key. */
int vg_query_is(const vg_query_arg *arg, const char *key);
/* Copies the value into dst as a string; VG_ERR, dst untouched, when it needs more than size
 * bytes with its NUL. */
int vg_query_copy(const vg_query_arg *arg, char *dst, size_t size);

#endif
