/* Operator notices (docs/api.md "Notices") on an attached console: those alive when it attaches,
 * then each new one, printed through the caller's line printer; never written to the guest. */
#ifndef CTL_NOTICES_H
#define CTL_NOTICES_H

#include "ctl_app.h"

/* Prints the notices a viewer of vm sees, and keeps printing new ones while the API connection
 * lasts. say prints one line on the terminal (not the guest's output). */
void ctl_notices_follow(ctl_app *app, const char *vm, void (*say)(const char *line));
/* One notice as its line: level, sender and text, control characters shown as '?'. */
void ctl_notice_line(const cJSON *notice, char *out, size_t cap);

#endif
