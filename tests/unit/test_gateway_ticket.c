/* gateway tickets (issue 9 item 1): a console ticket is redeemed only while its session exists
 * and its user may still open the VM's console in the ticket's mode, read from the answer of
 * gateway_authz.lua in scope ticket; and a revocation that arrives while a ticket is being
 * redeemed still closes the console it opened. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ticket.h"

#define SESSION "5f1a0c3e9b7d2a4f6e8c0b1d3f5a7c9e2b4d6f8a0c1e3b5d7f9a2c4e6b8d0f1a"
#define TICKET_RW                                                                                  \
    "{\"user\":\"erin\",\"vm\":\"vm1\",\"dev\":\"serial0\",\"mode\":\"rw\",\"session\":\"" SESSION \
    "\"}"
#define TICKET_RO                                                                                  \
    "{\"user\":\"erin\",\"vm\":\"vm1\",\"dev\":\"serial0\",\"mode\":\"ro\",\"session\":\"" SESSION \
    "\"}"

static redisReply *str(const char *s)
{
    redisReply *r = calloc(1, sizeof(*r));
    r->type = REDIS_REPLY_STRING;
    r->str = strdup(s);
    r->len = strlen(s);
    return r;
}

static void reply_free(redisReply *r)
{
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        reply_free(r->element[i]);
    free(r->element);
    free(r->str);
    free(r);
}

/* {user, role, frozen, target_exists, project, member_role, project_active, ticket}; n < 8
 * leaves the last elements out ({} is n = 0). */
static redisReply *answer(size_t n, const char *user, const char *role, const char *frozen,
                          const char *exists, const char *project, const char *member,
                          const char *active, const char *ticket)
{
    const char *v[] = {user, role, frozen, exists, project, member, active, ticket};
    redisReply *r = calloc(1, sizeof(*r));
    r->type = REDIS_REPLY_ARRAY;
    r->elements = n;
    r->element = calloc(8, sizeof(*r->element));
    for (size_t i = 0; i < n; i++)
        r->element[i] = str(v[i]);
    return r;
}

static int redeem(redisReply *r, gw_ticket *t, vg_err *err)
{
    int rc = gw_ticket_redeem(r, t, err);
    reply_free(r);
    return rc;
}

static void refused(redisReply *r, vg_err_code code, const char *needle)
{
    gw_ticket t;
    vg_err err;
    memset(&t, 'x', sizeof(t));
    assert_int_equal(redeem(r, &t, &err), VG_ERR);
    assert_int_equal(err.code, code);
    if (!strstr(err.msg, needle))
        fail_msg("\"%s\" does not say \"%s\"", err.msg, needle);
    assert_string_equal(t.user, ""); /* a refused ticket opens nothing, names nobody */
    assert_string_equal(t.session, "");
}

static void test_valid_ticket_opens_its_console(void **state)
{
    (void)state;
    gw_ticket t;
    vg_err err;
    assert_int_equal(
        redeem(answer(8, "erin", "operator", "0", "1", "p1", "operator", "1", TICKET_RW), &t, &err),
        VG_OK);
    assert_string_equal(t.user, "erin");
    assert_string_equal(t.vm, "vm1");
    assert_string_equal(t.dev, "serial0");
    assert_string_equal(t.mode, "rw");
    assert_string_equal(t.session, SESSION);
    assert_string_equal(t.project, "p1");
    /* ro needs only viewer; administrators need no membership, and reach unassigned VMs. */
    assert_int_equal(
        redeem(answer(8, "erin", "operator", "0", "1", "p1", "viewer", "1", TICKET_RO), &t, &err),
        VG_OK);
    assert_int_equal(redeem(answer(8, "erin", "admin", "0", "1", "", "", "1", TICKET_RW), &t, &err),
                     VG_OK);
    assert_string_equal(t.project, "");
}

/* Before the fix the gateway took any ticket GETDEL returned: these all opened a console. */
static void test_ticket_outliving_its_session_or_access_is_refused(void **state)
{
    (void)state;
    /* logout, freeze, delete, password reset, expiry: the session is gone, the script says {} */
    refused(answer(0, "", "", "", "", "", "", "", ""), VG_E_UNAUTHORIZED, "session ended");
    refused(answer(8, "erin", "operator", "1", "1", "p1", "operator", "1", TICKET_RW),
            VG_E_FORBIDDEN, "frozen");
    refused(answer(8, "erin", "operator", "0", "1", "p1", "", "1", TICKET_RO), VG_E_FORBIDDEN,
            "not a member");
    refused(answer(8, "erin", "operator", "0", "1", "p1", "viewer", "1", TICKET_RW), VG_E_FORBIDDEN,
            "mode=rw");
    refused(answer(8, "erin", "viewer", "0", "1", "p1", "operator", "1", TICKET_RW), VG_E_FORBIDDEN,
            "mode=rw");
    refused(answer(8, "erin", "operator", "0", "1", "p1", "operator", "0", TICKET_RO),
            VG_E_FORBIDDEN, "deactivated");
    refused(answer(8, "erin", "operator", "0", "1", "", "", "1", TICKET_RO), VG_E_FORBIDDEN,
            "administrators only");
    refused(answer(8, "erin", "operator", "0", "0", "", "", "0", TICKET_RO), VG_E_NOT_FOUND, "vm1");
}

static void test_malformed_answers_are_refused(void **state)
{
    (void)state;
    /* a session of another user than the ticket's */
    refused(answer(8, "frank", "operator", "0", "1", "p1", "operator", "1", TICKET_RW),
            VG_E_UNAUTHORIZED, "unknown");
    /* the facts of an API call, without a ticket */
    refused(answer(7, "erin", "operator", "0", "1", "p1", "operator", "1", ""), VG_E_UNAUTHORIZED,
            "unknown");
    static const char *const bad[] = {
        "",
        "not json",
        "[]",
        "{\"user\":\"erin\",\"vm\":\"vm1\",\"dev\":\"serial0\",\"mode\":\"rw\"}",
        "{\"user\":\"erin\",\"vm\":\"vm1\",\"dev\":\"serial0\",\"mode\":\"rw\",\"session\":\"\"}",
        "{\"user\":\"erin\",\"vm\":\"vm1\",\"dev\":\"serial0\",\"mode\":\"rx\",\"session\":\"a\"}",
        "{\"user\":\"erin\",\"vm\":\"../x\",\"dev\":\"serial0\",\"mode\":\"ro\",\"session\":\"a\"}",
        "{\"user\":\"erin\",\"vm\":\"vm1\",\"dev\":7,\"mode\":\"ro\",\"session\":\"a\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        refused(answer(8, "erin", "admin", "0", "1", "p1", "", "1", bad[i]), VG_E_UNAUTHORIZED,
                "unknown");
    gw_ticket t;
    vg_err err;
    assert_int_equal(gw_ticket_redeem(NULL, &t, &err), VG_ERR);
    redisReply *s = str(TICKET_RW);
    assert_int_equal(redeem(s, &t, &err), VG_ERR);
}

static void add(gw_revoked *r, const char *msg)
{
    gw_revoked_add(r, msg, strlen(msg));
}

static void test_revocation_matches_session_or_user(void **state)
{
    (void)state;
    assert_int_equal(gw_revoked_match(SESSION, "erin", SESSION), GW_REVOKED_SESSION);
    assert_int_equal(gw_revoked_match("user:erin", "erin", SESSION), GW_REVOKED_USER);
    assert_int_equal(gw_revoked_match("user:erin2", "erin", SESSION), GW_REVOKED_NONE);
    assert_int_equal(gw_revoked_match("user:eri", "erin", SESSION), GW_REVOKED_NONE);
    assert_int_equal(gw_revoked_match("erin", "erin", SESSION), GW_REVOKED_NONE);
    /* a console whose ticket is still being redeemed names nobody yet */
    assert_int_equal(gw_revoked_match("user:", "", ""), GW_REVOKED_NONE);
    assert_int_equal(gw_revoked_match("", "", ""), GW_REVOKED_NONE);
}

/* The race: the ticket is redeemed in Redis, then the session ends and its message is handled
 * before the redemption's answer. The console must still be closed. */
static void test_revocation_during_redemption_is_not_missed(void **state)
{
    (void)state;
    static gw_revoked r;
    memset(&r, 0, sizeof(r));
    add(&r, "user:old"); /* before the ticket was sent: not looked at */
    uint64_t mark = r.count;
    assert_int_equal(gw_revoked_since(&r, mark, "erin", SESSION), GW_REVOKED_NONE);
    add(&r, "user:frank");
    assert_int_equal(gw_revoked_since(&r, mark, "erin", SESSION), GW_REVOKED_NONE);
    add(&r, SESSION);
    assert_int_equal(gw_revoked_since(&r, mark, "erin", SESSION), GW_REVOKED_SESSION);
    add(&r, "user:erin");
    assert_int_equal(gw_revoked_since(&r, mark, "erin", SESSION), GW_REVOKED_USER);
    assert_int_equal(gw_revoked_since(&r, r.count, "erin", SESSION), GW_REVOKED_NONE);
    /* what does not fit names nobody and is not kept */
    char long_msg[GW_REVOKED_MSG + 8];
    memset(long_msg, 'a', sizeof(long_msg) - 1);
    long_msg[sizeof(long_msg) - 1] = '\0';
    uint64_t before = r.count;
    add(&r, long_msg);
    assert_int_equal(r.count, before);
}

static void test_revocations_overwritten_close_the_console(void **state)
{
    (void)state;
    static gw_revoked r;
    memset(&r, 0, sizeof(r));
    uint64_t mark = r.count;
    add(&r, "user:erin");
    for (int i = 0; i < GW_REVOKED_KEEP - 1; i++)
        add(&r, "user:frank");
    /* all GW_REVOKED_KEEP still kept: the match is found */
    assert_int_equal(gw_revoked_since(&r, mark, "erin", SESSION), GW_REVOKED_USER);
    assert_int_equal(gw_revoked_since(&r, mark + 1, "erin", SESSION), GW_REVOKED_NONE);
    /* one more overwrites erin's: it cannot tell any more, so it closes */
    add(&r, "user:frank");
    assert_int_equal(gw_revoked_since(&r, mark, "erin", SESSION), GW_REVOKED_USER);
    assert_int_equal(gw_revoked_since(&r, mark + 2, "erin", SESSION), GW_REVOKED_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_ticket_opens_its_console),
        cmocka_unit_test(test_ticket_outliving_its_session_or_access_is_refused),
        cmocka_unit_test(test_malformed_answers_are_refused),
        cmocka_unit_test(test_revocation_matches_session_or_user),
        cmocka_unit_test(test_revocation_during_redemption_is_not_missed),
        cmocka_unit_test(test_revocations_overwritten_close_the_console),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
