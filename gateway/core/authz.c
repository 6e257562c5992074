#include "core/authz.h"

#include <string.h>

const char *gw_scope_name(gw_scope scope)
{
    static const char *const names[] = {"public", "self", "any", "admin", "project", "vm", "env"};
    return (unsigned)scope < sizeof(names) / sizeof(names[0]) ? names[scope] : "?";
}

const char *gw_level_name(gw_level level)
{
    static const char *const names[] = {"viewer", "operator", "admin"};
    return (unsigned)level < sizeof(names) / sizeof(names[0]) ? names[level] : "?";
}

int gw_level_of(const char *role)
{
    if (!role)
        return -1;
    if (strcmp(role, "admin") == 0)
        return GW_LEVEL_ADMIN;
    if (strcmp(role, "operator") == 0)
        return GW_LEVEL_OPERATOR;
    if (strcmp(role, "viewer") == 0)
        return GW_LEVEL_VIEWER;
    return -1;
}

const char *gw_authz_effective(const char *role, const char *member)
{
    int own = gw_level_of(role);
    if (own == GW_LEVEL_ADMIN)
        return "admin";
    int in = gw_level_of(member);
    /* A membership never lifts someone above their own role, and grants no admin rights. */
    if (in < 0 || own < 0)
        return "";
    if (in > GW_LEVEL_OPERATOR)
        in = GW_LEVEL_OPERATOR;
    return gw_level_name((gw_level)(in < own ? in : own));
}

int gw_authz_check(const char *method, gw_scope scope, gw_level level, const gw_authz_subject *s,
                   vg_err *err)
{
    if (scope == GW_SCOPE_PUBLIC)
        return VG_OK;
    if (s->frozen)
        return vg_fail(err, VG_E_FORBIDDEN, "user %s is frozen", s->user);
    int own = gw_level_of(s->role);
    if (own < 0)
        return vg_fail(err, VG_E_FORBIDDEN, "user %s has no valid role", s->user);
    switch (scope) {
    case GW_SCOPE_PUBLIC:
    case GW_SCOPE_SELF:
    case GW_SCOPE_ANY:
        return VG_OK;
    case GW_SCOPE_ADMIN:
        if (own == GW_LEVEL_ADMIN)
            return VG_OK;
        return vg_fail(err, VG_E_FORBIDDEN, "%s is for administrators only", method);
    case GW_SCOPE_PROJECT:
    case GW_SCOPE_VM:
    case GW_SCOPE_ENV:
        break;
    }
    const char *what = scope == GW_SCOPE_PROJECT ? "project"
                       : scope == GW_SCOPE_VM    ? "VM"
                                                 : "environment";
    if (!s->target_exists)
        return vg_fail(err, VG_E_NOT_FOUND, "no %s named %.64s", what, s->target);
    const char *eff = gw_authz_effective(s->role, s->member);
    int have = gw_level_of(eff);
    if (have < 0) {
        if (!s->project[0])
            return vg_fail(err, VG_E_FORBIDDEN,
                           "%s %.64s belongs to no project: administrators only", what, s->target);
        return vg_fail(err, VG_E_FORBIDDEN, "user %s is not a member of project %.64s", s->user,
                       s->project);
    }
    if (have < (int)level)
        return vg_fail(err, VG_E_FORBIDDEN, "role %s in project %.64s may not call %s", eff,
                       s->project, method);
    /* A deactivated project is closed to its members; administrators still manage it. */
    if (s->project[0] && !s->project_active && have != GW_LEVEL_ADMIN)
        return vg_fail(err, VG_E_FORBIDDEN, "project %.64s is deactivated", s->project);
    return VG_OK;
}
