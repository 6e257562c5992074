/* What a VM spec may ask for, by role, beyond its own syntax (vg_domspec.h): raw domain XML is for
 * administrators (it can reach any host resource), and a kernel or initrd for direct kernel boot
 * must come from one of the boot_dirs unless an administrator asks (libvirt hands those host
 * files to QEMU). Pure, unit-tested. */
#ifndef GW_VMPOLICY_H
#define GW_VMPOLICY_H

#include "vg.h"
#include "vg_domspec.h"

/* boot_dirs: comma-separated absolute directories, NULL or "" for none. VG_OK when allowed, else
 * forbidden naming the field. */
int gw_vmpolicy_check(const vg_spec *spec, int admin, const char *boot_dirs, vg_err *err);

#endif
