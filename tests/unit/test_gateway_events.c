/* gateway core/events: the dispatcher the console relay and the API WebSockets subscribe to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/events.h"

static char heard[256];

static void note(const gw_event *ev, void *priv)
{
    size_t n = strlen(heard);
    snprintf(heard + n, sizeof(heard) - n, "%s:%s ", (const char *)priv,
             ev->kind == GW_EVENT_NOTICE ? ev->type : ev->revoked);
}

static void test_each_kind_reaches_its_subscribers_in_order(void **state)
{
    (void)state;
    gw_events e = {0};
    heard[0] = '\0';
    assert_int_equal(gw_events_subscribe(&e, GW_EVENT_NOTICE, note, "api"), VG_OK);
    assert_int_equal(gw_events_subscribe(&e, GW_EVENT_REVOKED, note, "api"), VG_OK);
    assert_int_equal(gw_events_subscribe(&e, GW_EVENT_NOTICE, note, "console"), VG_OK);
    gw_event notice = {.kind = GW_EVENT_NOTICE, .type = "vm.migrated"};
    gw_events_publish(&e, &notice);
    assert_string_equal(heard, "api:vm.migrated console:vm.migrated ");
    heard[0] = '\0';
    gw_event revoked = {.kind = GW_EVENT_REVOKED, .revoked = "user:bob", .user = "bob"};
    gw_events_publish(&e, &revoked);
    assert_string_equal(heard, "api:user:bob ");
}

static void test_nobody_subscribed(void **state)
{
    (void)state;
    gw_events e = {0};
    heard[0] = '\0';
    gw_event revoked = {.kind = GW_EVENT_REVOKED, .revoked = "x"};
    gw_events_publish(&e, &revoked);
    assert_string_equal(heard, "");
}

static void test_full_table_and_bad_kind_refused(void **state)
{
    (void)state;
    gw_events e = {0};
    assert_int_equal(gw_events_subscribe(&e, GW_EVENT_KINDS, note, "x"), VG_ERR);
    for (int i = 0; i < GW_EVENTS_MAX; i++)
        assert_int_equal(gw_events_subscribe(&e, GW_EVENT_NOTICE, note, "x"), VG_OK);
    assert_int_equal(gw_events_subscribe(&e, GW_EVENT_NOTICE, note, "x"), VG_ERR);
    assert_int_equal(e.n, GW_EVENTS_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_kind_reaches_its_subscribers_in_order),
        cmocka_unit_test(test_nobody_subscribed),
        cmocka_unit_test(test_full_table_and_bad_kind_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
