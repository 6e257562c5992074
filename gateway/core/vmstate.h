/* Which VM states an action may start from (docs/api.md "Lifecycle" shows the same table): the
 * gateway refuses with `conflict` before it asks the host, so a client learns why at once. */
#ifndef GW_CORE_VMSTATE_H
#define GW_CORE_VMSTATE_H

/* Pure: 1 when action may run on a VM in state; an unknown state or action lets hostd decide. */
int gw_vm_state_allows(const char *action, const char *state);

#endif
