/* Generic method calls: `vmgatectl METHOD key=value...`, `methods` and `help METHOD`. */
#ifndef CTL_CALL_H
#define CTL_CALL_H

#include "vg.h"

#include <stdio.h>

/* Prints the section of docs/api.md whose "###" heading names `method` in backquotes, up to
 * the next heading of level 3 or less; returns 0 when there is none. */
int ctl_help_section(const char *doc, const char *method, FILE *out);

#endif
