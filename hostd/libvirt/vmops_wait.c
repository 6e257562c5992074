/* Calls that answer later from a timer: vm.shutdown (ACPI, then destroy at the deadline) and
 * vm.probe (vmops.h). */
#include "libvirt/vmops_int.h"

#include "console/console.h"
#include "vg_log.h"
#include "vg_util.h"
#include "libvirt/virt.h"
#include "libvirt/vms.h"

#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>

#define VMOPS_SHUTDOWN_POLL_S 0.2
#define VMOPS_PROBE_POLL_S 0.05

/* ---- vm.shutdown: ACPI, then destroy at the deadline; answers once it is off ---- */

typedef struct shutdown_wait {
    ev_timer poll;
    rpc_call *call;
    char vm[65];
    int64_t deadline_ms;
    int forced;
} shutdown_wait;

static void shutdown_done(shutdown_wait *w, const vg_err *err)
{
    ev_timer_stop(hd_vmops_cfg()->loop, &w->poll);
    if (err) {
        hd_rpc_fail(w->call, err);
    } else {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "state", "shutoff");
        cJSON_AddBoolToObject(r, "forced", w->forced);
        hd_rpc_reply(w->call, r);
    }
    free(w);
}

static void on_shutdown_poll(struct ev_loop *l, ev_timer *t, int revents)
{
    (void)l;
    (void)revents;
    shutdown_wait *w = (shutdown_wait *)t;
    vg_err err;
    virConnectPtr c = hd_virt_conn();
    if (!c) /* libvirt is reconnecting; keep waiting */
        return;
    virDomainPtr d = virDomainLookupByName(c, w->vm);
    if (!d) { /* a transient domain is gone once it is off */
        virResetLastError();
        shutdown_done(w, NULL);
        return;
    }
    int st, reason, rc = virDomainGetState(d, &st, &reason, 0);
    if (rc == 0 && st == VIR_DOMAIN_SHUTOFF) {
        virDomainFree(d);
        shutdown_done(w, NULL);
        return;
    }
    if (!w->forced && vg_mono_ms() >= w->deadline_ms) {
        vg_info("vmops", "%s ignored the shutdown request; destroying it", w->vm);
        w->forced = 1;
        if (virDomainDestroy(d) < 0) {
            hd_vmops_lv_fail(&err);
            virDomainFree(d);
            shutdown_done(w, &err);
            return;
        }
    }
    virDomainFree(d);
}

void hd_vmops_shutdown(rpc_call *call, const cJSON *params)
{
    vg_err err;
    long long timeout;
    shutdown_wait *w = NULL;
    virDomainPtr d = NULL;
    if (hd_rpc_int(params, "timeout_s", 60, 0, 3600, &timeout, &err) != VG_OK ||
        !(d = hd_vmops_call_domain(params, &err)))
        goto fail;
    if (virDomainShutdown(d) < 0) {
        hd_vmops_lv_fail(&err);
        goto fail;
    }
    if (!(w = calloc(1, sizeof(*w)))) {
        vg_fail(&err, VG_E_INTERNAL, "out of memory");
        goto fail;
    }
    w->call = call;
    snprintf(w->vm, sizeof(w->vm), "%s", virDomainGetName(d));
    w->deadline_ms = vg_mono_ms() + timeout * 1000;
    virDomainFree(d);
    ev_timer_init(&w->poll, on_shutdown_poll, VMOPS_SHUTDOWN_POLL_S, VMOPS_SHUTDOWN_POLL_S);
    ev_timer_start(hd_vmops_cfg()->loop, &w->poll);
    return;
fail:
    if (d)
        virDomainFree(d);
    hd_rpc_fail(call, &err);
}

/* ---- vm.probe: is anyone home on the console? ---- */

typedef struct probe {
    ev_timer poll;
    rpc_call *call;
    char vm[65], dev[32];
    uint64_t end;
    int64_t deadline_ms;
} probe;

static void probe_done(probe *p, int reachable)
{
    ev_timer_stop(hd_vmops_cfg()->loop, &p->poll);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddBoolToObject(r, "reachable", reachable);
    hd_rpc_reply(p->call, r);
    free(p);
}

static void on_probe_poll(struct ev_loop *l, ev_timer *t, int revents)
{
    (void)l;
    (void)revents;
    probe *p = (probe *)t;
    /* Looked up again each time: the console goes away if the VM does. */
    console *c = hd_vms_console(p->vm, p->dev);
    if (c && hd_console_end(c) > p->end)
        probe_done(p, 1);
    else if (!c || vg_mono_ms() >= p->deadline_ms)
        probe_done(p, 0);
}

void hd_vmops_probe(rpc_call *call, const cJSON *params)
{
    vg_err err;
    const char *vm, *dev;
    long long timeout;
    if (hd_rpc_name(params, "vm", 1, &vm, &err) != VG_OK ||
        hd_rpc_name(params, "dev", 0, &dev, &err) != VG_OK ||
        hd_rpc_int(params, "timeout_ms", 2000, 1, 60000, &timeout, &err) != VG_OK) {
        hd_rpc_fail(call, &err);
        return;
    }
    if (!dev)
        dev = "serial0";
    console *c = hd_vms_console(vm, dev);
    if (!c) {
        vg_fail(&err, VG_E_NOT_FOUND, "no console %s/%s on this host", vm, dev);
        hd_rpc_fail(call, &err);
        return;
    }
    probe *p = calloc(1, sizeof(*p));
    if (!p) {
        vg_fail(&err, VG_E_INTERNAL, "out of memory");
        hd_rpc_fail(call, &err);
        return;
    }
    p->call = call;
    snprintf(p->vm, sizeof(p->vm), "%s", vm);
    snprintf(p->dev, sizeof(p->dev), "%s", dev);
    p->end = hd_console_end(c);
    p->deadline_ms = vg_mono_ms() + timeout;
    /* A console whose socket is down cannot answer: unreachable at once. */
    if (hd_console_send_input(c, (const unsigned char *)"\r", 1, &err) != VG_OK) {
        probe_done(p, 0);
        return;
    }
    ev_timer_init(&p->poll, on_probe_poll, VMOPS_PROBE_POLL_S, VMOPS_PROBE_POLL_S);
    ev_timer_start(hd_vmops_cfg()->loop, &p->poll);
}
