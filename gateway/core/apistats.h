/* Counters of API calls by method and result with a latency histogram, kept by the dispatcher
 * and read by the Prometheus exposition (core/prom.c). Counting is a few additions on the loop.
 * A method is known by its index: 0 for an unknown method, i + 1 for the i-th method of
 * gw_api_next's order. */
#ifndef GW_CORE_APISTATS_H
#define GW_CORE_APISTATS_H

#include "vg.h"

#include <stddef.h>

#define GW_APISTATS_METHODS 256 /* more than every table holds; later ones count as "other" */
#define GW_APISTATS_CODES (VG_E_LAST + 1)
#define GW_APISTATS_BOUNDS 12

/* Upper bounds of the latency buckets, in seconds. */
extern const double gw_apistats_bounds[GW_APISTATS_BOUNDS];

typedef struct gw_apistats {
    unsigned long long calls[GW_APISTATS_CODES]; /* by vg_err_code, VG_E_NONE = success */
    unsigned long long le[GW_APISTATS_BOUNDS];
    unsigned long long count;
    double sum;
} gw_apistats;

void gw_apistats_record(size_t method, vg_err_code code, double seconds);
/* method past GW_APISTATS_METHODS reads as "other" (index 0). */
const gw_apistats *gw_apistats_get(size_t method);

#endif
