/* One line per event on stderr: time, level, component, message (O4). */
#ifndef VG_LOG_H
#define VG_LOG_H

typedef enum vg_log_level { VG_LOG_DEBUG, VG_LOG_INFO, VG_LOG_WARN, VG_LOG_ERROR } vg_log_level;

void vg_log_set_level(vg_log_level level);
/* Accepts debug, info, warn, error; returns -1 for anything else. */
int vg_log_level_parse(const char *name);
void vg_log(vg_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Routes libwebsockets' own log lines through vg_log (pass to lws_set_log_level). */
void vg_log_lws(int lws_level, const char *line);

#define vg_debug(comp, ...) vg_log(VG_LOG_DEBUG, comp, __VA_ARGS__)
#define vg_info(comp, ...) vg_log(VG_LOG_INFO, comp, __VA_ARGS__)
#define vg_warn(comp, ...) vg_log(VG_LOG_WARN, comp, __VA_ARGS__)
#define vg_error(comp, ...) vg_log(VG_LOG_ERROR, comp, __VA_ARGS__)

#endif
