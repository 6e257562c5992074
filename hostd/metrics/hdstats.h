/* hostd's own counters for its Prometheus exposition (metrics/expo.c, docs/monitoring.md):
 * plain additions where the event happens (the console holder, libvirt's error hook, the
 * collection round), read only when scraped. */
#ifndef HDSTATS_H
#define HDSTATS_H

#define HD_ROUND_BOUNDS 8

/* Upper bounds of the round duration histogram, in seconds. */
extern const double hd_round_bounds[HD_ROUND_BOUNDS];

typedef struct hd_stats {
    unsigned long consoles;            /* consoles hostd knows */
    unsigned long consoles_held;       /* of them, with the holder connection up */
    unsigned long long console_bytes;  /* output bytes that entered the rings */
    unsigned long long libvirt_errors; /* errors libvirt reported to this process */
    unsigned long long rounds;         /* collection rounds written to Redis */
    unsigned long long rounds_failed;  /* rounds that failed (libvirt, parse or Redis) */
    unsigned long long round_le[HD_ROUND_BOUNDS];
    double round_seconds_sum; /* from the timer to Redis's answer */
    double round_cpu_seconds; /* hostd's own CPU spent on rounds (the worker's excluded) */
} hd_stats;

extern hd_stats hd_stat;

#endif
