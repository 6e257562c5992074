/* libvirt's event loop implemented on the process's libev loop (virEventRegisterImpl), so
 * domain events, keepalives and the connection's close callback run in our one loop. */
#ifndef VIRT_EV_H
#define VIRT_EV_H

#include <ev.h>

/* Must be called once, before the first virConnectOpen. */
void hd_virt_ev_register(struct ev_loop *loop);
/* Releases the bookkeeping of handles and timeouts libvirt has removed. */
void hd_virt_ev_cleanup(void);

/* libvirt's client reads its connection's socket whenever it is readable and queues every
 * stream packet it finds, without bound (virStreamRecv then just takes from that queue). A
 * connection of its own for a stream can be held instead: the handles libvirt adds from a
 * mark on (one loop, no threads: those of the connections opened since) stop reading while
 * held; writing goes on. */
int hd_virt_ev_mark(void);
/* Holds (hold 1) or releases the reading of the handles with ids in [from, to). */
void hd_virt_ev_hold(int from, int to, int hold);

#endif
