#include "backend/bus.h"

#include "vg_json.h"
#include "vg_log.h"
#include "vg_redis.h"

#include <cjson/cJSON.h>
#include <string.h>

static void event_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw *g = priv;
    const char *payload;
    size_t len;
    if (!vg_redis_message(reply, "vg:events", &payload, &len))
        return;
    cJSON *data = vg_json_parse(payload, len, NULL);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(data, "type");
    if (!cJSON_IsObject(data) || !cJSON_IsString(type)) {
        vg_warn("events", "ignoring a vg:events message that is not a JSON object with a type");
        cJSON_Delete(data);
        return;
    }
    gw_event ev = {.kind = GW_EVENT_NOTICE, .type = type->valuestring, .data = data};
    gw_events_publish(&g->events, &ev);
    cJSON_Delete(data);
}

/* Payload: a session's sha256 (that session ended) or `user:<name>` (the user was frozen,
 * deleted or lost access: all their consoles and API WebSockets close). */
static void session_ended_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw *g = priv;
    const char *msg;
    size_t len;
    if (!vg_redis_message(reply, "vg:sessions", &msg, &len))
        return;
    gw_revoked_add(&g->revoked, msg, len);
    gw_event ev = {.kind = GW_EVENT_REVOKED,
                   .revoked = msg,
                   .user = !strncmp(msg, "user:", 5) ? msg + 5 : NULL};
    gw_events_publish(&g->events, &ev);
}

void gw_bus_subscribe(vg_redis *r, void *priv)
{
    if (vg_redis_subscribe(r, "vg:events", event_cb, priv) != VG_OK)
        vg_error("events", "cannot subscribe to vg:events");
    if (vg_redis_subscribe(r, "vg:sessions", session_ended_cb, priv) != VG_OK)
        vg_error("events", "cannot subscribe to vg:sessions");
}
