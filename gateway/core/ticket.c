#include "core/ticket.h"

#include "api/api_int.h"
#include "core/authz.h"
#include "vg_util.h"

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

static int field(const cJSON *t, const char *name, char *dst, size_t size)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(t, name);
    if (!cJSON_IsString(f) || strlen(f->valuestring) >= size)
        return VG_ERR;
    strcpy(dst, f->valuestring);
    return VG_OK;
}

static int parse(const char *json, gw_ticket *t)
{
    cJSON *o = cJSON_Parse(json);
    int ok = o && field(o, "user", t->user, sizeof(t->user)) == VG_OK &&
             field(o, "vm", t->vm, sizeof(t->vm)) == VG_OK &&
             field(o, "dev", t->dev, sizeof(t->dev)) == VG_OK &&
             field(o, "mode", t->mode, sizeof(t->mode)) == VG_OK &&
             field(o, "session", t->session, sizeof(t->session)) == VG_OK &&
             vg_valid_name(t->user) && vg_valid_name(t->vm) && vg_valid_name(t->dev) &&
             (!strcmp(t->mode, "rw") || !strcmp(t->mode, "ro")) && t->session[0];
    cJSON_Delete(o);
    return ok ? VG_OK : VG_ERR;
}

int gw_ticket_redeem(const redisReply *reply, gw_ticket *out, vg_err *err)
{
    memset(out, 0, sizeof(*out));
    gw_ticket t = {0};
    gw_authz_subject s;
    /* {} means the ticket or its session is gone: the script does not say which, and the
     * client has the same remedy for both. */
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 8 ||
        parse(gw_reply_str(reply, 7), &t) != VG_OK || gw_authz_facts(reply, t.vm, &s) != VG_OK ||
        strcmp(s.user, t.user) != 0)
        return vg_fail(err, VG_E_UNAUTHORIZED,
                       "the ticket is unknown, used or expired, or its session ended");
    int rw = !strcmp(t.mode, "rw");
    if (gw_authz_check(rw ? "console.ticket mode=rw" : "console.ticket mode=ro", GW_SCOPE_VM,
                       rw ? GW_LEVEL_OPERATOR : GW_LEVEL_VIEWER, &s, err) != VG_OK)
        return VG_ERR;
    snprintf(t.project, sizeof(t.project), "%s", s.project);
    *out = t;
    return VG_OK;
}

void gw_revoked_add(gw_revoked *r, const char *msg, size_t len)
{
    if (len >= GW_REVOKED_MSG)
        return;
    char *slot = r->msg[r->count % GW_REVOKED_KEEP];
    memcpy(slot, msg, len);
    slot[len] = '\0';
    r->count++;
}

gw_revoked_kind gw_revoked_match(const char *msg, const char *user, const char *session)
{
    if (!strncmp(msg, "user:", 5))
        return user[0] && !strcmp(msg + 5, user) ? GW_REVOKED_USER : GW_REVOKED_NONE;
    return session[0] && !strcmp(msg, session) ? GW_REVOKED_SESSION : GW_REVOKED_NONE;
}

gw_revoked_kind gw_revoked_since(const gw_revoked *r, uint64_t mark, const char *user,
                                 const char *session)
{
    if (r->count - mark > GW_REVOKED_KEEP)
        return GW_REVOKED_USER;
    gw_revoked_kind worst = GW_REVOKED_NONE;
    for (uint64_t i = mark; i < r->count; i++) {
        gw_revoked_kind k = gw_revoked_match(r->msg[i % GW_REVOKED_KEEP], user, session);
        if (k > worst)
            worst = k;
    }
    return worst;
}
