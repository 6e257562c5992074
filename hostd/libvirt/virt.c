#include "libvirt/virt.h"

#include "libvirt/domxml.h"
#include "metrics/hdstats.h"
#include "vg_log.h"
#include "libvirt/vms.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdlib.h>
#include <string.h>

#define VIRT_RETRY_S 1.0
#define VIRT_RESYNC_S 10.0
#define VIRT_DEBOUNCE_S 0.02

static struct ev_loop *loop;
static char *uri;
static virConnectPtr conn;
static int lifecycle_id = -1;
static ev_timer retry;
static ev_timer resync;
static ev_timer soon;

const char *hd_virt_state_name(int st)
{
    switch (st) {
    case VIR_DOMAIN_RUNNING:
        return "running";
    case VIR_DOMAIN_BLOCKED:
        return "blocked";
    case VIR_DOMAIN_PAUSED:
        return "paused";
    case VIR_DOMAIN_SHUTDOWN:
        return "running"; /* still running while it shuts down */
    case VIR_DOMAIN_SHUTOFF:
        return "shutoff";
    case VIR_DOMAIN_CRASHED:
        return "crashed";
    case VIR_DOMAIN_PMSUSPENDED:
        return "pmsuspended";
    default:
        return "unknown";
    }
}

static void sync_now(void)
{
    if (!conn)
        return;
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(conn, &doms, 0);
    if (n < 0) {
        vg_warn("virt", "listing domains failed: %s", virGetLastErrorMessage());
        return;
    }
    vm_entry *vms = calloc((size_t)n + 1, sizeof(*vms));
    size_t nv = 0;
    for (int i = 0; i < n; i++) {
        int st, reason;
        char *xml;
        vg_err err;
        if (vms && virDomainGetState(doms[i], &st, &reason, 0) == 0 &&
            (xml = virDomainGetXMLDesc(doms[i], 0))) {
            if (hd_domxml_parse(xml, strlen(xml), &vms[nv].info, &err) == VG_OK) {
                vms[nv].state = hd_virt_state_name(st);
                if (virDomainGetAutostart(doms[i], &vms[nv].autostart) < 0)
                    vms[nv].autostart = 0;
                nv++;
            } else {
                vg_warn("virt", "domain %s: %s", virDomainGetName(doms[i]), err.msg);
            }
            free(xml);
        }
        virDomainFree(doms[i]);
    }
    free(doms);
    if (vms)
        hd_vms_sync_virt(vms, nv);
    free(vms);
}

static void on_soon(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
    sync_now();
}

void hd_virt_poke(void)
{
    if (!ev_is_active(&soon)) {
        ev_timer_set(&soon, VIRT_DEBOUNCE_S, 0.);
        ev_timer_start(loop, &soon);
    }
}

static void (*crashed_cb)(const char *vm, const char *reason);

void hd_virt_set_crashed_cb(void (*cb)(const char *vm, const char *reason))
{
    crashed_cb = cb;
}

static int on_lifecycle(virConnectPtr c, virDomainPtr dom, int event, int detail, void *opaque)
{
    (void)c;
    (void)opaque;
    const char *name = virDomainGetName(dom);
    vg_debug("virt", "domain %s event %d/%d", name, event, detail);
    int stopped = event == VIR_DOMAIN_EVENT_STOPPED;
    const char *crash =
        event == VIR_DOMAIN_EVENT_CRASHED || (stopped && detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED)
            ? "crashed"
        : stopped && detail == VIR_DOMAIN_EVENT_STOPPED_FAILED ? "failed"
                                                               : NULL;
    if (crash && crashed_cb && name && hd_vms_wanted(name))
        crashed_cb(name, crash);
    hd_virt_poke();
    return 0;
}

static void drop_conn(void)
{
    if (!conn)
        return;
    if (lifecycle_id >= 0)
        virConnectDomainEventDeregisterAny(conn, lifecycle_id);
    lifecycle_id = -1;
    virConnectClose(conn);
    conn = NULL;
}

static void on_close(virConnectPtr c, int reason, void *opaque)
{
    (void)c;
    (void)opaque;
    vg_warn("virt", "libvirt connection lost (reason %d); reconnecting", reason);
    /* The connection object is released outside libvirt's own callback. */
    ev_timer_stop(loop, &retry);
    ev_timer_set(&retry, 0., VIRT_RETRY_S);
    ev_timer_start(loop, &retry);
}

const char *hd_virt_uri(void)
{
    return uri;
}

static int connect_now(void)
{
    drop_conn();
    conn = virConnectOpen(uri);
    if (!conn)
        return VG_ERR;
    if (virConnectRegisterCloseCallback(conn, on_close, NULL, NULL) < 0 ||
        virConnectSetKeepAlive(conn, 5, 3) < 0)
        vg_warn("virt", "keepalive/close callback: %s", virGetLastErrorMessage());
    lifecycle_id =
        virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                         VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), NULL, NULL);
    if (lifecycle_id < 0)
        vg_warn("virt", "no lifecycle events (%s); relying on the periodic resync",
                virGetLastErrorMessage());
    vg_info("virt", "connected to %s", uri);
    sync_now();
    return VG_OK;
}

static void on_retry(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)revents;
    if (conn && virConnectIsAlive(conn) == 1) {
        ev_timer_stop(l, w);
        return;
    }
    if (connect_now() == VG_OK) {
        ev_timer_stop(l, w);
        return;
    }
    vg_debug("virt", "reconnect to %s failed: %s", uri, virGetLastErrorMessage());
}

static void on_resync(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)revents;
    (void)w;
    if (!conn || virConnectIsAlive(conn) != 1) {
        if (!ev_is_active(&retry)) {
            ev_timer_set(&retry, 0., VIRT_RETRY_S);
            ev_timer_start(l, &retry);
        }
        return;
    }
    sync_now();
}

static void silence(void *ud, virErrorPtr e)
{
    (void)ud;
    (void)e; /* libvirt prints every error to stderr by default; we log what matters */
    hd_stat.libvirt_errors++;
}

int hd_virt_start(struct ev_loop *l, const char *u, vg_err *err)
{
    loop = l;
    uri = strdup(u);
    if (!uri)
        return vg_fail(err, VG_E_INTERNAL, "out of memory");
    virSetErrorFunc(NULL, silence);
    ev_init(&retry, on_retry);
    retry.repeat = VIRT_RETRY_S;
    ev_timer_init(&resync, on_resync, VIRT_RESYNC_S, VIRT_RESYNC_S);
    ev_init(&soon, on_soon);
    ev_timer_start(loop, &resync);
    if (connect_now() != VG_OK) {
        vg_warn("virt", "cannot connect to %s (%s); retrying every %.0f s", uri,
                virGetLastErrorMessage(), VIRT_RETRY_S);
        ev_timer_set(&retry, VIRT_RETRY_S, VIRT_RETRY_S);
        ev_timer_start(loop, &retry);
    }
    return VG_OK;
}

void hd_virt_stop(void)
{
    ev_timer_stop(loop, &retry);
    ev_timer_stop(loop, &resync);
    ev_timer_stop(loop, &soon);
    drop_conn();
    free(uri);
    uri = NULL;
}

virConnectPtr hd_virt_conn(void)
{
    return conn && virConnectIsAlive(conn) == 1 ? conn : NULL;
}
