#include "core/timersched.h"

#include <cjson/cJSON.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ZONEINFO "/usr/share/zoneinfo/"

int gw_sched_valid_tz(const char *tz)
{
    size_t n = strlen(tz);
    if (!n || n >= sizeof(((gw_sched *)0)->tz) || tz[0] == '/' || strstr(tz, ".."))
        return 0;
    for (const char *p = tz; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              strchr("/_+-", *p)))
            return 0;
    char path[sizeof(ZONEINFO) + 64];
    snprintf(path, sizeof(path), ZONEINFO "%s", tz);
    return access(path, R_OK) == 0;
}

static const char *str_of(const cJSON *t, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(t, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int int_of(const cJSON *t, const char *k, int def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(t, k);
    return cJSON_IsNumber(v) ? (int)v->valuedouble : def;
}

int gw_sched_parse(const cJSON *t, gw_sched *s, vg_err *err)
{
    static const char *const kinds[] = {"once", "daily", "weekly", "monthly", "every"};
    memset(s, 0, sizeof(*s));
    const char *kind = str_of(t, "schedule"), *at = str_of(t, "at"), *tz = str_of(t, "tz");
    size_t k = 0;
    while (k < 5 && (!kind || strcmp(kind, kinds[k])))
        k++;
    if (k == 5)
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "\"schedule\" must be once|daily|weekly|monthly|every");
    s->kind = (gw_sched_kind)k;
    if (!tz)
        tz = "UTC";
    if (!gw_sched_valid_tz(tz))
        return vg_fail(err, VG_E_BAD_REQUEST, "\"tz\": unknown time zone \"%.64s\"", tz);
    snprintf(s->tz, sizeof(s->tz), "%s", tz);
    if (s->kind == GW_SCHED_EVERY) {
        s->every_min = int_of(t, "every_min", 0);
        if (s->every_min < 1)
            return vg_fail(err, VG_E_BAD_REQUEST, "\"every_min\" is required with schedule every");
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(t, "anchor_ms");
        s->anchor_ms = cJSON_IsNumber(a) ? (int64_t)a->valuedouble : 0;
        return VG_OK;
    }
    char end;
    if (s->kind == GW_SCHED_ONCE) {
        if (!at ||
            sscanf(at, "%4d-%2d-%2dT%2d:%2d%c", &s->year, &s->mon, &s->mday, &s->hour, &s->min,
                   &end) != 5 ||
            s->mon < 1 || s->mon > 12 || s->mday < 1 || s->mday > 31 || s->year < 1970 ||
            s->year > 9999)
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "\"at\" must be a local \"YYYY-MM-DDTHH:MM\" with schedule once");
    } else if (!at || sscanf(at, "%2d:%2d%c", &s->hour, &s->min, &end) != 2) {
        return vg_fail(err, VG_E_BAD_REQUEST, "\"at\" must be a local \"HH:MM\" with schedule %s",
                       kind);
    }
    if (s->hour < 0 || s->hour > 23 || s->min < 0 || s->min > 59)
        return vg_fail(err, VG_E_BAD_REQUEST, "\"at\": no such time of day");
    s->weekday = int_of(t, "weekday", -1);
    if (s->kind == GW_SCHED_WEEKLY && (s->weekday < 0 || s->weekday > 6))
        return vg_fail(err, VG_E_BAD_REQUEST, "\"weekday\" (0-6) is required with schedule weekly");
    s->day = int_of(t, "day", 0);
    if (s->kind == GW_SCHED_MONTHLY && (s->day < 1 || s->day > 31))
        return vg_fail(err, VG_E_BAD_REQUEST, "\"day\" (1-31) is required with schedule monthly");
    return VG_OK;
}

/* TZ is set for the computation and put back after, so the process' own local time (its
 * logs) does not change. */
typedef struct tzsave {
    char *old;
    int had;
} tzsave;

static void tz_enter(const gw_sched *s, tzsave *sv)
{
    const char *o = getenv("TZ");
    sv->had = o != NULL;
    sv->old = o ? strdup(o) : NULL;
    setenv("TZ", s->tz, 1);
    tzset();
}

static void tz_leave(tzsave *sv)
{
    if (sv->had && sv->old)
        setenv("TZ", sv->old, 1);
    else
        unsetenv("TZ");
    free(sv->old);
    tzset();
}

static int days_in(int year, int mon0)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return d[mon0] + (mon0 == 1 && leap);
}

/* The occurrence of the period k periods after the one holding local time `now` (a day, a
 * week or a month); mktime with tm_isdst = -1 lets the zone decide daylight saving time. */
static int64_t candidate(const gw_sched *s, const struct tm *now, int k)
{
    struct tm t = {0};
    t.tm_year = now->tm_year;
    t.tm_mon = now->tm_mon;
    t.tm_mday = now->tm_mday;
    if (s->kind == GW_SCHED_DAILY) {
        t.tm_mday += k;
    } else if (s->kind == GW_SCHED_WEEKLY) {
        t.tm_mday += k * 7 + (s->weekday - now->tm_wday);
    } else {
        t.tm_mon += k;
        t.tm_year += t.tm_mon >= 0 ? t.tm_mon / 12 : -((11 - t.tm_mon) / 12);
        t.tm_mon = ((t.tm_mon % 12) + 12) % 12;
        int last = days_in(t.tm_year + 1900, t.tm_mon);
        t.tm_mday = s->day < last ? s->day : last;
    }
    t.tm_hour = s->hour;
    t.tm_min = s->min;
    t.tm_isdst = -1;
    time_t e = mktime(&t);
    return e == (time_t)-1 ? -1 : (int64_t)e * 1000;
}

static int64_t around(const gw_sched *s, int64_t now_ms, int after)
{
    if (s->kind == GW_SCHED_EVERY) {
        int64_t p = (int64_t)s->every_min * 60000;
        if (now_ms < s->anchor_ms)
            return after ? s->anchor_ms : -1;
        int64_t prev = s->anchor_ms + (now_ms - s->anchor_ms) / p * p;
        return after ? prev + p : prev;
    }
    tzsave sv;
    tz_enter(s, &sv);
    int64_t r = -1;
    if (s->kind == GW_SCHED_ONCE) {
        struct tm t = {.tm_year = s->year - 1900,
                       .tm_mon = s->mon - 1,
                       .tm_mday = s->mday,
                       .tm_hour = s->hour,
                       .tm_min = s->min,
                       .tm_isdst = -1};
        time_t e = mktime(&t);
        if (e != (time_t)-1 && (after ? (int64_t)e * 1000 > now_ms : (int64_t)e * 1000 <= now_ms))
            r = (int64_t)e * 1000;
    } else {
        time_t now = (time_t)(now_ms / 1000);
        struct tm lt;
        localtime_r(&now, &lt);
        for (int k = after ? -1 : 1; after ? k <= 2 : k >= -2; k += after ? 1 : -1) {
            int64_t c = candidate(s, &lt, k);
            if (c >= 0 && (after ? c > now_ms : c <= now_ms)) {
                r = c;
                break;
            }
        }
    }
    tz_leave(&sv);
    return r;
}

int64_t gw_sched_prev(const gw_sched *s, int64_t now_ms)
{
    return around(s, now_ms, 0);
}

int64_t gw_sched_next(const gw_sched *s, int64_t now_ms)
{
    return around(s, now_ms, 1);
}
