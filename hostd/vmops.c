#include "vmops.h"

#include "console.h"
#include "hostinfo.h"
#include "vg_domspec.h"
#include "vg_log.h"
#include "vg_util.h"
#include "virt.h"
#include "vms.h"
#include "vmxml.h"
#include "worker.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VMOPS_SHUTDOWN_POLL_S 0.2
#define VMOPS_PROBE_POLL_S 0.05
#define VMOPS_MAX_POOLS 64

static const vmops_config *cfg;

void vmops_configure(const vmops_config *c)
{
    cfg = c;
    /* The registry asks for host fields before the first connection exists; libvirt's error
     * calls need the library initialised. */
    if (virInitialize() < 0)
        vg_warn("vmops", "libvirt does not initialise");
    worker_init(c->loop, c->libvirt_uri);
}

/* ---- errors and lookups ---- */

/* libvirt's last error as ours: the message stays libvirt's, the code says what kind. */
static int lv_fail(vg_err *err)
{
    virErrorPtr e = virGetLastError();
    vg_err_code code = VG_E_INTERNAL;
    switch (e ? e->code : VIR_ERR_OK) {
    case VIR_ERR_OPERATION_INVALID:
    case VIR_ERR_DOM_EXIST:
    case VIR_ERR_STORAGE_VOL_EXIST:
        code = VG_E_CONFLICT;
        break;
    case VIR_ERR_NO_DOMAIN:
    case VIR_ERR_NO_STORAGE_POOL:
    case VIR_ERR_NO_STORAGE_VOL:
    case VIR_ERR_NO_NETWORK:
    case VIR_ERR_NO_DOMAIN_SNAPSHOT:
        code = VG_E_NOT_FOUND;
        break;
    case VIR_ERR_INVALID_ARG:
    case VIR_ERR_XML_ERROR:
    case VIR_ERR_CONFIG_UNSUPPORTED:
        code = VG_E_BAD_REQUEST;
        break;
    default:
        break;
    }
    return vg_fail(err, code, "%s", virGetLastErrorMessage());
}

static virConnectPtr conn_or_fail(vg_err *err)
{
    virConnectPtr c = virt_conn();
    if (!c)
        vg_fail(err, VG_E_UNAVAILABLE, "hostd is not connected to libvirt");
    return c;
}

/* Domains outside vm_filter belong to another hostd sharing this libvirt. */
static int managed(const char *name, vg_err *err)
{
    if (vms_wanted(name))
        return VG_OK;
    return vg_fail(err, VG_E_NOT_FOUND, "VM %s is not managed by this hostd (vm_filter)", name);
}

static virDomainPtr domain(virConnectPtr c, const char *name, vg_err *err)
{
    if (managed(name, err) != VG_OK)
        return NULL;
    virDomainPtr d = virDomainLookupByName(c, name);
    if (!d)
        lv_fail(err);
    return d;
}

/* The call's VM: params.vm names a domain of this host's libvirt. */
static virDomainPtr call_domain(const cJSON *params, vg_err *err)
{
    const char *vm;
    virConnectPtr c;
    if (rpc_name(params, "vm", 1, &vm, err) != VG_OK || !(c = conn_or_fail(err)))
        return NULL;
    return domain(c, vm, err);
}

static const char *dom_state(virDomainPtr d)
{
    int st, reason;
    return virDomainGetState(d, &st, &reason, 0) == 0 ? virt_state_name(st) : "unknown";
}

static cJSON *state_result(virDomainPtr d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "state", dom_state(d));
    return o;
}

/* "pool/volume" -> the volume (caller frees). */
static virStorageVolPtr volume(virConnectPtr c, const char *pool, const char *vol, vg_err *err)
{
    virStoragePoolPtr p = virStoragePoolLookupByName(c, pool);
    if (!p)
        return lv_fail(err), NULL;
    virStorageVolPtr v = virStorageVolLookupByName(p, vol);
    if (!v)
        lv_fail(err);
    virStoragePoolFree(p);
    return v;
}

static virStorageVolPtr media_volume(virConnectPtr c, const char *media, vg_err *err)
{
    char pool[65];
    const char *slash = strchr(media, '/');
    if (!slash || slash == media || (size_t)(slash - media) >= sizeof(pool) || !slash[1] ||
        strchr(slash + 1, '/'))
        return vg_fail(err, VG_E_BAD_REQUEST, "media must be \"pool/volume\""), NULL;
    memcpy(pool, media, (size_t)(slash - media));
    pool[slash - media] = '\0';
    return volume(c, pool, slash + 1, err);
}

static int vol_format(virStorageVolPtr v, char *fmt, size_t cap, vg_err *err)
{
    char *xml = virStorageVolGetXMLDesc(v, 0);
    if (!xml)
        return lv_fail(err);
    int rc = vmxml_volume_format(xml, fmt, cap, err);
    free(xml);
    return rc;
}

/* ---- the worker's answer goes back to the call ---- */

static void worker_answer(void *priv, cJSON *result, const vg_err *err)
{
    rpc_call *call = priv;
    virt_poke(); /* the operation changed the domain; do not wait for its event */
    if (result)
        rpc_reply(call, result);
    else
        rpc_fail(call, err);
}

/* Checks that the domain exists before forking, so a typo is answered at once. */
static void run_worker(rpc_call *call, const cJSON *params, worker_fn *fn)
{
    vg_err err;
    virDomainPtr d = call_domain(params, &err);
    if (!d) {
        rpc_fail(call, &err);
        return;
    }
    virDomainFree(d);
    if (worker_start(fn, params, worker_answer, call, &err) != VG_OK)
        rpc_fail(call, &err);
}

static virDomainPtr child_domain(virConnectPtr c, const cJSON *params, vg_err *err)
{
    const char *vm;
    if (rpc_name(params, "vm", 1, &vm, err) != VG_OK)
        return NULL;
    return domain(c, vm, err);
}

/* ---- vm.define ---- */

typedef struct define_ctx {
    virConnectPtr conn;
    int redefine; /* replacing a shut-off domain's definition (same uuid): keep its volumes */
    virStorageVolPtr created[VG_SPEC_MAX_DISKS];
    size_t ncreated;
    char *path[VG_SPEC_MAX_DISKS];
    char format[VG_SPEC_MAX_DISKS][8];
    char *cdrom;
} define_ctx;

static void define_cleanup(define_ctx *x, int failed)
{
    for (size_t i = 0; i < x->ncreated; i++) {
        vg_err why;
        if (failed && virStorageVolDelete(x->created[i], 0) < 0 && lv_fail(&why))
            vg_warn("vmops", "cannot delete volume %s again: %s",
                    virStorageVolGetName(x->created[i]), why.msg);
        virStorageVolFree(x->created[i]);
    }
    for (size_t i = 0; i < VG_SPEC_MAX_DISKS; i++)
        free(x->path[i]);
    free(x->cdrom);
}

static int create_volume(define_ctx *x, const vg_spec *s, size_t i, vg_err *err)
{
    const vg_spec_disk *k = &s->disks[i];
    virStoragePoolPtr pool = virStoragePoolLookupByName(x->conn, k->pool);
    if (!pool)
        return lv_fail(err);
    int rc = VG_ERR;
    char *backing = NULL, bfmt[16] = "", name[160];
    const char *fmt = k->kind == VG_DISK_IMAGE ? "qcow2" : k->format;
    long long size = k->size_mib;
    virStorageVolPtr image = NULL, vol = NULL;
    char *xml = NULL;
    if (k->kind == VG_DISK_IMAGE) {
        virStorageVolInfo info;
        if (!(image = virStorageVolLookupByName(pool, k->volume)) ||
            virStorageVolGetInfo(image, &info) < 0 || !(backing = virStorageVolGetPath(image))) {
            lv_fail(err);
            goto out;
        }
        if (vol_format(image, bfmt, sizeof(bfmt), err) != VG_OK)
            goto out;
        long long image_mib = (long long)((info.capacity + (1 << 20) - 1) >> 20);
        if (size < image_mib)
            size = image_mib;
    }
    snprintf(name, sizeof(name), "%s-disk%zu.%s", s->name, i, fmt);
    if (x->redefine && (vol = virStorageVolLookupByName(pool, name))) {
        /* The disk this VM had before the edit: its data stays. */
        if (!(x->path[i] = virStorageVolGetPath(vol)))
            lv_fail(err);
        virStorageVolFree(vol);
        if (x->path[i]) {
            snprintf(x->format[i], sizeof(x->format[i]), "%s", fmt);
            rc = VG_OK;
        }
        goto out;
    }
    virResetLastError();
    if (!(xml = vmxml_volume(name, size, fmt, backing, bfmt, err)))
        goto out;
    if (!(vol = virStorageVolCreateXML(pool, xml, 0))) {
        lv_fail(err);
        goto out;
    }
    x->created[x->ncreated++] = vol;
    if (!(x->path[i] = virStorageVolGetPath(vol))) {
        lv_fail(err);
        goto out;
    }
    snprintf(x->format[i], sizeof(x->format[i]), "%s", fmt);
    rc = VG_OK;
out:
    free(xml);
    free(backing);
    if (image)
        virStorageVolFree(image);
    virStoragePoolFree(pool);
    return rc;
}

static int resolve_disks(define_ctx *x, const vg_spec *s, vg_err *err)
{
    for (size_t i = 0; i < s->ndisks; i++) {
        const vg_spec_disk *k = &s->disks[i];
        if (k->kind != VG_DISK_VOLUME) {
            if (create_volume(x, s, i, err) != VG_OK)
                return VG_ERR;
            continue;
        }
        virStorageVolPtr v = volume(x->conn, k->pool, k->volume, err);
        if (!v)
            return VG_ERR;
        int rc = vol_format(v, x->format[i], sizeof(x->format[i]), err);
        if (rc == VG_OK && !(x->path[i] = virStorageVolGetPath(v)))
            rc = lv_fail(err);
        virStorageVolFree(v);
        if (rc != VG_OK)
            return rc;
    }
    if (s->has_cdrom && s->cdrom[0]) {
        virStorageVolPtr v = media_volume(x->conn, s->cdrom, err);
        if (!v)
            return VG_ERR;
        x->cdrom = virStorageVolGetPath(v);
        virStorageVolFree(v);
        if (!x->cdrom)
            return lv_fail(err);
    }
    return VG_OK;
}

void vmops_define(rpc_call *call, const cJSON *params)
{
    vg_err err;
    const cJSON *jspec = cJSON_GetObjectItemCaseSensitive(params, "spec");
    const char *uuid;
    vg_spec *s = calloc(1, sizeof(*s));
    define_ctx x;
    memset(&x, 0, sizeof(x));
    virDomainPtr d = NULL;
    char *xml = NULL;
    int failed = 1;
    if (!s) {
        vg_fail(&err, VG_E_INTERNAL, "out of memory");
        goto out;
    }
    if (!cJSON_IsObject(jspec)) {
        vg_fail(&err, VG_E_BAD_REQUEST, "params.spec must be an object");
        goto out;
    }
    if (rpc_string(params, "uuid", 0, 36, &uuid, &err) != VG_OK ||
        vg_domspec_parse(jspec, s, 0, &err) != VG_OK || managed(s->name, &err) != VG_OK ||
        !(x.conn = conn_or_fail(&err)))
        goto out;
    if ((d = virDomainLookupByName(x.conn, s->name))) {
        char have[VIR_UUID_STRING_BUFLEN] = "";
        virDomainGetUUIDString(d, have);
        if (!uuid || strcmp(uuid, have) != 0) {
            vg_fail(&err, VG_E_CONFLICT, "a VM named %s already exists on this host", s->name);
            goto out;
        }
        if (virDomainIsActive(d) != 0) {
            vg_fail(&err, VG_E_CONFLICT, "VM %s is %s; its definition changes only while it is off",
                    s->name, dom_state(d));
            goto out;
        }
        x.redefine = 1;
        virDomainFree(d);
        d = NULL;
    }
    virResetLastError();
    if (resolve_disks(&x, s, &err) != VG_OK)
        goto out;
    vg_domspec_host host = {.console_dir = cfg->console_dir, .cdrom_path = x.cdrom, .uuid = uuid};
    for (size_t i = 0; i < s->ndisks; i++) {
        host.disk_path[i] = x.path[i];
        host.disk_format[i] = x.format[i];
    }
    if (!(xml = vg_domspec_xml(s, &host, &err)))
        goto out;
    if (!(d = virDomainDefineXML(x.conn, xml))) {
        lv_fail(&err);
        goto out;
    }
    if (virDomainSetAutostart(d, s->autostart) < 0) {
        lv_fail(&err);
        if (!x.redefine)
            virDomainUndefine(d);
        goto out;
    }
    char uuidstr[VIR_UUID_STRING_BUFLEN] = "";
    char *defined = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
    virDomainGetUUIDString(d, uuidstr);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "name", s->name);
    cJSON_AddStringToObject(r, "uuid", uuidstr);
    cJSON_AddStringToObject(r, "xml", defined ? defined : xml);
    free(defined);
    failed = 0;
    vg_info("vmops", "defined %s (%zu disks)", s->name, s->ndisks);
    virt_poke();
    rpc_reply(call, r);
out:
    if (failed)
        rpc_fail(call, &err);
    define_cleanup(&x, failed);
    if (d)
        virDomainFree(d);
    free(xml);
    if (s)
        vg_domspec_free(s);
    free(s);
}

/* ---- vm.undefine ---- */

/* Another host may have created a volume in a pool directory this libvirt shares (a VM that
 * migrated here): libvirt only knows it after a refresh. */
static void refresh_pools(virConnectPtr c)
{
    virStoragePoolPtr *all = NULL;
    int n = virConnectListAllStoragePools(c, &all, VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE);
    for (int i = 0; i < n; i++) {
        virStoragePoolRefresh(all[i], 0);
        virStoragePoolFree(all[i]);
    }
    free(all);
}

/* Follows a disk volume's backing chain while the volumes are this VM's own, named
 * <vm>-disk... (disk-only snapshots stack such overlays); an image others share ends it. */
static void add_chain(virConnectPtr c, const char *vm, virStorageVolPtr top, virStorageVolPtr *out,
                      size_t cap, size_t *nv)
{
    char prefix[80];
    snprintf(prefix, sizeof(prefix), "%s-disk", vm);
    for (virStorageVolPtr v = top; *nv < cap;) {
        char path[VMXML_PATH_MAX];
        vg_err err;
        char *xml = virStorageVolGetXMLDesc(v, 0);
        int ok = xml && vmxml_volume_backing(xml, path, sizeof(path), &err) == VG_OK && path[0];
        free(xml);
        virStorageVolPtr b = ok ? virStorageVolLookupByPath(c, path) : NULL;
        if (!b)
            return;
        if (strncmp(virStorageVolGetName(b), prefix, strlen(prefix)) != 0) {
            virStorageVolFree(b);
            return;
        }
        out[(*nv)++] = b;
        v = b;
    }
}

/* The volumes a domain's disks use that live in a storage pool; files outside every pool are
 * not ours to delete. */
static size_t pool_volumes(virConnectPtr c, virDomainPtr d, virStorageVolPtr *out, size_t cap)
{
    char *xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
    vmxml_disk disks[VMXML_MAX_DISKS];
    size_t n = 0, nv = 0;
    vg_err err;
    if (!xml || vmxml_disks(xml, disks, VMXML_MAX_DISKS, &n, &err) != VG_OK)
        n = 0;
    free(xml);
    if (n)
        refresh_pools(c);
    for (size_t i = 0; i < n && nv < cap; i++) {
        virStorageVolPtr v = disks[i].pool[0] ? volume(c, disks[i].pool, disks[i].volume, &err)
                                              : virStorageVolLookupByPath(c, disks[i].file);
        if (v) {
            out[nv++] = v;
            add_chain(c, virDomainGetName(d), v, out, cap, &nv);
        } else
            vg_info("vmops", "%s: disk %s is in no pool; kept", virDomainGetName(d),
                    disks[i].pool[0] ? disks[i].volume : disks[i].file);
    }
    virResetLastError();
    return nv;
}

void vmops_undefine(rpc_call *call, const cJSON *params)
{
    vg_err err;
    int disks;
    virStorageVolPtr vols[VMXML_MAX_DISKS];
    size_t nv = 0;
    virDomainPtr d = NULL;
    if (rpc_bool(params, "disks", 0, &disks, &err) != VG_OK || !(d = call_domain(params, &err)))
        goto fail;
    if (virDomainIsActive(d) == 1) {
        vg_fail(&err, VG_E_CONFLICT, "VM %s is %s; stop it first", virDomainGetName(d),
                dom_state(d));
        goto fail;
    }
    if (disks)
        nv = pool_volumes(virt_conn(), d, vols, VMXML_MAX_DISKS);
    if (virDomainUndefineFlags(d, VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
                                      VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                                      VIR_DOMAIN_UNDEFINE_NVRAM) < 0) {
        lv_fail(&err);
        goto fail;
    }
    cJSON *r = cJSON_CreateObject();
    cJSON *deleted = cJSON_AddArrayToObject(r, "deleted");
    for (size_t i = 0; i < nv; i++) {
        char *path = virStorageVolGetPath(vols[i]);
        if (virStorageVolDelete(vols[i], 0) == 0)
            cJSON_AddItemToArray(deleted, cJSON_CreateString(path ? path : ""));
        else
            vg_warn("vmops", "cannot delete volume %s: %s", path ? path : "?",
                    virGetLastErrorMessage());
        free(path);
    }
    vg_info("vmops", "undefined %s (%d volumes deleted)", virDomainGetName(d),
            cJSON_GetArraySize(deleted));
    for (size_t i = 0; i < nv; i++)
        virStorageVolFree(vols[i]);
    virDomainFree(d);
    virt_poke();
    rpc_reply(call, r);
    return;
fail:
    for (size_t i = 0; i < nv; i++)
        virStorageVolFree(vols[i]);
    if (d)
        virDomainFree(d);
    rpc_fail(call, &err);
}

void vmops_xml(rpc_call *call, const cJSON *params)
{
    vg_err err;
    int inactive;
    virDomainPtr d = NULL;
    char *xml = NULL;
    if (rpc_bool(params, "inactive", 0, &inactive, &err) == VG_OK &&
        (d = call_domain(params, &err)) &&
        !(xml = virDomainGetXMLDesc(d, inactive ? VIR_DOMAIN_XML_INACTIVE : 0)))
        lv_fail(&err);
    if (d)
        virDomainFree(d);
    if (!xml) {
        rpc_fail(call, &err);
        return;
    }
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "xml", xml);
    free(xml);
    rpc_reply(call, r);
}

/* ---- short lifecycle calls ---- */

typedef int dom_op(virDomainPtr d);

static int op_start(virDomainPtr d)
{
    return virDomainCreate(d);
}
static int op_destroy(virDomainPtr d)
{
    return virDomainDestroy(d);
}
static int op_reboot(virDomainPtr d)
{
    return virDomainReboot(d, 0);
}
static int op_reset(virDomainPtr d)
{
    return virDomainReset(d, 0);
}
static int op_suspend(virDomainPtr d)
{
    return virDomainSuspend(d);
}
static int op_resume(virDomainPtr d)
{
    return virDomainResume(d);
}

static void simple(rpc_call *call, const cJSON *params, dom_op *op)
{
    vg_err err;
    virDomainPtr d = call_domain(params, &err);
    if (!d) {
        rpc_fail(call, &err);
        return;
    }
    if (op(d) < 0) {
        lv_fail(&err);
        virDomainFree(d);
        rpc_fail(call, &err);
        return;
    }
    cJSON *r = state_result(d);
    virDomainFree(d);
    virt_poke();
    rpc_reply(call, r);
}

void vmops_start(rpc_call *call, const cJSON *params)
{
    simple(call, params, op_start);
}
void vmops_destroy(rpc_call *call, const cJSON *params)
{
    simple(call, params, op_destroy);
}
void vmops_reboot(rpc_call *call, const cJSON *params)
{
    simple(call, params, op_reboot);
}
void vmops_reset(rpc_call *call, const cJSON *params)
{
    simple(call, params, op_reset);
}
void vmops_suspend(rpc_call *call, const cJSON *params)
{
    simple(call, params, op_suspend);
}
void vmops_resume(rpc_call *call, const cJSON *params)
{
    simple(call, params, op_resume);
}

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
    ev_timer_stop(cfg->loop, &w->poll);
    if (err) {
        rpc_fail(w->call, err);
    } else {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "state", "shutoff");
        cJSON_AddBoolToObject(r, "forced", w->forced);
        rpc_reply(w->call, r);
    }
    free(w);
}

static void on_shutdown_poll(struct ev_loop *l, ev_timer *t, int revents)
{
    (void)l;
    (void)revents;
    shutdown_wait *w = (shutdown_wait *)t;
    vg_err err;
    virConnectPtr c = virt_conn();
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
            lv_fail(&err);
            virDomainFree(d);
            shutdown_done(w, &err);
            return;
        }
    }
    virDomainFree(d);
}

void vmops_shutdown(rpc_call *call, const cJSON *params)
{
    vg_err err;
    long long timeout;
    shutdown_wait *w = NULL;
    virDomainPtr d = NULL;
    if (rpc_int(params, "timeout_s", 60, 0, 3600, &timeout, &err) != VG_OK ||
        !(d = call_domain(params, &err)))
        goto fail;
    if (virDomainShutdown(d) < 0) {
        lv_fail(&err);
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
    ev_timer_start(cfg->loop, &w->poll);
    return;
fail:
    if (d)
        virDomainFree(d);
    rpc_fail(call, &err);
}

/* ---- managed save / restore (worker) ---- */

static int child_save(virConnectPtr c, const cJSON *params, cJSON **result, vg_err *err)
{
    virDomainPtr d = child_domain(c, params, err);
    if (!d)
        return VG_ERR;
    int rc = virDomainManagedSave(d, 0) < 0 ? lv_fail(err) : VG_OK;
    if (rc == VG_OK)
        *result = state_result(d);
    virDomainFree(d);
    return rc;
}

static int child_restore(virConnectPtr c, const cJSON *params, cJSON **result, vg_err *err)
{
    virDomainPtr d = child_domain(c, params, err);
    if (!d)
        return VG_ERR;
    int rc = VG_OK;
    if (virDomainHasManagedSaveImage(d, 0) != 1)
        rc =
            vg_fail(err, VG_E_CONFLICT, "VM %s has no saved state to restore", virDomainGetName(d));
    else if (virDomainCreate(d) < 0)
        rc = lv_fail(err);
    if (rc == VG_OK)
        *result = state_result(d);
    virDomainFree(d);
    return rc;
}

void vmops_save(rpc_call *call, const cJSON *params)
{
    run_worker(call, params, child_save);
}

void vmops_restore(rpc_call *call, const cJSON *params)
{
    run_worker(call, params, child_restore);
}

/* ---- vm.cdrom, vm.autostart ---- */

void vmops_cdrom(rpc_call *call, const cJSON *params)
{
    vg_err err;
    const cJSON *media = cJSON_GetObjectItemCaseSensitive(params, "media");
    char dev[16], bus[16], *xml = NULL, *dxml = NULL, *path = NULL;
    virStorageVolPtr v = NULL;
    virDomainPtr d = NULL;
    int rc = VG_ERR;
    if (!media || (!cJSON_IsNull(media) && !cJSON_IsString(media))) {
        vg_fail(&err, VG_E_BAD_REQUEST, "params.media must be \"pool/volume\" or null");
        goto out;
    }
    if (!(d = call_domain(params, &err)))
        goto out;
    if (cJSON_IsString(media)) {
        if (!(v = media_volume(virt_conn(), media->valuestring, &err)))
            goto out;
        if (!(path = virStorageVolGetPath(v))) {
            lv_fail(&err);
            goto out;
        }
    }
    int active = virDomainIsActive(d) == 1;
    if (!(xml = virDomainGetXMLDesc(d, active ? 0 : VIR_DOMAIN_XML_INACTIVE))) {
        lv_fail(&err);
        goto out;
    }
    if (vmxml_cdrom(xml, dev, sizeof(dev), bus, sizeof(bus), &err) != VG_OK ||
        !(dxml = vmxml_cdrom_device(dev, bus, path, &err)))
        goto out;
    unsigned flags = VIR_DOMAIN_AFFECT_CONFIG | (active ? VIR_DOMAIN_AFFECT_LIVE : 0);
    if (virDomainUpdateDeviceFlags(d, dxml, flags) < 0) {
        lv_fail(&err);
        goto out;
    }
    rc = VG_OK;
out:
    if (rc == VG_OK) {
        cJSON *r = cJSON_CreateObject();
        if (cJSON_IsString(media))
            cJSON_AddStringToObject(r, "media", media->valuestring);
        else
            cJSON_AddNullToObject(r, "media");
        rpc_reply(call, r);
    } else {
        rpc_fail(call, &err);
    }
    if (v)
        virStorageVolFree(v);
    if (d)
        virDomainFree(d);
    free(xml);
    free(dxml);
    free(path);
}

void vmops_autostart(rpc_call *call, const cJSON *params)
{
    vg_err err;
    int on;
    virDomainPtr d = NULL;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(params, "autostart");
    if (!cJSON_IsBool(a))
        vg_fail(&err, VG_E_BAD_REQUEST, "params.autostart must be true or false");
    else if (rpc_bool(params, "autostart", 0, &on, &err) == VG_OK &&
             (d = call_domain(params, &err))) {
        if (virDomainSetAutostart(d, on) == 0) {
            virDomainFree(d);
            virt_poke();
            rpc_reply(call, NULL);
            return;
        }
        lv_fail(&err);
    }
    if (d)
        virDomainFree(d);
    rpc_fail(call, &err);
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
    ev_timer_stop(cfg->loop, &p->poll);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddBoolToObject(r, "reachable", reachable);
    rpc_reply(p->call, r);
    free(p);
}

static void on_probe_poll(struct ev_loop *l, ev_timer *t, int revents)
{
    (void)l;
    (void)revents;
    probe *p = (probe *)t;
    /* Looked up again each time: the console goes away if the VM does. */
    console *c = vms_console(p->vm, p->dev);
    if (c && console_end(c) > p->end)
        probe_done(p, 1);
    else if (!c || vg_mono_ms() >= p->deadline_ms)
        probe_done(p, 0);
}

void vmops_probe(rpc_call *call, const cJSON *params)
{
    vg_err err;
    const char *vm, *dev;
    long long timeout;
    if (rpc_name(params, "vm", 1, &vm, &err) != VG_OK ||
        rpc_name(params, "dev", 0, &dev, &err) != VG_OK ||
        rpc_int(params, "timeout_ms", 2000, 1, 60000, &timeout, &err) != VG_OK) {
        rpc_fail(call, &err);
        return;
    }
    if (!dev)
        dev = "serial0";
    console *c = vms_console(vm, dev);
    if (!c) {
        vg_fail(&err, VG_E_NOT_FOUND, "no console %s/%s on this host", vm, dev);
        rpc_fail(call, &err);
        return;
    }
    probe *p = calloc(1, sizeof(*p));
    if (!p) {
        vg_fail(&err, VG_E_INTERNAL, "out of memory");
        rpc_fail(call, &err);
        return;
    }
    p->call = call;
    snprintf(p->vm, sizeof(p->vm), "%s", vm);
    snprintf(p->dev, sizeof(p->dev), "%s", dev);
    p->end = console_end(c);
    p->deadline_ms = vg_mono_ms() + timeout;
    /* A console whose socket is down cannot answer: unreachable at once. */
    if (console_send_input(c, (const unsigned char *)"\r", 1, &err) != VG_OK) {
        probe_done(p, 0);
        return;
    }
    ev_timer_init(&p->poll, on_probe_poll, VMOPS_PROBE_POLL_S, VMOPS_PROBE_POLL_S);
    ev_timer_start(cfg->loop, &p->poll);
}

/* ---- vm.migrate (worker) ---- */

static int child_migrate(virConnectPtr c, const cJSON *params, cJSON **result, vg_err *err)
{
    const char *dest_uri, *dest_dir;
    rpc_string(params, "dest_uri", 1, 1024, &dest_uri, err);
    rpc_string(params, "dest_console_dir", 1, 512, &dest_dir, err);
    virDomainPtr d = child_domain(c, params, err), dd = NULL;
    if (!d)
        return VG_ERR;
    int rc = VG_ERR;
    virConnectPtr dc = NULL;
    virTypedParameterPtr tp = NULL;
    int ntp = 0, maxtp = 0;
    /* The live definition for the running guest, and the persistent one the destination keeps
     * (libvirt would otherwise persist the source's, with the source's console paths). */
    char *xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_MIGRATABLE | VIR_DOMAIN_XML_SECURE);
    char *pxml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_MIGRATABLE | VIR_DOMAIN_XML_SECURE |
                                            VIR_DOMAIN_XML_INACTIVE);
    char *dxml = NULL, *dpxml = NULL;
    if (!xml || !pxml) {
        lv_fail(err);
        goto out;
    }
    if (!(dxml = vmxml_rewrite_dir(xml, cfg->console_dir, dest_dir, err)) ||
        !(dpxml = vmxml_rewrite_dir(pxml, cfg->console_dir, dest_dir, err)))
        goto out;
    if (!(dc = virConnectOpen(dest_uri))) {
        vg_fail(err, VG_E_UNAVAILABLE, "cannot connect to %s: %s", dest_uri,
                virGetLastErrorMessage());
        goto out;
    }
    if (virTypedParamsAddString(&tp, &ntp, &maxtp, VIR_MIGRATE_PARAM_DEST_XML, dxml) < 0 ||
        virTypedParamsAddString(&tp, &ntp, &maxtp, VIR_MIGRATE_PARAM_PERSIST_XML, dpxml) < 0) {
        lv_fail(err);
        goto out;
    }
    unsigned flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_UNDEFINE_SOURCE;
    dd = virDomainMigrate3(d, dc, tp, (unsigned)ntp, flags);
    virErrorPtr e = dd ? NULL : virGetLastError();
    if (!dd && e && e->code == VIR_ERR_MIGRATE_UNSAFE) {
        /* Both hosts see the disk at the same path on storage libvirt cannot prove shared
         * (docs/protocol.md §4, vm.migrate): the guest's writes are flushed when the source
         * stops, so the destination reads the same data. */
        vg_err why; /* copied first: every libvirt call resets the last error */
        lv_fail(&why);
        vg_info("vmops", "%s: %s; migrating with VIR_MIGRATE_UNSAFE", virDomainGetName(d), why.msg);
        dd = virDomainMigrate3(d, dc, tp, (unsigned)ntp, flags | VIR_MIGRATE_UNSAFE);
    }
    if (!dd) {
        lv_fail(err);
        goto out;
    }
    *result = cJSON_CreateObject();
    rc = VG_OK;
out:
    if (dd)
        virDomainFree(dd);
    if (dc)
        virConnectClose(dc);
    virTypedParamsFree(tp, ntp);
    free(xml);
    free(pxml);
    free(dxml);
    free(dpxml);
    virDomainFree(d);
    return rc;
}

void vmops_migrate(rpc_call *call, const cJSON *params)
{
    vg_err err;
    const char *dest_uri, *dest_dir;
    if (rpc_string(params, "dest_uri", 1, 1024, &dest_uri, &err) != VG_OK ||
        rpc_string(params, "dest_console_dir", 1, 512, &dest_dir, &err) != VG_OK) {
        rpc_fail(call, &err);
        return;
    }
    if (!dest_uri[0] || dest_dir[0] != '/') {
        vg_fail(&err, VG_E_BAD_REQUEST, "dest_uri must be a URI and dest_console_dir absolute");
        rpc_fail(call, &err);
        return;
    }
    run_worker(call, params, child_migrate);
}

/* ---- snapshots ---- */

static virDomainSnapshotPtr snapshot(virDomainPtr d, const cJSON *params, vg_err *err)
{
    const char *name;
    if (rpc_name(params, "name", 1, &name, err) != VG_OK)
        return NULL;
    virDomainSnapshotPtr s = virDomainSnapshotLookupByName(d, name, 0);
    if (!s)
        lv_fail(err);
    return s;
}

static cJSON *parent_json(virDomainSnapshotPtr s)
{
    virDomainSnapshotPtr p = virDomainSnapshotGetParent(s, 0);
    if (!p) {
        virResetLastError();
        return cJSON_CreateNull();
    }
    cJSON *j = cJSON_CreateString(virDomainSnapshotGetName(p));
    virDomainSnapshotFree(p);
    return j;
}

static int child_snapshot_create(virConnectPtr c, const cJSON *params, cJSON **result, vg_err *err)
{
    const char *name, *desc;
    int disk_only;
    rpc_name(params, "name", 1, &name, err);
    rpc_string(params, "description", 0, 1024, &desc, err);
    rpc_bool(params, "disk_only", 0, &disk_only, err);
    virDomainPtr d = child_domain(c, params, err);
    if (!d)
        return VG_ERR;
    char *xml = vmxml_snapshot_doc(name, desc, err);
    unsigned flags =
        disk_only ? VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY | VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC : 0;
    virDomainSnapshotPtr s = xml ? virDomainSnapshotCreateXML(d, xml, flags) : NULL;
    int rc = VG_ERR;
    if (s) {
        *result = cJSON_CreateObject();
        cJSON_AddStringToObject(*result, "name", virDomainSnapshotGetName(s));
        cJSON_AddItemToObject(*result, "parent", parent_json(s));
        virDomainSnapshotFree(s);
        rc = VG_OK;
    } else if (xml) {
        lv_fail(err);
    }
    free(xml);
    virDomainFree(d);
    return rc;
}

void vmops_snapshot_create(rpc_call *call, const cJSON *params)
{
    vg_err err;
    const char *name, *desc;
    int disk_only;
    virDomainPtr d = NULL;
    if (rpc_name(params, "name", 1, &name, &err) != VG_OK ||
        rpc_string(params, "description", 0, 1024, &desc, &err) != VG_OK ||
        rpc_bool(params, "disk_only", 0, &disk_only, &err) != VG_OK ||
        !(d = call_domain(params, &err)))
        goto fail;
    virDomainSnapshotPtr s = virDomainSnapshotLookupByName(d, name, 0);
    if (s) {
        virDomainSnapshotFree(s);
        vg_fail(&err, VG_E_CONFLICT, "VM %s already has a snapshot named %s", virDomainGetName(d),
                name);
        goto fail;
    }
    virResetLastError();
    virDomainFree(d);
    if (worker_start(child_snapshot_create, params, worker_answer, call, &err) != VG_OK)
        rpc_fail(call, &err);
    return;
fail:
    if (d)
        virDomainFree(d);
    rpc_fail(call, &err);
}

void vmops_snapshot_list(rpc_call *call, const cJSON *params)
{
    vg_err err;
    virDomainSnapshotPtr *snaps = NULL;
    virDomainPtr d = call_domain(params, &err);
    int n = d ? virDomainListAllSnapshots(d, &snaps, 0) : -1;
    if (n < 0) {
        if (d) {
            lv_fail(&err);
            virDomainFree(d);
        }
        rpc_fail(call, &err);
        return;
    }
    cJSON *r = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(r, "snapshots");
    for (int i = 0; i < n; i++) {
        vmxml_snapshot info;
        char *xml = virDomainSnapshotGetXMLDesc(snaps[i], 0);
        if (!xml || vmxml_snapshot_parse(xml, &info, &err) != VG_OK)
            memset(&info, 0, sizeof(info));
        free(xml);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", virDomainSnapshotGetName(snaps[i]));
        cJSON_AddItemToObject(o, "parent", parent_json(snaps[i]));
        cJSON_AddStringToObject(o, "state", info.state);
        cJSON_AddNumberToObject(o, "created_s", (double)info.created_s);
        cJSON_AddBoolToObject(o, "external", info.external);
        cJSON_AddBoolToObject(o, "current", virDomainSnapshotIsCurrent(snaps[i], 0) == 1);
        cJSON_AddItemToArray(arr, o);
        virDomainSnapshotFree(snaps[i]);
    }
    free(snaps);
    virDomainFree(d);
    rpc_reply(call, r);
}

static int child_snapshot_revert(virConnectPtr c, const cJSON *params, cJSON **result, vg_err *err)
{
    virDomainPtr d = child_domain(c, params, err);
    virDomainSnapshotPtr s = d ? snapshot(d, params, err) : NULL;
    int rc = VG_ERR;
    if (s && virDomainRevertToSnapshot(s, 0) < 0)
        lv_fail(err);
    else if (s)
        rc = VG_OK;
    if (rc == VG_OK)
        *result = cJSON_CreateObject();
    if (s)
        virDomainSnapshotFree(s);
    if (d)
        virDomainFree(d);
    return rc;
}

static int child_snapshot_delete(virConnectPtr c, const cJSON *params, cJSON **result, vg_err *err)
{
    int children;
    rpc_bool(params, "children", 0, &children, err);
    virDomainPtr d = child_domain(c, params, err);
    virDomainSnapshotPtr s = d ? snapshot(d, params, err) : NULL;
    int rc = VG_ERR;
    if (s && virDomainSnapshotDelete(s, children ? VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN : 0) < 0)
        lv_fail(err);
    else if (s)
        rc = VG_OK;
    if (rc == VG_OK)
        *result = cJSON_CreateObject();
    if (s)
        virDomainSnapshotFree(s);
    if (d)
        virDomainFree(d);
    return rc;
}

/* Revert and delete: the snapshot must exist before a worker is forked for it. */
static void snapshot_worker(rpc_call *call, const cJSON *params, worker_fn *fn)
{
    vg_err err;
    int children;
    virDomainPtr d = NULL;
    virDomainSnapshotPtr s = NULL;
    if (rpc_bool(params, "children", 0, &children, &err) != VG_OK ||
        !(d = call_domain(params, &err)) || !(s = snapshot(d, params, &err))) {
        if (d)
            virDomainFree(d);
        rpc_fail(call, &err);
        return;
    }
    virDomainSnapshotFree(s);
    virDomainFree(d);
    if (worker_start(fn, params, worker_answer, call, &err) != VG_OK)
        rpc_fail(call, &err);
}

void vmops_snapshot_revert(rpc_call *call, const cJSON *params)
{
    snapshot_worker(call, params, child_snapshot_revert);
}

void vmops_snapshot_delete(rpc_call *call, const cJSON *params)
{
    snapshot_worker(call, params, child_snapshot_delete);
}

/* ---- host.info and the registry's host fields ---- */

static double round1(double v)
{
    return round(v * 10.0) / 10.0;
}

/* Target directories of the active pools (caller frees each), and a JSON list of every pool
 * when pools is not NULL. */
static size_t pool_paths(virConnectPtr c, char **paths, size_t cap, cJSON *pools)
{
    virStoragePoolPtr *all = NULL;
    if (!c)
        return 0;
    int n = virConnectListAllStoragePools(c, &all, 0);
    size_t np = 0;
    for (int i = 0; i < n; i++) {
        virStoragePoolInfo info;
        int active = virStoragePoolIsActive(all[i]) == 1;
        char *xml = virStoragePoolGetXMLDesc(all[i], 0);
        char path[VMXML_PATH_MAX] = "";
        vg_err err;
        if (xml && vmxml_pool_path(xml, path, sizeof(path), &err) == VG_OK && active && np < cap &&
            path[0] == '/')
            paths[np++] = strdup(path);
        free(xml);
        if (pools) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", virStoragePoolGetName(all[i]));
            cJSON_AddBoolToObject(o, "active", active);
            cJSON_AddStringToObject(o, "path", path);
            if (virStoragePoolGetInfo(all[i], &info) == 0) {
                cJSON_AddNumberToObject(o, "capacity_mib", (double)(info.capacity >> 20));
                cJSON_AddNumberToObject(o, "allocation_mib", (double)(info.allocation >> 20));
                cJSON_AddNumberToObject(o, "available_mib", (double)(info.available >> 20));
            }
            cJSON_AddItemToArray(pools, o);
        }
        virStoragePoolFree(all[i]);
    }
    free(all);
    virResetLastError();
    return np;
}

static void networks_json(virConnectPtr c, cJSON *arr)
{
    virNetworkPtr *all = NULL;
    int n = c ? virConnectListAllNetworks(c, &all, 0) : -1;
    for (int i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        int active = virNetworkIsActive(all[i]) == 1;
        cJSON_AddStringToObject(o, "name", virNetworkGetName(all[i]));
        cJSON_AddBoolToObject(o, "active", active);
        char *bridge = active ? virNetworkGetBridgeName(all[i]) : NULL;
        if (bridge)
            cJSON_AddStringToObject(o, "bridge", bridge);
        free(bridge);
        cJSON_AddItemToArray(arr, o);
        virNetworkFree(all[i]);
    }
    free(all);
    virResetLastError();
}

static int sample(virConnectPtr c, hostinfo *h, cJSON *pools, vg_err *err)
{
    char *paths[VMOPS_MAX_POOLS + 1];
    size_t np = pool_paths(c, paths, VMOPS_MAX_POOLS, pools);
    paths[np] = NULL;
    int rc = hostinfo_sample((const char *const *)paths, cfg->state_dir, h, err);
    for (size_t i = 0; i < np; i++)
        free(paths[i]);
    return rc;
}

static void add_load(cJSON *o, const hostinfo *h)
{
    cJSON_AddNumberToObject(o, "cpus", (double)h->cpus);
    cJSON_AddNumberToObject(o, "mem_mib", (double)h->mem_mib);
    cJSON_AddNumberToObject(o, "disk_mib", (double)h->disk_mib);
    cJSON_AddNumberToObject(o, "cpu_pct", round1(h->cpu_pct));
    cJSON_AddNumberToObject(o, "mem_pct", round1(h->mem_pct));
    cJSON_AddNumberToObject(o, "net_mbps", round1(h->net_mbps * 100.0) / 100.0);
}

void vmops_host_fields(cJSON *host)
{
    hostinfo h;
    vg_err err;
    if (sample(virt_conn(), &h, NULL, &err) == VG_OK)
        add_load(host, &h);
    else
        vg_warn("vmops", "host load: %s", err.msg);
    cJSON_AddStringToObject(host, "console_dir", cfg->console_dir);
    cJSON_AddStringToObject(host, "libvirt_uri", cfg->migrate_uri);
}

void vmops_host_info(rpc_call *call, const cJSON *params)
{
    (void)params;
    vg_err err;
    hostinfo h;
    virConnectPtr c = conn_or_fail(&err);
    cJSON *r = cJSON_CreateObject();
    cJSON *pools = cJSON_CreateArray();
    if (!c || sample(c, &h, pools, &err) != VG_OK) {
        cJSON_Delete(r);
        cJSON_Delete(pools);
        rpc_fail(call, &err);
        return;
    }
    add_load(r, &h);
    cJSON_AddItemToObject(r, "pools", pools);
    networks_json(c, cJSON_AddArrayToObject(r, "networks"));
    rpc_reply(call, r);
}
