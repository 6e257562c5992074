/* vm.sendkey (C13, docs/api.md "vm.sendkey"): keys pressed on a running VM's keyboard by its
 * hostd through libvirt, for what a serial console cannot carry (Ctrl-Alt-Del, magic SysRq).
 * Names become Linux keycodes here (core/keys.c), so a typo is refused before any host is
 * asked. */
#include "api/methods/api_vm.h"
#include "core/keys.h"

#include <string.h>

#define HOLD_MAX_MS 10000

static const gw_field sendkey_params[] = {
    {"vm", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the VM (running)"},
    {"keys", GW_F_NAMES, GW_F_REQUIRED, 0, GW_KEYS_MAX, NULL,
     "keys pressed together: KEY_* names, or one shortcut (ctrl-alt-del, sysrq-<letter>)"},
    {"hold_ms", GW_F_INT, 0, 0, HOLD_MAX_MS, NULL,
     "how long they are held (default: the hypervisor's, 100 ms)"},
    {NULL},
};

/* The names of params.keys (the schema made them names) into codes. */
static int resolve(const cJSON *params, int *codes, int *count, vg_err *err)
{
    const cJSON *keys = gw_param(params, "keys");
    const char *names[GW_KEYS_MAX];
    int n = 0;
    const cJSON *k;
    cJSON_ArrayForEach(k, keys)
    {
        if (n == GW_KEYS_MAX)
            break;
        names[n++] = k->valuestring;
    }
    return gw_keys_resolve(names, n, codes, count, err);
}

static int sendkey_check(const cJSON *params, vg_err *err)
{
    int codes[GW_KEYS_MAX], n;
    return resolve(params, codes, &n, err);
}

static void sent(gw_vmcall *v)
{
    cJSON *res = cJSON_CreateObject();
    if (res) {
        cJSON_AddStringToObject(res, "vm", v->vm);
        cJSON_AddItemToObject(res, "keys", cJSON_Duplicate(gw_param(v->c->req.params, "keys"), 1));
    }
    gw_call_succeed(v->c, res);
}

static void sendkey_checked(gw_vmcall *v)
{
    if (gw_vmcall_need_host(v) != VG_OK)
        return;
    int codes[GW_KEYS_MAX], n = 0;
    vg_err err;
    if (resolve(v->c->req.params, codes, &n, &err) != VG_OK) {
        gw_call_fail_err(v->c, &err);
        return;
    }
    cJSON *p = gw_vmcall_params(v);
    if (p) {
        cJSON_AddItemToObject(p, "codes", cJSON_CreateIntArray(codes, n));
        if (gw_param(v->c->req.params, "hold_ms"))
            cJSON_AddNumberToObject(p, "hold_ms", (double)gw_param_int(v->c, "hold_ms", 0));
    }
    snprintf(v->host, sizeof(v->host), "%s", v->vi.host);
    gw_vmcall_rpc(v, v->host, "vm.sendkey", p, GW_VM_RPC_MS, sent);
}

static void run_sendkey(gw_call *c)
{
    gw_vmcall_run(c, sendkey_checked);
}

const gw_method gw_api_vmkeys_methods[] = {
    {"vm.sendkey", GW_SCOPE_VM, GW_LEVEL_OPERATOR, GW_M_MUTATES, sendkey_params, sendkey_check,
     run_sendkey},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};
