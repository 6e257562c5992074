/* The RPC methods gateways may call on /link/api (docs/protocol.md §4), by name. */
#include "libvirt/vmops.h"

const rpc_method hd_vmops_methods[] = {
    {"vm.define", hd_vmops_define},
    {"vm.undefine", hd_vmops_undefine},
    {"vm.xml", hd_vmops_xml},
    {"vm.start", hd_vmops_start},
    {"vm.destroy", hd_vmops_destroy},
    {"vm.reboot", hd_vmops_reboot},
    {"vm.reset", hd_vmops_reset},
    {"vm.suspend", hd_vmops_suspend},
    {"vm.resume", hd_vmops_resume},
    {"vm.shutdown", hd_vmops_shutdown},
    {"vm.save", hd_vmops_save},
    {"vm.restore", hd_vmops_restore},
    {"vm.cdrom", hd_vmops_cdrom},
    {"vm.autostart", hd_vmops_autostart},
    {"vm.probe", hd_vmops_probe},
    {"vm.migrate", hd_vmops_migrate},
    {"snapshot.create", hd_vmops_snapshot_create},
    {"snapshot.list", hd_vmops_snapshot_list},
    {"snapshot.revert", hd_vmops_snapshot_revert},
    {"snapshot.delete", hd_vmops_snapshot_delete},
    {"host.info", hd_vmops_host_info},
    {NULL, NULL},
};
