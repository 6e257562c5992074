/* Results that a gateway Lua script builds as JSON ({'ok', '<json>'}, see gw_call_lua_ok).
 * Redis' cjson encodes an empty Lua table as {}, so the fields that are lists are named and
 * turned back into []. */
#ifndef GW_API_JSON_H
#define GW_API_JSON_H

#include "api/api_int.h"

/* After gw_call_lua_ok: the JSON in element 1 with every empty object whose key is in the
 * NULL-terminated list `arrays` (at any depth) made an empty array. NULL when it is not JSON:
 * the call has then ended with `internal`. */
cJSON *gw_call_json(gw_call *c, const redisReply *reply, const char *const *arrays);
/* Ends the call with the script's answer: its error, or its JSON (as gw_call_json) as result. */
void gw_call_answer_json(gw_call *c, redisReply *reply, const char *const *arrays);

#endif
