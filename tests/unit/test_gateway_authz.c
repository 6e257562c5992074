/* gateway authz: the whole decision table of who may call what (docs/security.md
 * "Authorization"): every scope × least level × own role × membership × target state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "api/api_int.h"
#include "core/authz.h"

static const char *const roles[] = {"admin", "operator", "viewer"};
static const char *const members[] = {"", "viewer", "operator"};

/* The effective role in a project, [own role][membership]: a membership never lifts a user
 * above their own role and never grants admin. */
static const char *const effective[3][3] = {
    /* member:  none        viewer      operator */
    /* admin */ {"admin", "admin", "admin"},
    /* operator */ {"", "viewer", "operator"},
    /* viewer */ {"", "viewer", "viewer"},
};

/* Allowed in an active project's target, [own role][membership][least level]. */
static const int allowed[3][3][3] = {
    /* level:            viewer operator admin */
    /* admin    none */ {{1, 1, 1}, /* viewer */ {1, 1, 1}, /* operator */ {1, 1, 1}},
    /* operator none */ {{0, 0, 0}, /* viewer */ {1, 0, 0}, /* operator */ {1, 1, 0}},
    /* viewer   none */ {{0, 0, 0}, /* viewer */ {1, 0, 0}, /* operator */ {1, 0, 0}},
};

static gw_authz_subject subject(const char *role, const char *member)
{
    gw_authz_subject s = {
        .user = "u1",
        .role = role,
        .frozen = 0,
        .target_exists = 1,
        .target = "t1",
        .project = "p1",
        .member = member,
        .project_active = 1,
    };
    return s;
}

static int decide(gw_scope scope, gw_level level, const gw_authz_subject *s, vg_err *err)
{
    memset(err, 0, sizeof(*err));
    int rc = gw_authz_check("m.x", scope, level, s, err);
    assert_int_equal(rc == VG_OK, err->code == VG_E_NONE);
    if (rc != VG_OK)
        assert_true(strlen(err->msg) > 10);
    return rc == VG_OK ? VG_E_NONE : (int)err->code;
}

static void test_names(void **state)
{
    (void)state;
    assert_int_equal(gw_level_of("admin"), GW_LEVEL_ADMIN);
    assert_int_equal(gw_level_of("operator"), GW_LEVEL_OPERATOR);
    assert_int_equal(gw_level_of("viewer"), GW_LEVEL_VIEWER);
    assert_int_equal(gw_level_of(""), -1);
    assert_int_equal(gw_level_of("Admin"), -1);
    assert_int_equal(gw_level_of(NULL), -1);
    assert_string_equal(gw_level_name(GW_LEVEL_OPERATOR), "operator");
    assert_string_equal(gw_scope_name(GW_SCOPE_PUBLIC), "public");
    assert_string_equal(gw_scope_name(GW_SCOPE_ENV), "env");
}

static void test_effective_role(void **state)
{
    (void)state;
    for (int r = 0; r < 3; r++)
        for (int m = 0; m < 3; m++)
            assert_string_equal(gw_authz_effective(roles[r], members[m]), effective[r][m]);
    /* An "admin" membership (never written by the API) grants no more than operator. */
    assert_string_equal(gw_authz_effective("operator", "admin"), "operator");
    assert_string_equal(gw_authz_effective("viewer", "admin"), "viewer");
    assert_string_equal(gw_authz_effective("bogus", "operator"), "");
    assert_string_equal(gw_authz_effective("operator", "bogus"), "");
}

/* PROJECT, VM and ENV scopes: the table above, for every level. */
static void test_project_scopes(void **state)
{
    (void)state;
    const gw_scope scopes[] = {GW_SCOPE_PROJECT, GW_SCOPE_VM, GW_SCOPE_ENV};
    vg_err err;
    for (size_t sc = 0; sc < 3; sc++)
        for (int r = 0; r < 3; r++)
            for (int m = 0; m < 3; m++)
                for (int l = 0; l < 3; l++) {
                    gw_authz_subject s = subject(roles[r], members[m]);
                    int code = decide(scopes[sc], (gw_level)l, &s, &err);
                    assert_int_equal(code, allowed[r][m][l] ? VG_E_NONE : VG_E_FORBIDDEN);
                }
}

static void test_global_scopes(void **state)
{
    (void)state;
    vg_err err;
    for (int r = 0; r < 3; r++)
        for (int l = 0; l < 3; l++) {
            gw_authz_subject s = subject(roles[r], "");
            assert_int_equal(decide(GW_SCOPE_PUBLIC, (gw_level)l, &s, &err), VG_E_NONE);
            assert_int_equal(decide(GW_SCOPE_SELF, (gw_level)l, &s, &err), VG_E_NONE);
            assert_int_equal(decide(GW_SCOPE_ANY, (gw_level)l, &s, &err), VG_E_NONE);
            assert_int_equal(decide(GW_SCOPE_ADMIN, (gw_level)l, &s, &err),
                             r == 0 ? VG_E_NONE : VG_E_FORBIDDEN);
        }
    gw_authz_subject s = subject("operator", "operator");
    decide(GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, &s, &err);
    assert_string_equal(err.msg, "m.x is for administrators only");
}

static void test_frozen_and_bad_role(void **state)
{
    (void)state;
    vg_err err;
    for (int sc = GW_SCOPE_SELF; sc <= GW_SCOPE_ENV; sc++)
        for (int r = 0; r < 3; r++) {
            gw_authz_subject s = subject(roles[r], "operator");
            s.frozen = 1;
            assert_int_equal(decide((gw_scope)sc, GW_LEVEL_VIEWER, &s, &err), VG_E_FORBIDDEN);
            assert_string_equal(err.msg, "user u1 is frozen");
            /* Even an unknown target: a frozen user learns nothing. */
            s.target_exists = 0;
            assert_int_equal(decide((gw_scope)sc, GW_LEVEL_VIEWER, &s, &err), VG_E_FORBIDDEN);
        }
    gw_authz_subject s = subject("root", "operator");
    assert_int_equal(decide(GW_SCOPE_SELF, GW_LEVEL_VIEWER, &s, &err), VG_E_FORBIDDEN);
    assert_int_equal(decide(GW_SCOPE_VM, GW_LEVEL_VIEWER, &s, &err), VG_E_FORBIDDEN);
    /* Login needs no session at all, frozen or not: login itself refuses frozen users. */
    s = subject("viewer", "");
    s.frozen = 1;
    assert_int_equal(decide(GW_SCOPE_PUBLIC, GW_LEVEL_VIEWER, &s, &err), VG_E_NONE);
}

static void test_unknown_target(void **state)
{
    (void)state;
    vg_err err;
    const gw_scope scopes[] = {GW_SCOPE_PROJECT, GW_SCOPE_VM, GW_SCOPE_ENV};
    const char *const what[] = {"no project named t1", "no VM named t1", "no environment named t1"};
    for (size_t sc = 0; sc < 3; sc++)
        for (int r = 0; r < 3; r++) {
            gw_authz_subject s = subject(roles[r], "");
            s.target_exists = 0;
            assert_int_equal(decide(scopes[sc], GW_LEVEL_VIEWER, &s, &err), VG_E_NOT_FOUND);
            assert_string_equal(err.msg, what[sc]);
        }
}

static void test_unassigned_vm(void **state)
{
    (void)state;
    vg_err err;
    for (int r = 0; r < 3; r++)
        for (int l = 0; l < 3; l++) {
            gw_authz_subject s = subject(roles[r], "");
            s.project = "";
            assert_int_equal(decide(GW_SCOPE_VM, (gw_level)l, &s, &err),
                             r == 0 ? VG_E_NONE : VG_E_FORBIDDEN);
            if (r)
                assert_string_equal(err.msg, "VM t1 belongs to no project: administrators only");
        }
}

static void test_foreign_and_low_role_messages(void **state)
{
    (void)state;
    vg_err err;
    gw_authz_subject s = subject("operator", "");
    decide(GW_SCOPE_VM, GW_LEVEL_VIEWER, &s, &err);
    assert_string_equal(err.msg, "user u1 is not a member of project p1");
    s = subject("operator", "viewer");
    decide(GW_SCOPE_VM, GW_LEVEL_OPERATOR, &s, &err);
    assert_string_equal(err.msg, "role viewer in project p1 may not call m.x");
}

static void test_deactivated_project(void **state)
{
    (void)state;
    vg_err err;
    for (int r = 0; r < 3; r++)
        for (int m = 0; m < 3; m++)
            for (int l = 0; l < 3; l++) {
                gw_authz_subject s = subject(roles[r], members[m]);
                s.project_active = 0;
                /* Administrators still manage a deactivated project; its members are out. */
                int code = decide(GW_SCOPE_VM, (gw_level)l, &s, &err);
                assert_int_equal(code, r == 0 ? VG_E_NONE : VG_E_FORBIDDEN);
                if (r && allowed[r][m][l])
                    assert_string_equal(err.msg, "project p1 is deactivated");
            }
}

/* The method tables: nothing but login is public, every state-changing method is audited and
 * the sensitive ones ask for the password again. */
static void test_method_tables(void **state)
{
    (void)state;
    static const char *const reauth[] = {"user.delete", "project.delete", "audit.purge"};
    size_t n = 0, nreauth = 0;
    for (const gw_method *m = gw_api_next(NULL); m; m = gw_api_next(m), n++) {
        assert_ptr_equal(gw_api_find(m->name), m);
        assert_int_equal(m->scope == GW_SCOPE_PUBLIC, strcmp(m->name, "login") == 0);
        if (m->scope == GW_SCOPE_ADMIN)
            assert_int_equal(m->level, GW_LEVEL_ADMIN);
        if (m->flags & GW_M_REAUTH) {
            assert_true(m->flags & GW_M_MUTATES);
            nreauth++;
        }
        assert_non_null(m->params);
        assert_non_null(m->run);
    }
    for (size_t i = 0; i < sizeof(reauth) / sizeof(reauth[0]); i++) {
        const gw_method *m = gw_api_find(reauth[i]);
        assert_non_null(m);
        assert_true(m->flags & GW_M_REAUTH);
    }
    assert_true(nreauth >= 3);
    assert_true(n > 20);
    const gw_method *m = gw_api_find("project.member.set");
    assert_int_equal(m->scope, GW_SCOPE_PROJECT);
    assert_int_equal(m->level, GW_LEVEL_ADMIN);
    m = gw_api_find("console.ticket");
    assert_int_equal(m->scope, GW_SCOPE_VM);
    assert_int_equal(m->level, GW_LEVEL_VIEWER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_effective_role),
        cmocka_unit_test(test_project_scopes),
        cmocka_unit_test(test_global_scopes),
        cmocka_unit_test(test_frozen_and_bad_role),
        cmocka_unit_test(test_unknown_target),
        cmocka_unit_test(test_unassigned_vm),
        cmocka_unit_test(test_foreign_and_low_role_messages),
        cmocka_unit_test(test_deactivated_project),
        cmocka_unit_test(test_method_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
