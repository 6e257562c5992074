/* `vmgatectl list`: the answer of vm.list as a table or as JSON. */
#ifndef CTL_LIST_H
#define CTL_LIST_H

#include "vg.h"

#include <cjson/cJSON.h>
#include <stdio.h>

/* Writes the table (NAME HOST STATE CONSOLES, sorted by name) or the result as JSON. Fails
 * with bad_request when result is not shaped like vm.list's answer. */
int ctl_list_print(const cJSON *result, int json, FILE *out, vg_err *err);

#endif
