/* Runtime settings (M15, docs/operations.md "Runtime settings"): the one table of what
 * settings.set may change in vg:settings without a restart — name, range, default, who reads
 * it and a doc line. Everything else is a configuration file option and needs a restart. */
#ifndef GW_SETTINGS_H
#define GW_SETTINGS_H

#include "vg.h"

typedef struct gw_setting {
    const char *name;
    long long min, max;
    long long def;       /* when vg:settings has no value (hostd and gateway options: their own) */
    const char *applies; /* who reads it, and when the change takes effect */
    const char *doc;
} gw_setting;

/* The table, ending with {NULL}. */
extern const gw_setting gw_settings[];

const gw_setting *gw_setting_find(const char *name);
/* A known name and a value in its range (and whatever else the setting needs: metrics_interval
 * divides 60); bad_request or not_found otherwise. */
int gw_setting_check(const char *name, long long value, vg_err *err);

#endif
