/* Who may call what (issue 4 §3, docs/security.md "Authorization"): the one place that decides,
 * for every API method and console attach, from the caller's role, their role in the target's
 * project and the method's scope and least level. Pure, so the whole table is unit-tested. */
#ifndef GW_AUTHZ_H
#define GW_AUTHZ_H

#include "vg.h"

typedef enum gw_scope {
    GW_SCOPE_PUBLIC,  /* no session needed (login) */
    GW_SCOPE_SELF,    /* any session, about the caller themself */
    GW_SCOPE_ANY,     /* any session; the method shows only what the caller may see */
    GW_SCOPE_ADMIN,   /* administrators */
    GW_SCOPE_PROJECT, /* params.project */
    GW_SCOPE_VM,      /* params.vm: the VM's project decides */
    GW_SCOPE_ENV,     /* params.env: the environment's project decides */
} gw_scope;

typedef enum gw_level {
    GW_LEVEL_VIEWER,
    GW_LEVEL_OPERATOR,
    GW_LEVEL_ADMIN,
} gw_level;

typedef struct gw_authz_subject {
    const char *user;
    const char *role; /* the user's own role */
    int frozen;
    int target_exists;   /* PROJECT, VM, ENV scopes */
    const char *target;  /* its name, for messages */
    const char *project; /* the target's project, "" when unassigned */
    const char *member;  /* the user's membership role in that project, "" for none */
    int project_active;
} gw_authz_subject;

const char *gw_scope_name(gw_scope scope);
const char *gw_level_name(gw_level level);
/* "admin" 2, "operator" 1, "viewer" 0, anything else -1. */
int gw_level_of(const char *role);
/* The caller's effective role in the target's project: admin for administrators, else the
 * membership role capped by their own role, else "" (none). */
const char *gw_authz_effective(const char *role, const char *member);
/* VG_OK when allowed; otherwise not_found, forbidden with a message saying why. */
int gw_authz_check(const char *method, gw_scope scope, gw_level level, const gw_authz_subject *s,
                   vg_err *err);

#endif
