/* When a timer fires (docs/api.md "Timers"): its schedule parsed from the stored JSON and the
 * occurrences around a moment. Pure but for the time-zone database: local times are read with
 * the C library's tz handling (TZ set for the computation, localtime_r and mktime), which is
 * process-wide, so this is only called from the event loop (the gateway's one other thread
 * pool, kdf.c, never reads local time). */
#ifndef GW_TIMERSCHED_H
#define GW_TIMERSCHED_H

#include "vg.h"

#include <stdint.h>

struct cJSON;

typedef enum gw_sched_kind {
    GW_SCHED_ONCE,
    GW_SCHED_DAILY,
    GW_SCHED_WEEKLY,
    GW_SCHED_MONTHLY,
    GW_SCHED_EVERY
} gw_sched_kind;

typedef struct gw_sched {
    gw_sched_kind kind;
    int year, mon, mday; /* once: the local date (mon 1-12) */
    int hour, min;       /* once, daily, weekly, monthly: the local time */
    int weekday;         /* weekly: 0 = Sunday */
    int day;             /* monthly: 1-31, the month's last day in shorter months */
    int every_min;       /* every: the period */
    int64_t anchor_ms;   /* every: occurrences are anchor + k × period */
    char tz[64];         /* an IANA name, "UTC" by default */
} gw_sched;

/* 1 when tz names a zone of the system's database (a relative path below
 * /usr/share/zoneinfo without ".."). */
int gw_sched_valid_tz(const char *tz);
/* Reads schedule, at, weekday, day, every_min, tz and anchor_ms from a timer's JSON, checking
 * each against the schedule (bad_request naming the field). */
int gw_sched_parse(const struct cJSON *t, gw_sched *s, vg_err *err);
/* The last occurrence at or before now_ms, or -1 when none. */
int64_t gw_sched_prev(const gw_sched *s, int64_t now_ms);
/* The first occurrence after now_ms, or -1 when none (a once timer in the past). */
int64_t gw_sched_next(const gw_sched *s, int64_t now_ms);

#endif
