/* The audit trail (M13, docs/redis.md `vg:audit`): one Redis Stream entry per login, state-
 * changing API call, console attach/detach/take-over and notice. Writing is fire-and-forget
 * on the command connection: an entry that Redis cannot take is logged as lost, never blocks
 * the action it records. */
#ifndef GW_AUDIT_H
#define GW_AUDIT_H

#include "gateway.h"

#define GW_AUDIT_STREAM "vg:audit"

typedef struct gw_audit_entry {
    const char *kind; /* login, api, console, purge, notice */
    const char *user;
    const char *addr;
    const char *method; /* API method, or console action (attach, detach, take) */
    const char *vm;
    const char *project;
    const char *result; /* "ok" or a stable error code name */
    const char *detail; /* free text: the error message, the console device and mode, ... */
} gw_audit_entry;

/* NULL fields are written as empty strings. */
void gw_audit(gw *g, const gw_audit_entry *e);

#endif
