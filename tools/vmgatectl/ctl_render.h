/* Human-readable output of any method's result (docs/vmgatectl.md "Output"):
 *
 * - an array of objects, or a result object whose only member is one, is a table: one column
 *   per key (the union over the rows, in first-seen order, headed by the key in capitals),
 *   strings as they are, other values as compact JSON, missing ones as "-", cells cut to
 *   max_cell characters with "…";
 * - an object is "key: value" lines, nested objects flattened to dotted keys (quotas.vcpus: 8)
 *   and arrays as compact JSON; members that are arrays of objects follow as titled tables;
 * - {} and an empty array print nothing.
 *
 * Control characters from the gateway never reach the terminal: they are shown as '?' (line
 * values keep newlines and tabs, so vm.xml stays readable). */
#ifndef CTL_RENDER_H
#define CTL_RENDER_H

#include "vg.h"

#include <cjson/cJSON.h>
#include <stdio.h>

#define CTL_RENDER_MAX_CELL 48 /* default cell width in characters; 0 = no limit */

int ctl_render(const cJSON *result, size_t max_cell, FILE *out, vg_err *err);
/* rows: an array of objects (other elements are skipped). */
int ctl_render_table(const cJSON *rows, size_t max_cell, FILE *out, vg_err *err);

/* One line for a pushed event {"event": type, "data": {...}}: the type, then key=value for each
 * member of data but its "type"; strings holding blanks, '=' or quotes, or empty, are quoted
 * as JSON. */
int ctl_render_event(const cJSON *msg, FILE *out, vg_err *err);

#endif
