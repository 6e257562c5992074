/* The VMs of this host and their consoles, merged from two sources: libvirt's domains
 * (virt.c, the truth for what is defined and running) and the console directory convention
 * (consdir.c, sockets named <prefix>-<vm>.sock that libvirt does not describe). Each source
 * replaces its whole view at once; vms.c reconciles the console objects with the union, so a
 * console lives as long as some source names it and keeps its viewers through VM restarts. */
#ifndef VMS_H
#define VMS_H

#include "console/console.h"
#include "libvirt/domxml.h"
#include "vg.h"

/* One domain as libvirt describes it. */
typedef struct vm_entry {
    domxml_info info;
    const char *state; /* running, paused, shutoff, ... (static strings) */
    int autostart;
} vm_entry;

typedef struct dir_socket {
    char vm[65];
    char dev[32];
    char path[DOMXML_PATH_MAX];
} dir_socket;

typedef struct vms_vm vms_vm;

/* Restricts the VMs this hostd manages to names matching one of the comma-separated shell
 * patterns (fnmatch), so several hostds can share one libvirt without fighting over the one
 * client each console socket serves. NULL or "*" manages everything. */
int hd_vms_set_filter(const char *patterns, vg_err *err);
/* Whether the filter lets this hostd manage a domain of that name. */
int hd_vms_wanted(const char *name);
/* Called after any change of the VM set, a VM's state or its consoles. */
void hd_vms_set_changed_cb(void (*cb)(void));
void hd_vms_sync_virt(const vm_entry *vms, size_t n);
void hd_vms_sync_dir(const dir_socket *socks, size_t n);
/* Tries every disconnected console now (a socket file appeared). */
void hd_vms_kick_all(void);
void hd_vms_save_all(void);
void hd_vms_free_all(void);

console *hd_vms_console(const char *vm, const char *dev);
/* Iteration for the registry: VMs in no particular order. */
vms_vm *hd_vms_first(void);
vms_vm *hd_vms_next(const vms_vm *v);
const char *hd_vms_name(const vms_vm *v);
const char *hd_vms_uuid(const vms_vm *v);
const char *hd_vms_state(const vms_vm *v);
/* From the domain definition; 0 for a VM only the console directory knows. */
int hd_vms_vcpus(const vms_vm *v);
long long hd_vms_memory_mib(const vms_vm *v);
int hd_vms_autostart(const vms_vm *v);
size_t hd_vms_nconsoles(const vms_vm *v);
const console *hd_vms_console_at(const vms_vm *v, size_t i);

#endif
