/* Key names of vm.sendkey (C13, docs/api.md "vm.sendkey") as Linux input keycodes, the code set
 * libvirt's virDomainSendKey takes as VIR_KEYCODE_SET_LINUX. The names are those of libvirt's
 * linux keymap (and <linux/input-event-codes.h>): KEY_LEFTCTRL, KEY_F1, KEY_A ... Pure, so the
 * table and the shortcuts are unit-tested. */
#ifndef GW_KEYS_H
#define GW_KEYS_H

#include "vg.h"

/* libvirt's VIR_DOMAIN_SEND_KEY_MAX_KEYS: keys pressed together at most. */
#define GW_KEYS_MAX 16

/* The keycode of a KEY_* name, -1 for a name not in the table. */
int gw_key_code(const char *name);
/* The keys of one vm.sendkey: n names, each a KEY_* name, or a single shortcut
 * (`ctrl-alt-del`, `sysrq-<letter or digit>`). Fills codes (GW_KEYS_MAX) and *count.
 * bad_request for an empty list, too many keys, an unknown name or a shortcut with other keys;
 * unsupported for `break` (a serial break, which libvirt has no call for). */
int gw_keys_resolve(const char *const *names, int n, int *codes, int *count, vg_err *err);

#endif
