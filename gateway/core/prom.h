/* The gateway's own counters for the Prometheus exposition at /metrics (docs/monitoring.md):
 * API calls by method and result and their latency histogram, console connections, viewers by
 * state, links to hostd, bytes relayed, Redis round trips. Counting is a few additions on the
 * loop; gauges are counted and the text rendered only when scraped. */
#ifndef GW_PROM_H
#define GW_PROM_H

#include "vg.h"

typedef struct gw gw;

/* While /metrics is scraped (until 5 min after the last scrape), reads the latest values of every
 * VM and host every 10 s (gateway_metrics_latest.lua) and keeps them rendered as gauges, so a
 * scrape answers from memory at once; the first scrape after a quiet spell starts the reads. */
void gw_prom_start(gw *g);
void gw_prom_stop(gw *g);
/* The whole exposition (counters, the gateway's connections and the last gauges of VMs and
 * hosts); NULL when out of memory. */
char *gw_prom_text(gw *g);

/* Appends the counters in the text exposition format to out (a growing string, *len bytes);
 * returns VG_ERR when out of memory. */
int gw_prom_render(char **out, size_t *len);
/* printf onto a growing string, for the renderers of /metrics. */
int gw_prom_printf(char **out, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
