/* The libvirt connection: discovers every domain and its consoles (C1) and keeps vms.c in
 * step. Lifecycle events trigger a rediscovery at once; a full resync also runs on every
 * (re)connect and periodically. A lost connection (libvirtd restart) is retried on a timer. */
#ifndef VIRT_H
#define VIRT_H

#include "vg.h"

#include <ev.h>
#include <libvirt/libvirt.h>

int hd_virt_start(struct ev_loop *loop, const char *uri, vg_err *err);
/* Schedules a resync soon (a console socket appeared or vanished). */
void hd_virt_poke(void);
void hd_virt_stop(void);
/* cb hears of every domain that stopped without being asked to: libvirt's lifecycle event
 * "stopped, failed" (QEMU died: reason "failed"), "stopped, crashed" or "crashed" (a guest
 * panic: reason "crashed"). */
void hd_virt_set_crashed_cb(void (*cb)(const char *vm, const char *reason));
/* The URI hostd connects to (for a connection of one's own), NULL before hd_virt_start. */
const char *hd_virt_uri(void);
/* The live connection for management calls, or NULL while libvirt is (re)connecting. */
virConnectPtr hd_virt_conn(void);
/* running, paused, shutoff ... for a virDomainState. */
const char *hd_virt_state_name(int state);

#endif
