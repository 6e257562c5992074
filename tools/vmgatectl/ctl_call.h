/* Generic method calls: `vmgatectl METHOD key=value...`, `methods` and `help METHOD`. */
#ifndef CTL_CALL_H
#define CTL_CALL_H

#include "vg.h"

#include <cjson/cJSON.h>
#include <stdio.h>

/* Prints the section of docs/api.md whose "###" heading names `method` in backquotes, up to
 * the next heading of level 3 or less; returns 0 when there is none. */
int ctl_help_section(const char *doc, const char *method, FILE *out);

/* One method of api.methods for `help METHOD`: its row as "key: value" lines, then its
 * parameters as a table (NAME TYPE REQUIRED RANGE DOC), or "params: none". */
int ctl_help_render(const cJSON *method, FILE *out, vg_err *err);
/* api.methods for `methods`: the table with each method's parameters as a signature like the
 * docs' ("vm, dev?, mode?": `?` marks the optional ones). */
int ctl_methods_render(const cJSON *result, size_t max_cell, FILE *out, vg_err *err);

#endif
