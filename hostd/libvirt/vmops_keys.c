/* vm.sendkey (docs/protocol.md §4): keys pressed on the VM's keyboard through libvirt, for what
 * a serial console cannot type (Ctrl-Alt-Del, SysRq). The gateway turns key names into Linux
 * keycodes (gateway/core/keys.c); this end only checks that what arrives is a keycode list
 * libvirt takes. */
#include "libvirt/vmops_int.h"
#include "libvirt/virt.h"
#include "link/rpc.h"

#define KEYS_MAX 16 /* VIR_DOMAIN_SEND_KEY_MAX_KEYS */
#define CODE_MAX 255
#define HOLD_MAX_MS 10000

static int codes_of(const cJSON *params, unsigned int *codes, int *n, vg_err *err)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(params, "codes");
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) < 1 || cJSON_GetArraySize(a) > KEYS_MAX)
        return vg_fail(err, VG_E_BAD_REQUEST, "\"codes\" must be an array of 1 to %d keycodes",
                       KEYS_MAX);
    *n = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, a)
    {
        if (!cJSON_IsNumber(c) || c->valuedouble < 1 || c->valuedouble > CODE_MAX ||
            c->valuedouble != (double)(int)c->valuedouble)
            return vg_fail(err, VG_E_BAD_REQUEST, "\"codes\" holds a keycode outside 1..%d",
                           CODE_MAX);
        codes[(*n)++] = (unsigned int)c->valueint;
    }
    return VG_OK;
}

void hd_vmops_sendkey(rpc_call *call, const cJSON *params)
{
    vg_err err;
    unsigned int codes[KEYS_MAX];
    int n = 0;
    long long hold;
    if (codes_of(params, codes, &n, &err) != VG_OK ||
        hd_rpc_int(params, "hold_ms", 0, 0, HOLD_MAX_MS, &hold, &err) != VG_OK) {
        hd_rpc_fail(call, &err);
        return;
    }
    virDomainPtr d = hd_vmops_call_domain(params, &err);
    if (!d) {
        hd_rpc_fail(call, &err);
        return;
    }
    int active = virDomainIsActive(d), rc = VG_ERR;
    if (active == 0)
        vg_fail(&err, VG_E_CONFLICT, "VM %s is not running; keys go to a running VM",
                virDomainGetName(d));
    else if (active < 0 ||
             virDomainSendKey(d, VIR_KEYCODE_SET_LINUX, (unsigned int)hold, codes, n, 0) < 0)
        hd_vmops_lv_fail(&err);
    else
        rc = VG_OK;
    if (rc != VG_OK) {
        virDomainFree(d);
        hd_rpc_fail(call, &err);
        return;
    }
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "keys", n);
    virDomainFree(d);
    hd_rpc_reply(call, r);
}
