/* Console tickets once minted (console.ticket, api_vm.c): redeeming one for /ws/console, and the
 * revocations a redemption in flight must not miss (docs/security.md "Sessions and tickets").
 *
 * A ticket is worth what its session is worth when it is used: gateway_authz.lua (scope ticket)
 * takes it and reads the facts of its session, user and VM in one step, and gw_authz_check
 * decides from them as for an API call. A console redeemed just before its session or its
 * user's access ends would miss the vg:sessions message if that message were handled while
 * the redemption was still on its way: the gateway keeps the last messages (gw_revoked) and a
 * redeemed console looks through those that came in since it sent its ticket. */
#ifndef GW_TICKET_H
#define GW_TICKET_H

#include "vg.h"

#include <stdint.h>

struct redisReply;

typedef struct gw_ticket {
    char user[65], vm[65], dev[65], mode[3];
    char session[65]; /* sha256 of the session that minted it */
    char project[65]; /* the VM's project at redemption, for the audit trail */
} gw_ticket;

/* The answer of gateway_authz.lua in scope ticket. VG_OK when the ticket is well formed, its
 * session still exists and its user may still open the VM's consoles in its mode; otherwise
 * unauthorized (unknown, used or expired ticket, its session ended), forbidden (user frozen, no
 * longer a member, role too low, project deactivated) or not_found (the VM is gone), and out
 * is left empty. */
int gw_ticket_redeem(const struct redisReply *reply, gw_ticket *out, vg_err *err);

/* Payloads of vg:sessions: a session's sha256 (that session ended) or `user:<name>` (the user
 * was frozen, deleted or lost access). Longer ones name nobody. */
#define GW_REVOKED_MSG 72
#define GW_REVOKED_KEEP 64 /* far more than arrive while one ticket is redeemed */

typedef enum gw_revoked_kind {
    GW_REVOKED_NONE,
    GW_REVOKED_SESSION, /* the session that minted the ticket ended */
    GW_REVOKED_USER,    /* the user's access ended */
} gw_revoked_kind;

/* The last GW_REVOKED_KEEP vg:sessions messages; count is how many arrived in all, so a
 * redemption notes it when it sends its ticket. */
typedef struct gw_revoked {
    uint64_t count;
    char msg[GW_REVOKED_KEEP][GW_REVOKED_MSG];
} gw_revoked;

void gw_revoked_add(gw_revoked *r, const char *msg, size_t len);
/* What msg ends for a console of user opened through session ("" for not known yet). */
gw_revoked_kind gw_revoked_match(const char *msg, const char *user, const char *session);
/* What the messages since mark (an earlier count) end for that console. When some of them
 * were already overwritten it cannot tell and answers GW_REVOKED_USER. */
gw_revoked_kind gw_revoked_since(const gw_revoked *r, uint64_t mark, const char *user,
                                 const char *session);

#endif
