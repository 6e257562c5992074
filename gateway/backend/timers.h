/* Timer runs (docs/api.md "Timers"): every TICK each gateway reads the timers, and for each
 * whose last due occurrence has not run yet, asks gateway_timer_claim.lua for it; the one
 * gateway whose SET NX on the occurrence wins runs it as an ordinary API call (vm.start,
 * env.reboot, …) of the timer's owner, through the dispatcher like any client's call, and
 * writes a `timer` record with its result to the audit trail. */
#ifndef GW_TIMERS_H
#define GW_TIMERS_H

#include "gateway.h"

void gw_timers_start(gw *g);
void gw_timers_stop(gw *g);

#endif
