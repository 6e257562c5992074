/* gateway core/timersched and core/settings: occurrences of each schedule kind around a
 * moment, in zones with daylight saving time (the spring gap and the autumn repeat), months
 * shorter than the day asked, bad schedules refused naming the field; the settings' ranges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "core/settings.h"
#include "core/timersched.h"

/* Milliseconds of a UTC date and time. */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
    /* days from civil (Howard Hinnant's algorithm): no time zone involved */
    y -= mo <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return ((days * 24 + h) * 60 + mi) * 60000;
}

static gw_sched parse(const char *json)
{
    cJSON *t = cJSON_Parse(json);
    assert_non_null(t);
    gw_sched s;
    vg_err err;
    int rc = gw_sched_parse(t, &s, &err);
    cJSON_Delete(t);
    if (rc != VG_OK)
        fail_msg("%s: %s", json, err.msg);
    return s;
}

static void refused(const char *json, const char *fragment)
{
    cJSON *t = cJSON_Parse(json);
    gw_sched s;
    vg_err err;
    assert_int_equal(gw_sched_parse(t, &s, &err), VG_ERR);
    cJSON_Delete(t);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    if (!strstr(err.msg, fragment))
        fail_msg("%s: \"%s\" lacks \"%s\"", json, err.msg, fragment);
}

static void test_daily_in_a_zone(void **state)
{
    (void)state;
    gw_sched s = parse("{\"schedule\":\"daily\",\"at\":\"07:30\",\"tz\":\"Europe/Berlin\"}");
    /* 2024-01-10 12:00 UTC: Berlin is UTC+1, so 07:30 local is 06:30 UTC. */
    int64_t now = utc(2024, 1, 10, 12, 0);
    assert_int_equal(gw_sched_prev(&s, now), utc(2024, 1, 10, 6, 30));
    assert_int_equal(gw_sched_next(&s, now), utc(2024, 1, 11, 6, 30));
    /* In summer (UTC+2) the same local time is 05:30 UTC. */
    now = utc(2024, 7, 10, 5, 29);
    assert_int_equal(gw_sched_next(&s, now), utc(2024, 7, 10, 5, 30));
    assert_int_equal(gw_sched_prev(&s, now), utc(2024, 7, 9, 5, 30));
    /* Exactly at the occurrence: it is the previous one, not the next. */
    assert_int_equal(gw_sched_prev(&s, utc(2024, 7, 10, 5, 30)), utc(2024, 7, 10, 5, 30));
    /* The process' own TZ is untouched. */
    assert_null(getenv("TZ"));
}

static void test_dst_gap_and_repeat(void **state)
{
    (void)state;
    /* 2024-03-31 02:30 does not exist in Berlin (02:00 → 03:00): mktime makes it 03:30 CEST =
     * 01:30 UTC, the day's occurrence, once. */
    gw_sched s = parse("{\"schedule\":\"daily\",\"at\":\"02:30\",\"tz\":\"Europe/Berlin\"}");
    assert_int_equal(gw_sched_next(&s, utc(2024, 3, 30, 12, 0)), utc(2024, 3, 31, 1, 30));
    assert_int_equal(gw_sched_next(&s, utc(2024, 3, 31, 1, 30)), utc(2024, 4, 1, 0, 30));
    /* 2024-10-27 02:30 happens twice: one occurrence that day. */
    int64_t a = gw_sched_next(&s, utc(2024, 10, 26, 12, 0));
    int64_t b = gw_sched_next(&s, a);
    assert_true(a == utc(2024, 10, 27, 0, 30) || a == utc(2024, 10, 27, 1, 30));
    assert_int_equal(b, utc(2024, 10, 28, 1, 30));
}

static void test_weekly_monthly_once_every(void **state)
{
    (void)state;
    /* Fridays 19:45 in Tokyo (UTC+9, no DST) = 10:45 UTC; 2024-05-15 is a Wednesday. */
    gw_sched w =
        parse("{\"schedule\":\"weekly\",\"at\":\"19:45\",\"weekday\":5,\"tz\":\"Asia/Tokyo\"}");
    assert_int_equal(gw_sched_next(&w, utc(2024, 5, 15, 0, 0)), utc(2024, 5, 17, 10, 45));
    assert_int_equal(gw_sched_prev(&w, utc(2024, 5, 15, 0, 0)), utc(2024, 5, 10, 10, 45));
    /* Day 31 in UTC: February 2024 has 29 days, April 30. */
    gw_sched m = parse("{\"schedule\":\"monthly\",\"at\":\"00:00\",\"day\":31}");
    assert_int_equal(gw_sched_next(&m, utc(2024, 2, 1, 0, 0)), utc(2024, 2, 29, 0, 0));
    assert_int_equal(gw_sched_next(&m, utc(2024, 3, 31, 0, 0)), utc(2024, 4, 30, 0, 0));
    assert_int_equal(gw_sched_prev(&m, utc(2024, 1, 15, 0, 0)), utc(2023, 12, 31, 0, 0));
    /* once: due then, never again. */
    gw_sched o =
        parse("{\"schedule\":\"once\",\"at\":\"2024-06-01T08:00\",\"tz\":\"America/New_York\"}");
    assert_int_equal(gw_sched_next(&o, utc(2024, 5, 1, 0, 0)), utc(2024, 6, 1, 12, 0));
    assert_int_equal(gw_sched_prev(&o, utc(2024, 5, 1, 0, 0)), -1);
    assert_int_equal(gw_sched_next(&o, utc(2024, 6, 1, 12, 0)), -1);
    assert_int_equal(gw_sched_prev(&o, utc(2024, 7, 1, 0, 0)), utc(2024, 6, 1, 12, 0));
    /* every: from the anchor on. */
    gw_sched e = parse("{\"schedule\":\"every\",\"every_min\":15,\"anchor_ms\":600000}");
    assert_int_equal(gw_sched_prev(&e, 600000 + 31 * 60000), 600000 + 30 * 60000);
    assert_int_equal(gw_sched_next(&e, 600000 + 30 * 60000), 600000 + 45 * 60000);
    assert_int_equal(gw_sched_prev(&e, 0), -1);
}

static void test_bad_schedules(void **state)
{
    (void)state;
    refused("{\"schedule\":\"hourly\"}", "\"schedule\"");
    refused("{\"schedule\":\"daily\",\"at\":\"7:30pm\"}", "\"at\"");
    refused("{\"schedule\":\"daily\",\"at\":\"24:00\"}", "\"at\"");
    refused("{\"schedule\":\"once\",\"at\":\"07:30\"}", "YYYY-MM-DD");
    refused("{\"schedule\":\"weekly\",\"at\":\"07:30\"}", "\"weekday\"");
    refused("{\"schedule\":\"monthly\",\"at\":\"07:30\"}", "\"day\"");
    refused("{\"schedule\":\"every\"}", "\"every_min\"");
    refused("{\"schedule\":\"daily\",\"at\":\"07:30\",\"tz\":\"../../etc/passwd\"}", "\"tz\"");
    refused("{\"schedule\":\"daily\",\"at\":\"07:30\",\"tz\":\"/etc/localtime\"}", "\"tz\"");
    refused("{\"schedule\":\"daily\",\"at\":\"07:30\",\"tz\":\"Mars/Olympus\"}", "\"tz\"");
    assert_true(gw_sched_valid_tz("UTC"));
    assert_true(gw_sched_valid_tz("America/Argentina/Buenos_Aires"));
}

static void test_settings_ranges(void **state)
{
    (void)state;
    vg_err err;
    assert_int_equal(gw_setting_check("heartbeat_ms", 500, &err), VG_OK);
    assert_int_equal(gw_setting_check("heartbeat_ms", 99, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    assert_int_equal(gw_setting_check("metrics_interval", 15, &err), VG_OK);
    assert_int_equal(gw_setting_check("metrics_interval", 7, &err), VG_ERR);
    assert_int_equal(gw_setting_check("nope", 1, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_NOT_FOUND);
    /* Every default is inside its own range, and every setting says who applies it. */
    for (const gw_setting *s = gw_settings; s->name; s++) {
        assert_int_equal(gw_setting_check(s->name, s->def, &err), VG_OK);
        assert_true(s->applies && s->applies[0] && s->doc && s->doc[0]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_daily_in_a_zone),           cmocka_unit_test(test_dst_gap_and_repeat),
        cmocka_unit_test(test_weekly_monthly_once_every), cmocka_unit_test(test_bad_schedules),
        cmocka_unit_test(test_settings_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
