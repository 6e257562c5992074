/* One change carried to several hosts in turn (networks on a host group, filters on every host
 * a project's VMs run on): a list of hostd calls run one after the other, and for each an
 * optional undo call. When a call is refused, the undo calls of the calls that succeeded run
 * (newest first) and then the call ends with the refusal, so a refused change leaves every
 * host as it was. */
#ifndef GW_API_FANOUT_H
#define GW_API_FANOUT_H

#include "api/api_int.h"

typedef struct gw_fanout gw_fanout;
/* err NULL: every call succeeded; results is [{host, result}] in call order. */
typedef void gw_fanout_done(gw_fanout *f, const cJSON *results, const vg_err *err);

/* Starts an empty list for call c; NULL when out of memory (the call has been failed). The list
 * is freed after done returns. */
gw_fanout *gw_fanout_new(gw_call *c, long timeout_ms);
/* Appends host ← method(params); undo_method(undo_params) reverses it (NULL: nothing to undo).
 * Takes both params. */
void gw_fanout_add(gw_fanout *f, const char *host, const char *method, cJSON *params,
                   const char *undo_method, cJSON *undo_params);
/* Runs the list; done runs exactly once. priv is for done (gw_fanout_priv). */
void gw_fanout_run(gw_fanout *f, gw_fanout_done *done, void *priv);
void *gw_fanout_priv(const gw_fanout *f);
gw_call *gw_fanout_call(const gw_fanout *f);

#endif
