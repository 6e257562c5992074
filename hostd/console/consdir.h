/* The console directory convention (C1): a socket named <prefix>-<vm>.sock in console_dir is
 * a console of VM <vm> even when libvirt does not describe it (com- is serial0, hvc- is
 * console1, any other prefix is its own device name). The directory is watched with inotify,
 * and a socket appearing there also makes every waiting console try to connect at once. */
#ifndef CONSDIR_H
#define CONSDIR_H

#include "vg.h"
#include "libvirt/vms.h"

#include <ev.h>

int hd_consdir_start(struct ev_loop *loop, const char *dir, vg_err *err);
void hd_consdir_stop(void);
/* Splits a file name into VM and device; returns 0 when it does not follow the convention. */
int hd_consdir_parse_name(const char *file, dir_socket *out);

#endif
