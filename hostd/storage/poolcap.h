/* Whether this host can run a pool type at all, asked before libvirt is: libvirt's storage
 * driver for the type must be installed, and the tools and kernel parts libvirt relies on for
 * it must be there (NFS mounts, LVM with device-mapper, the iSCSI initiator). A host that cannot
 * answers `unsupported` naming what is missing, instead of libvirt's error from halfway through
 * building the pool. */
#ifndef HD_POOLCAP_H
#define HD_POOLCAP_H

#include "vg_poolspec.h"

#include <libvirt/libvirt.h>

/* VG_OK, or VG_ERR with `unsupported` saying what this host lacks for s's type. */
int hd_poolcap_check(virConnectPtr c, const vg_poolspec *s, vg_err *err);

#endif
