/* libvirt's event loop implemented on the process's libev loop (virEventRegisterImpl), so
 * domain events, keepalives and the connection's close callback run in our one loop. */
#ifndef VIRT_EV_H
#define VIRT_EV_H

#include <ev.h>

/* Must be called once, before the first virConnectOpen. */
void hd_virt_ev_register(struct ev_loop *loop);
/* Releases the bookkeeping of handles and timeouts libvirt has removed. */
void hd_virt_ev_cleanup(void);

#endif
