/* Redis Sentinel for vg_redis: where the master of a given name is, asked of a list of Sentinels
 * in turn (SENTINEL get-master-addr-by-name), and a watch on the Sentinels' +switch-master
 * channel that tells of a failover at once.
 *
 * The Sentinels get AUTH with the Redis password when one is set and its answer is ignored: a
 * Sentinel with the same requirepass as Redis accepts it, one without a password answers the
 * commands behind it all the same. A Sentinel that does not answer within
 * VG_RSENTINEL_TIMEOUT_S is skipped; the one that answered last is asked first next time. */
#ifndef VG_RSENTINEL_H
#define VG_RSENTINEL_H

#include "vg.h"

struct ev_loop;
typedef struct vg_rsentinel vg_rsentinel;

#define VG_RSENTINEL_MAX 16        /* Sentinels in a list */
#define VG_RSENTINEL_TIMEOUT_S 1.0 /* connect + answer of one Sentinel */

/* host is NULL when no Sentinel gave an address (each failure is logged). */
typedef void vg_rsentinel_found_cb(const char *host, int port, void *priv);

/* Checks a list "host:port,host:port,..." (an IPv6 address in brackets: "[::1]:26379"; spaces
 * around entries allowed), 1..VG_RSENTINEL_MAX entries. Errors: VG_E_BAD_REQUEST, naming the
 * entry. */
int vg_rsentinel_check(const char *list, vg_err *err);

/* A master name: 1-255 characters, no white space (it travels in space-separated messages). */
int vg_rsentinel_name_ok(const char *name);

/* Starts the +switch-master watch at once (on_switch gets the new master's address when the
 * Sentinels switched master_name). log_name names the client in log lines; password may be
 * NULL. Errors: those of vg_rsentinel_check, VG_E_BAD_REQUEST for a bad master name,
 * VG_E_INTERNAL (out of memory). */
vg_rsentinel *vg_rsentinel_new(struct ev_loop *loop, const char *log_name, const char *list,
                               const char *master_name, const char *password,
                               vg_rsentinel_found_cb *on_switch, void *priv, vg_err *err);
/* Lookups still running end without their callback. */
void vg_rsentinel_free(vg_rsentinel *s);
/* Asks the Sentinels where the master is; cb runs once, later, never from within this call.
 * VG_ERR (out of memory): cb will not run. */
int vg_rsentinel_locate(vg_rsentinel *s, vg_rsentinel_found_cb *cb, void *priv);
/* host:port, the last lookup's answer, is not the master (it answered ROLE as a replica): the
 * Sentinel that gave it is asked last from now on, so one stale Sentinel cannot send every
 * lookup back to a replica while the others know the master. Any other address: no change. */
void vg_rsentinel_distrust(vg_rsentinel *s, const char *host, int port);

#endif
