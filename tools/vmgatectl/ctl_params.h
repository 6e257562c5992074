/* The params object of a method call, built from the command line's key=value words
 * (docs/vmgatectl.md "Calling a method"):
 *
 *   key=value    value as JSON when it is valid JSON (number, true, false, null, "string",
 *                object, array), else as a string
 *   key=\value   always the string after the backslash
 *   key:=json    must be valid JSON
 *   key=@file    the JSON held in a file; @- reads standard input (once)
 *   a.b.c=value  nested objects: {"a":{"b":{"c":value}}}
 */
#ifndef CTL_PARAMS_H
#define CTL_PARAMS_H

#include "vg.h"

#include <cjson/cJSON.h>

#define CTL_PARAMS_MAX_FILE 65536 /* the gateway refuses bigger API messages anyway */
#define CTL_PARAMS_MAX_DEPTH 8    /* segments of a dotted key */

/* Returns the NUL-terminated content of path ("-": standard input) in a malloc'd buffer, or
 * NULL with err set. */
typedef char *(*ctl_params_reader)(const char *path, void *ud, vg_err *err);

/* Builds *out from n words; on failure *out is NULL and err says which word is wrong (code
 * bad_request, or the reader's code). */
int ctl_params_build(char *const *words, int n, ctl_params_reader read, void *ud, cJSON **out,
                     vg_err *err);
/* The reader of the real program: files and standard input, at most CTL_PARAMS_MAX_FILE bytes. */
char *ctl_params_read_file(const char *path, void *ud, vg_err *err);

#endif
