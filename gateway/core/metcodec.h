/* metrics.query's answer made from the stored records (docs/redis.md "Metrics"):
 * redis-scripts/gateway_metrics_query.lua picks the tier and answers its records as stored;
 * here they are decoded, combined into the asked step and printed. 7 days at 1-minute steps are
 * 121,000 values: ~0.3 s as Lua tables and cjson, ~2 ms here. The codec is lib/prelude.lua's
 * (met_encode, met_decode, met_unpack, met_rollup): a change there is a change here. */
#ifndef METCODEC_H
#define METCODEC_H

#include "vg.h"

#include <cjson/cJSON.h>
#include <stddef.h>

/* head as the script answers it, recs its records. Returns the JSON text of the answer
 * {"tier", "step", "t": [...], "series": {name: {"min", "avg", "max"}}} (caller frees), or NULL
 * with err (internal: a head or records that do not fit together, or out of memory). */
char *gw_metcodec_answer(const cJSON *head, const unsigned char *recs, size_t len, vg_err *err);

#endif
