#include "api/api_json.h"

#include "vg_log.h"

#include <string.h>

static int listed(const char *key, const char *const *names)
{
    for (; key && *names; names++)
        if (!strcmp(key, *names))
            return 1;
    return 0;
}

static void fix_arrays(cJSON *node, const char *const *arrays)
{
    for (cJSON *it = node ? node->child : NULL; it; it = it->next) {
        if (cJSON_IsObject(it) && !it->child && listed(it->string, arrays)) {
            /* Same node, new type: keeps its place and key in the parent. */
            it->type = cJSON_Array;
            continue;
        }
        fix_arrays(it, arrays);
    }
}

cJSON *gw_call_json(gw_call *c, const redisReply *reply, const char *const *arrays)
{
    const redisReply *e =
        reply && reply->type == REDIS_REPLY_ARRAY && reply->elements > 1 ? reply->element[1] : NULL;
    cJSON *j = e && e->type == REDIS_REPLY_STRING ? cJSON_ParseWithLength(e->str, e->len) : NULL;
    if (!j) {
        vg_error("api", "%s: a script answered without JSON", c->req.method);
        gw_call_fail(c, VG_E_INTERNAL, "unexpected answer from Redis");
        return NULL;
    }
    fix_arrays(j, arrays);
    return j;
}

void gw_call_answer_json(gw_call *c, redisReply *reply, const char *const *arrays)
{
    if (!gw_call_lua_ok(c, reply))
        return;
    cJSON *res = gw_call_json(c, reply, arrays);
    if (res)
        gw_call_succeed(c, res);
}
