#include "storage/storage.h"

#include "libvirt/vmops_int.h"
#include "libvirt/vmxml.h"
#include "storage/poolcap.h"
#include "storage/poolxml.h"
#include "vg_log.h"
#include "vg_poolspec.h"
#include "vg_util.h"

#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET_MAX 1024

static const char *roots = "/var/lib/vmgate/pools";

void hd_storage_configure(const char *r)
{
    if (r)
        roots = r;
}

static const char *pool_state(virStoragePoolPtr p, virStoragePoolInfo *info)
{
    static const char *const names[] = {"inactive", "building", "running", "degraded",
                                        "inaccessible"};
    if (virStoragePoolGetInfo(p, info) < 0) {
        memset(info, 0, sizeof(*info));
        return "unknown";
    }
    return (size_t)info->state < sizeof(names) / sizeof(names[0]) ? names[info->state] : "unknown";
}

static cJSON *pool_json(virStoragePoolPtr p)
{
    virStoragePoolInfo info;
    int autostart = 0;
    char type[16] = "", path[VMXML_PATH_MAX] = "";
    vg_err err = {0};
    char *xml = virStoragePoolGetXMLDesc(p, 0);
    if (xml) {
        hd_poolxml_type(xml, type, sizeof(type), &err);
        hd_vmxml_pool_path(xml, path, sizeof(path), &err);
    }
    free(xml);
    virStoragePoolGetAutostart(p, &autostart);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", virStoragePoolGetName(p));
    cJSON_AddStringToObject(o, "type", type);
    cJSON_AddStringToObject(o, "state", pool_state(p, &info));
    cJSON_AddBoolToObject(o, "autostart", autostart);
    cJSON_AddStringToObject(o, "path", path);
    cJSON_AddNumberToObject(o, "capacity", (double)info.capacity);
    cJSON_AddNumberToObject(o, "allocation", (double)info.allocation);
    cJSON_AddNumberToObject(o, "available", (double)info.available);
    int nv = info.state == VIR_STORAGE_POOL_RUNNING ? virStoragePoolNumOfVolumes(p) : 0;
    cJSON_AddNumberToObject(o, "volumes", nv > 0 ? nv : 0);
    virResetLastError();
    return o;
}

/* ---- pools ---- */

void hd_storage_pool_list(rpc_call *call, const cJSON *params)
{
    (void)params;
    vg_err err = {0};
    virConnectPtr c = hd_vmops_conn(&err);
    virStoragePoolPtr *all = NULL;
    int n = c ? virConnectListAllStoragePools(c, &all, 0) : -1;
    if (n < 0) {
        if (c)
            hd_vmops_lv_fail(&err);
        hd_rpc_fail(call, &err);
        return;
    }
    cJSON *r = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(r, "pools");
    for (int i = 0; i < n; i++) {
        cJSON_AddItemToArray(list, pool_json(all[i]));
        virStoragePoolFree(all[i]);
    }
    free(all);
    hd_rpc_reply(call, r);
}

static void reply_pool(rpc_call *call, virStoragePoolPtr p)
{
    cJSON *o = pool_json(p);
    virStoragePoolFree(p);
    hd_rpc_reply(call, o);
}

/* Builds (makes the directory of dir, fs and netfs pools, never formats a device), starts and
 * marks autostart; anything failing undoes the definition, so a refused pool leaves nothing
 * behind on this host. */
void hd_storage_pool_define(rpc_call *call, const cJSON *params)
{
    vg_err err = {0};
    vg_poolspec s;
    const char *name;
    int autostart;
    virConnectPtr c;
    if (hd_rpc_name(params, "pool", 1, &name, &err) != VG_OK ||
        hd_rpc_bool(params, "autostart", 1, &autostart, &err) != VG_OK ||
        vg_poolspec_parse(name, cJSON_GetObjectItemCaseSensitive(params, "spec"), &s, &err) !=
            VG_OK ||
        !(c = hd_vmops_conn(&err))) {
        hd_rpc_fail(call, &err);
        return;
    }
    if (vg_poolspec_local_target(&s) && !vg_poolspec_under_roots(s.target, roots)) {
        vg_fail(&err, VG_E_FORBIDDEN, "spec.target %.60s is outside this host's pool_roots (%.60s)",
                s.target, roots);
        hd_rpc_fail(call, &err);
        return;
    }
    virStoragePoolPtr p = virStoragePoolLookupByName(c, name);
    if (p) {
        virStoragePoolFree(p);
        vg_fail(&err, VG_E_CONFLICT, "pool %s exists on this host", name);
        hd_rpc_fail(call, &err);
        return;
    }
    virResetLastError();
    if (hd_poolcap_check(c, &s, &err) != VG_OK) {
        hd_rpc_fail(call, &err);
        return;
    }
    char *xml = hd_poolxml_pool(&s, &err);
    if (!xml) {
        hd_rpc_fail(call, &err);
        return;
    }
    p = virStoragePoolDefineXML(c, xml, 0);
    free(xml);
    if (!p) {
        hd_vmops_lv_fail(&err);
        hd_rpc_fail(call, &err);
        return;
    }
    int ok = (!vg_poolspec_local_target(&s) || virStoragePoolBuild(p, 0) == 0) &&
             virStoragePoolCreate(p, 0) == 0 && virStoragePoolSetAutostart(p, autostart) == 0;
    if (!ok) {
        hd_vmops_lv_fail(&err);
        if (virStoragePoolIsActive(p) == 1)
            virStoragePoolDestroy(p);
        virStoragePoolUndefine(p);
        virStoragePoolFree(p);
        vg_warn("storage", "pool %s not defined: %s", name, err.msg);
        hd_rpc_fail(call, &err);
        return;
    }
    vg_info("storage", "pool %s (%s) defined and started", name, vg_pool_type_name(s.type));
    reply_pool(call, p);
}

/* conflict when a running domain has a medium in the pool. */
static int pool_idle(virConnectPtr c, virStoragePoolPtr p, vg_err *err)
{
    virStorageVolPtr *vols = NULL;
    int n = virStoragePoolIsActive(p) == 1 ? virStoragePoolListAllVolumes(p, &vols, 0) : 0;
    int rc = VG_OK;
    for (int i = 0; i < n; i++) {
        char *path = rc == VG_OK ? virStorageVolGetPath(vols[i]) : NULL;
        if (path)
            rc = hd_storage_vol_idle(c, virStoragePoolGetName(p), virStorageVolGetName(vols[i]),
                                     path, err);
        free(path);
        virStorageVolFree(vols[i]);
    }
    free(vols);
    virResetLastError();
    return rc;
}

/* Volumes that hold data: a filesystem's lost+found directory is none. */
static int data_volumes(virStoragePoolPtr p)
{
    virStorageVolPtr *vols = NULL;
    int n = virStoragePoolListAllVolumes(p, &vols, 0), data = 0;
    for (int i = 0; i < n; i++) {
        virStorageVolInfo info;
        if (virStorageVolGetInfo(vols[i], &info) < 0 || info.type != VIR_STORAGE_VOL_DIR)
            data++;
        virStorageVolFree(vols[i]);
    }
    free(vols);
    return data;
}

/* Stops and undefines a pool that may go. The empty directory of a dir pool goes with it
 * (libvirt refuses a non-empty one, which then stays); a mount point or a device is never
 * touched. */
static int drop_pool(virStoragePoolPtr p, int active, const char *type, vg_err *err)
{
    if (active && virStoragePoolDestroy(p) < 0)
        return hd_vmops_lv_fail(err);
    if (!strcmp(type, "dir") && virStoragePoolDelete(p, 0) < 0)
        virResetLastError();
    return virStoragePoolUndefine(p) < 0 ? hd_vmops_lv_fail(err) : VG_OK;
}

/* Refused while the pool holds volumes: deleting a pool never deletes data. */
void hd_storage_pool_undefine(rpc_call *call, const cJSON *params)
{
    vg_err err = {0};
    virConnectPtr c;
    virStoragePoolPtr p = hd_storage_call_pool(&c, params, &err);
    if (!p) {
        hd_rpc_fail(call, &err);
        return;
    }
    /* A refresh stops a pool whose storage went: the directory of a shared dir pool that
     * another member of its group has just removed with its own copy of the pool. */
    if (virStoragePoolIsActive(p) == 1)
        virStoragePoolRefresh(p, 0);
    virResetLastError();
    int active = virStoragePoolIsActive(p) == 1;
    char type[16] = "";
    char *xml = virStoragePoolGetXMLDesc(p, 0);
    if (xml)
        hd_poolxml_type(xml, type, sizeof(type), &err);
    free(xml);
    /* An iSCSI pool's volumes are the target's LUNs: the pool neither made them nor can delete
     * them, and undefining it leaves them as they are; only a running VM on one holds it. */
    int luns = !strcmp(type, "iscsi") || !strcmp(type, "iscsi-direct");
    int nv = active && !luns ? data_volumes(p) : 0;
    int rc = active && luns ? pool_idle(c, p, &err) : VG_OK;
    if (rc == VG_OK && nv > 0)
        rc = vg_fail(&err, VG_E_CONFLICT, "pool %s holds %d volume%s; delete them first",
                     virStoragePoolGetName(p), nv, nv == 1 ? "" : "s");
    if (rc == VG_OK)
        rc = drop_pool(p, active, type, &err);
    virStoragePoolFree(p);
    if (rc == VG_OK)
        hd_rpc_reply(call, NULL);
    else
        hd_rpc_fail(call, &err);
}

typedef enum pool_op { OP_START, OP_STOP, OP_REFRESH } pool_op;

static void pool_action(rpc_call *call, const cJSON *params, pool_op op)
{
    vg_err err = {0};
    virConnectPtr c;
    virStoragePoolPtr p = hd_storage_call_pool(&c, params, &err);
    if (!p) {
        hd_rpc_fail(call, &err);
        return;
    }
    int active = virStoragePoolIsActive(p) == 1, rc = VG_OK;
    if (op == OP_START && active)
        rc = vg_fail(&err, VG_E_CONFLICT, "pool %s is running", virStoragePoolGetName(p));
    else if (op != OP_START && !active)
        rc = vg_fail(&err, VG_E_CONFLICT, "pool %s is not running", virStoragePoolGetName(p));
    else if (op == OP_STOP)
        rc = pool_idle(c, p, &err);
    if (rc == VG_OK && ((op == OP_START && virStoragePoolCreate(p, 0) < 0) ||
                        (op == OP_STOP && virStoragePoolDestroy(p) < 0) ||
                        (op == OP_REFRESH && virStoragePoolRefresh(p, 0) < 0)))
        rc = hd_vmops_lv_fail(&err);
    if (rc == VG_OK) {
        reply_pool(call, p);
        return;
    }
    virStoragePoolFree(p);
    hd_rpc_fail(call, &err);
}

void hd_storage_pool_start(rpc_call *call, const cJSON *params)
{
    pool_action(call, params, OP_START);
}

void hd_storage_pool_stop(rpc_call *call, const cJSON *params)
{
    pool_action(call, params, OP_STOP);
}

void hd_storage_pool_refresh(rpc_call *call, const cJSON *params)
{
    pool_action(call, params, OP_REFRESH);
}

void hd_storage_pool_autostart(rpc_call *call, const cJSON *params)
{
    vg_err err = {0};
    virConnectPtr c;
    int on;
    virStoragePoolPtr p = NULL;
    if (hd_rpc_bool(params, "autostart", 0, &on, &err) != VG_OK ||
        !(p = hd_storage_call_pool(&c, params, &err)) || virStoragePoolSetAutostart(p, on) < 0) {
        if (p)
            hd_vmops_lv_fail(&err);
        if (p)
            virStoragePoolFree(p);
        hd_rpc_fail(call, &err);
        return;
    }
    reply_pool(call, p);
}

/* ---- secrets ---- */

/* The value is set and never read back or logged; libvirt keeps it private. */
void hd_storage_secret_define(rpc_call *call, const cJSON *params)
{
    vg_err err = {0};
    const char *name, *value, *desc = NULL;
    virConnectPtr c;
    if (hd_rpc_name(params, "secret", 1, &name, &err) != VG_OK ||
        hd_rpc_string(params, "value", 1, SECRET_MAX, &value, &err) != VG_OK ||
        hd_rpc_string(params, "description", 0, 256, &desc, &err) != VG_OK ||
        !(c = hd_vmops_conn(&err))) {
        hd_rpc_fail(call, &err);
        return;
    }
    virSecretPtr s = virSecretLookupByUsage(c, VIR_SECRET_USAGE_TYPE_ISCSI, name);
    if (!s) {
        char *xml = hd_poolxml_secret(name, desc, &err);
        s = xml ? virSecretDefineXML(c, xml, 0) : NULL;
        free(xml);
        if (!s && xml)
            hd_vmops_lv_fail(&err);
    }
    virResetLastError();
    int rc = s && virSecretSetValue(s, (const unsigned char *)value, strlen(value), 0) == 0;
    if (s && !rc)
        hd_vmops_lv_fail(&err);
    if (s)
        virSecretFree(s);
    if (!rc) {
        hd_rpc_fail(call, &err);
        return;
    }
    vg_info("storage", "secret %s set", name);
    hd_rpc_reply(call, NULL);
}

void hd_storage_secret_undefine(rpc_call *call, const cJSON *params)
{
    vg_err err = {0};
    const char *name;
    virConnectPtr c;
    if (hd_rpc_name(params, "secret", 1, &name, &err) != VG_OK || !(c = hd_vmops_conn(&err))) {
        hd_rpc_fail(call, &err);
        return;
    }
    virSecretPtr s = virSecretLookupByUsage(c, VIR_SECRET_USAGE_TYPE_ISCSI, name);
    int rc = !s || virSecretUndefine(s) == 0; /* already gone is what was asked */
    if (!rc)
        hd_vmops_lv_fail(&err);
    if (s)
        virSecretFree(s);
    virResetLastError();
    if (rc)
        hd_rpc_reply(call, NULL);
    else
        hd_rpc_fail(call, &err);
}
