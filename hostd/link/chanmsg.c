#include "link/chanmsg.h"

#include "vg_jfield.h"
#include "vg_json.h"

#include <cjson/cJSON.h>
#include <string.h>

static int parse_join(const cJSON *msg, hd_chanmsg *out, vg_err *err)
{
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(msg, "user");
    const char *mode = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "mode"));
    if (!mode || (strcmp(mode, "rw") && strcmp(mode, "ro")))
        return vg_fail(err, VG_E_BAD_REQUEST, "a join without mode rw or ro");
    if (user && !cJSON_IsNull(user)) {
        /* cut to the member's 64 bytes it could end inside a character of every notice */
        if (!cJSON_IsString(user) || strlen(user->valuestring) >= sizeof(out->user) ||
            !vg_jf_text_ok(user->valuestring, 0))
            return vg_fail(err, VG_E_BAD_REQUEST, "a join whose user is no text of 64 bytes");
        strcpy(out->user, user->valuestring);
    }
    out->rw = !strcmp(mode, "rw");
    out->take = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "take"));
    out->rec_input = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "rec_input"));
    return VG_OK;
}

int hd_chanmsg_parse(const unsigned char *in, size_t len, hd_chanmsg *out, vg_err *err)
{
    memset(out, 0, sizeof(*out));
    cJSON *msg = vg_json_parse((const char *)in, len, err);
    if (!msg)
        return VG_ERR;
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "type"));
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(msg, "tag");
    int rc;
    if (!type || !cJSON_IsNumber(t) || t->valuedouble < 0 || t->valuedouble > UINT32_MAX ||
        t->valuedouble != (double)(uint32_t)t->valuedouble) {
        rc = vg_fail(err, VG_E_BAD_REQUEST, "a message without type or tag");
    } else if (!strcmp(type, "join")) {
        out->type = HD_CHANMSG_JOIN;
        out->tag = (uint32_t)t->valuedouble;
        rc = parse_join(msg, out, err);
    } else if (!strcmp(type, "leave")) {
        out->type = HD_CHANMSG_LEAVE;
        out->tag = (uint32_t)t->valuedouble;
        rc = VG_OK;
    } else {
        rc = vg_fail(err, VG_E_BAD_REQUEST, "an unknown message type");
    }
    cJSON_Delete(msg);
    return rc;
}
