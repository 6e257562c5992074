#include "vg_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static vg_log_level min_level = VG_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void vg_log_set_level(vg_log_level level)
{
    min_level = level;
}

int vg_log_level_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

static void emit(vg_log_level level, const char *component, const char *msg, size_t len)
{
    struct timespec ts;
    struct tm tm;
    char stamp[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    while (len && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
        len--;
    fprintf(stderr, "%s.%03ldZ %-5s %s: %.*s\n", stamp, ts.tv_nsec / 1000000, level_names[level],
            component, (int)len, msg);
}

void vg_log(vg_log_level level, const char *component, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    emit(level, component, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
}

void vg_log_lws(int lws_level, const char *line)
{
    /* lws levels: 1 err, 2 warn, 4 notice, 8 info, 16 debug ... */
    vg_log_level level = lws_level & 1 ? VG_LOG_ERROR : lws_level & 2 ? VG_LOG_WARN : VG_LOG_DEBUG;
    if (level < min_level)
        return;
    emit(level, "lws", line, strlen(line));
}
