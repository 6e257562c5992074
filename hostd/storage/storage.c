#include "storage/storage.h"

#include "libvirt/vmops_int.h"
#include "libvirt/vmxml.h"
#include "storage/poolxml.h"
#include "vg_log.h"
#include "vg_poolspec.h"
#include "vg_util.h"

#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VOLUME_MIB_MAX (64LL * 1024 * 1024) /* 64 TiB */
#define SECRET_MAX 1024

static const char *roots = "/var/lib/vmgate/pools";

void hd_storage_configure(const char *r)
{
    if (r)
        roots = r;
}

static virStoragePoolPtr call_pool(virConnectPtr *c, const cJSON *params, vg_err *err)
{
    const char *name;
    if (hd_rpc_name(params, "pool", 1, &name, err) != VG_OK || !(*c = hd_vmops_conn(err)))
        return NULL;
    virStoragePoolPtr p = virStoragePoolLookupByName(*c, name);
    if (!p)
        hd_vmops_lv_fail(err);
    return p;
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

/* Refused while the pool holds volumes: deleting a pool never deletes data. */
void hd_storage_pool_undefine(rpc_call *call, const cJSON *params)
{
    vg_err err = {0};
    virConnectPtr c;
    virStoragePoolPtr p = call_pool(&c, params, &err);
    if (!p) {
        hd_rpc_fail(call, &err);
        return;
    }
    int active = virStoragePoolIsActive(p) == 1;
    if (active)
        virStoragePoolRefresh(p, 0);
    int nv = active ? data_volumes(p) : 0;
    char type[16] = "";
    char *xml = virStoragePoolGetXMLDesc(p, 0);
    if (xml)
        hd_poolxml_type(xml, type, sizeof(type), &err);
    free(xml);
    int rc = VG_OK;
    if (nv > 0)
        rc = vg_fail(&err, VG_E_CONFLICT, "pool %s holds %d volume%s; delete them first",
                     virStoragePoolGetName(p), nv, nv == 1 ? "" : "s");
    else if (active && virStoragePoolDestroy(p) < 0)
        rc = hd_vmops_lv_fail(&err);
    else {
        /* The empty directory of a dir pool goes with it (libvirt refuses a non-empty one, which
         * then stays); a mount point or a device is never touched. */
        if (!strcmp(type, "dir") && virStoragePoolDelete(p, 0) < 0)
            virResetLastError();
        if (virStoragePoolUndefine(p) < 0)
            rc = hd_vmops_lv_fail(&err);
    }
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
    virStoragePoolPtr p = call_pool(&c, params, &err);
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
        !(p = call_pool(&c, params, &err)) || virStoragePoolSetAutostart(p, on) < 0) {
        if (p)
            hd_vmops_lv_fail(&err);
        if (p)
            virStoragePoolFree(p);
        hd_rpc_fail(call, &err);
        return;
    }
    reply_pool(call, p);
}

/* ---- volumes ---- */

virStorageVolPtr hd_storage_call_volume(virConnectPtr c, const cJSON *params, vg_err *err)
{
    const char *pool, *vol;
    if (hd_rpc_name(params, "pool", 1, &pool, err) != VG_OK ||
        hd_rpc_name(params, "volume", 1, &vol, err) != VG_OK)
        return NULL;
    return hd_vmops_volume(c, pool, vol, err);
}

int hd_storage_vol_idle(virConnectPtr c, const char *pool, const char *vol, const char *path,
                        vg_err *err)
{
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(c, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
    int rc = VG_OK;
    for (int i = 0; i < n; i++) {
        vmxml_disk disks[VMXML_MAX_DISKS];
        size_t nd = 0;
        vg_err e;
        char *xml = rc == VG_OK ? virDomainGetXMLDesc(doms[i], 0) : NULL;
        if (xml && hd_vmxml_media(xml, disks, VMXML_MAX_DISKS, &nd, &e) == VG_OK)
            for (size_t k = 0; k < nd && rc == VG_OK; k++)
                if (!strcmp(disks[k].file, path) ||
                    (!strcmp(disks[k].pool, pool) && !strcmp(disks[k].volume, vol)))
                    rc = vg_fail(err, VG_E_CONFLICT, "volume %s/%s is in use by running VM %s",
                                 pool, vol, virDomainGetName(doms[i]));
        free(xml);
        virDomainFree(doms[i]);
    }
    free(doms);
    virResetLastError();
    return rc;
}

cJSON *hd_storage_vol_json(virStorageVolPtr v)
{
    virStorageVolInfo info;
    char fmt[32] = "", backing[VMXML_PATH_MAX] = "";
    vg_err err = {0};
    char *xml = virStorageVolGetXMLDesc(v, 0);
    if (xml) {
        hd_vmxml_volume_format(xml, fmt, sizeof(fmt), &err);
        hd_vmxml_volume_backing(xml, backing, sizeof(backing), &err);
    }
    free(xml);
    if (virStorageVolGetInfo(v, &info) < 0)
        memset(&info, 0, sizeof(info));
    char *path = virStorageVolGetPath(v);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", virStorageVolGetName(v));
    cJSON_AddStringToObject(o, "path", path ? path : "");
    cJSON_AddStringToObject(o, "format", fmt);
    cJSON_AddNumberToObject(o, "capacity", (double)info.capacity);
    cJSON_AddNumberToObject(o, "allocation", (double)info.allocation);
    if (backing[0])
        cJSON_AddStringToObject(o, "backing", backing);
    free(path);
    virResetLastError();
    return o;
}

void hd_storage_vol_list(rpc_call *call, const cJSON *params)
{
    vg_err err = {0};
    virConnectPtr c;
    virStoragePoolPtr p = call_pool(&c, params, &err);
    virStorageVolPtr *vols = NULL;
    int n = -1;
    /* Another host sharing the pool may have added or removed volumes: refresh first. */
    if (p &&
        (virStoragePoolRefresh(p, 0) < 0 || (n = virStoragePoolListAllVolumes(p, &vols, 0)) < 0))
        hd_vmops_lv_fail(&err);
    if (p)
        virStoragePoolFree(p);
    if (n < 0) {
        hd_rpc_fail(call, &err);
        return;
    }
    cJSON *r = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(r, "volumes");
    for (int i = 0; i < n; i++) {
        cJSON_AddItemToArray(list, hd_storage_vol_json(vols[i]));
        virStorageVolFree(vols[i]);
    }
    free(vols);
    hd_rpc_reply(call, r);
}

static void reply_vol(rpc_call *call, virStorageVolPtr v)
{
    cJSON *o = hd_storage_vol_json(v);
    virStorageVolFree(v);
    hd_rpc_reply(call, o);
}

void hd_storage_vol_get(rpc_call *call, const cJSON *params)
{
    vg_err err = {0};
    virConnectPtr c = hd_vmops_conn(&err);
    virStorageVolPtr v = c ? hd_storage_call_volume(c, params, &err) : NULL;
    if (!v)
        hd_rpc_fail(call, &err);
    else
        reply_vol(call, v);
}

void hd_storage_vol_create(rpc_call *call, const cJSON *params)
{
    vg_err err = {0};
    const char *vol, *format = "qcow2", *bpool = NULL, *bvol = NULL;
    long long mib;
    virConnectPtr c;
    virStoragePoolPtr p = NULL;
    virStorageVolPtr b = NULL, v = NULL;
    char bpath_fmt[32] = "", *bpath = NULL, *xml = NULL;
    virStorageVolInfo binfo;
    if (hd_rpc_name(params, "volume", 1, &vol, &err) == VG_OK &&
        hd_rpc_int(params, "size_mib", 0, 1, VOLUME_MIB_MAX, &mib, &err) == VG_OK &&
        hd_rpc_string(params, "format", 0, 8, &format, &err) == VG_OK &&
        hd_rpc_name(params, "backing_pool", 0, &bpool, &err) == VG_OK &&
        hd_rpc_name(params, "backing_volume", 0, &bvol, &err) == VG_OK &&
        (p = call_pool(&c, params, &err))) {
        if (strcmp(format, "qcow2") && strcmp(format, "raw"))
            vg_fail(&err, VG_E_BAD_REQUEST, "params.format must be qcow2 or raw");
        else if (bvol && strcmp(format, "qcow2"))
            vg_fail(&err, VG_E_BAD_REQUEST, "only a qcow2 volume has a backing image");
        else if (bvol &&
                 (!(b = hd_vmops_volume(c, bpool ? bpool : virStoragePoolGetName(p), bvol, &err)) ||
                  hd_vmops_vol_format(b, bpath_fmt, sizeof(bpath_fmt), &err) != VG_OK ||
                  !(bpath = virStorageVolGetPath(b))))
            ;
        else if (!mib && !b)
            vg_fail(&err, VG_E_BAD_REQUEST, "params.size_mib must be 1 or more");
        else if (!mib && virStorageVolGetInfo(b, &binfo) < 0)
            hd_vmops_lv_fail(&err);
        else if ((xml = hd_vmxml_volume(vol, mib ? mib : (long long)(binfo.capacity >> 20), format,
                                        bpath, bpath_fmt, &err)) &&
                 !(v = virStorageVolCreateXML(p, xml, 0)))
            hd_vmops_lv_fail(&err);
    }
    if (b && !bpath && err.code == VG_E_NONE)
        hd_vmops_lv_fail(&err);
    free(xml);
    free(bpath);
    if (b)
        virStorageVolFree(b);
    if (p)
        virStoragePoolFree(p);
    if (v)
        reply_vol(call, v);
    else
        hd_rpc_fail(call, &err);
}

void hd_storage_vol_resize(rpc_call *call, const cJSON *params)
{
    vg_err err = {0};
    long long mib;
    virStorageVolInfo info;
    virConnectPtr c = hd_vmops_conn(&err);
    virStorageVolPtr v = NULL;
    char *path = NULL;
    if (c && hd_rpc_int(params, "size_mib", 0, 1, VOLUME_MIB_MAX, &mib, &err) == VG_OK &&
        (v = hd_storage_call_volume(c, params, &err)) && (path = virStorageVolGetPath(v)) &&
        virStorageVolGetInfo(v, &info) == 0 &&
        hd_storage_vol_idle(c, cJSON_GetObjectItem(params, "pool")->valuestring,
                            virStorageVolGetName(v), path, &err) == VG_OK) {
        unsigned long long bytes = (unsigned long long)mib << 20;
        unsigned flags = bytes < info.capacity ? VIR_STORAGE_VOL_RESIZE_SHRINK : 0;
        if (virStorageVolResize(v, bytes, flags) < 0)
            hd_vmops_lv_fail(&err);
        else {
            free(path);
            reply_vol(call, v);
            return;
        }
    } else if (v && err.code == VG_E_NONE)
        hd_vmops_lv_fail(&err);
    free(path);
    if (v)
        virStorageVolFree(v);
    hd_rpc_fail(call, &err);
}

/* A copy can take minutes: it runs in a worker, on the worker's own connection. */
static int child_clone(virConnectPtr c, const cJSON *params, cJSON **result, vg_err *err)
{
    const char *name, *to = NULL;
    virStorageVolPtr src = hd_storage_call_volume(c, params, err), v = NULL;
    virStoragePoolPtr dst = NULL;
    char fmt[32], *xml = NULL;
    virStorageVolInfo info;
    int rc = VG_ERR;
    if (src && hd_rpc_name(params, "name", 1, &name, err) == VG_OK &&
        hd_rpc_name(params, "target_pool", 0, &to, err) == VG_OK &&
        hd_vmops_vol_format(src, fmt, sizeof(fmt), err) == VG_OK &&
        virStorageVolGetInfo(src, &info) == 0) {
        if (!to)
            to = cJSON_GetObjectItem(params, "pool")->valuestring;
        if (!(dst = virStoragePoolLookupByName(c, to)))
            hd_vmops_lv_fail(err);
        else if ((xml = hd_vmxml_volume(name, (long long)((info.capacity + (1 << 20) - 1) >> 20),
                                        fmt, NULL, NULL, err)) &&
                 !(v = virStorageVolCreateXMLFrom(dst, xml, src, 0)))
            hd_vmops_lv_fail(err);
        else if (v) {
            *result = hd_storage_vol_json(v);
            rc = VG_OK;
        }
    } else if (src && err->code == VG_E_NONE)
        hd_vmops_lv_fail(err);
    free(xml);
    if (v)
        virStorageVolFree(v);
    if (dst)
        virStoragePoolFree(dst);
    if (src)
        virStorageVolFree(src);
    return rc;
}

void hd_storage_vol_clone(rpc_call *call, const cJSON *params)
{
    vg_err err = {0};
    virConnectPtr c = hd_vmops_conn(&err);
    virStorageVolPtr v = c ? hd_storage_call_volume(c, params, &err) : NULL;
    const char *name;
    if (v && hd_rpc_name(params, "name", 1, &name, &err) == VG_OK &&
        hd_worker_start(child_clone, params, hd_vmops_worker_answer, call, &err) == VG_OK) {
        virStorageVolFree(v);
        return;
    }
    if (v)
        virStorageVolFree(v);
    hd_rpc_fail(call, &err);
}

void hd_storage_vol_delete(rpc_call *call, const cJSON *params)
{
    vg_err err = {0};
    virConnectPtr c = hd_vmops_conn(&err);
    virStorageVolPtr v = c ? hd_storage_call_volume(c, params, &err) : NULL;
    char *path = v ? virStorageVolGetPath(v) : NULL;
    int rc = VG_ERR;
    if (path && hd_storage_vol_idle(c, cJSON_GetObjectItem(params, "pool")->valuestring,
                                    virStorageVolGetName(v), path, &err) == VG_OK) {
        if (virStorageVolDelete(v, 0) < 0)
            hd_vmops_lv_fail(&err);
        else
            rc = VG_OK;
    } else if (v && !path)
        hd_vmops_lv_fail(&err);
    free(path);
    if (v)
        virStorageVolFree(v);
    if (rc == VG_OK)
        hd_rpc_reply(call, NULL);
    else
        hd_rpc_fail(call, &err);
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

/* For shared pools: the gateway asks every host of the pool before it deletes or resizes. */
void hd_storage_vol_check_idle(rpc_call *call, const cJSON *params)
{
    vg_err err = {0};
    virConnectPtr c = hd_vmops_conn(&err);
    virStorageVolPtr v = c ? hd_storage_call_volume(c, params, &err) : NULL;
    char *path = v ? virStorageVolGetPath(v) : NULL;
    int rc = path ? hd_storage_vol_idle(c, cJSON_GetObjectItem(params, "pool")->valuestring,
                                        virStorageVolGetName(v), path, &err)
                  : (v ? hd_vmops_lv_fail(&err) : VG_ERR);
    free(path);
    if (v)
        virStorageVolFree(v);
    if (rc == VG_OK)
        hd_rpc_reply(call, NULL);
    else
        hd_rpc_fail(call, &err);
}

/* Before an upload: the volume, made raw and create_bytes large when it does not exist yet;
 * refused while a running VM uses it. */
void hd_storage_vol_prepare(rpc_call *call, const cJSON *params)
{
    vg_err err = {0};
    long long bytes;
    virConnectPtr c;
    virStoragePoolPtr p = NULL;
    virStorageVolPtr v = NULL;
    const char *vol;
    if (hd_rpc_int(params, "create_bytes", 0, 0, VOLUME_MIB_MAX << 20, &bytes, &err) != VG_OK ||
        hd_rpc_name(params, "volume", 1, &vol, &err) != VG_OK ||
        !(p = call_pool(&c, params, &err))) {
        hd_rpc_fail(call, &err);
        return;
    }
    if (!(v = virStorageVolLookupByName(p, vol))) {
        char *xml = hd_poolxml_raw_volume(vol, bytes ? bytes : 1, &err);
        if (xml && !(v = virStorageVolCreateXML(p, xml, 0)))
            hd_vmops_lv_fail(&err);
        free(xml);
    } else {
        char *path = virStorageVolGetPath(v);
        if (!path || hd_storage_vol_idle(c, virStoragePoolGetName(p), vol, path, &err) != VG_OK) {
            if (!path)
                hd_vmops_lv_fail(&err);
            virStorageVolFree(v);
            v = NULL;
        }
        free(path);
    }
    virResetLastError();
    virStoragePoolFree(p);
    if (v)
        reply_vol(call, v);
    else
        hd_rpc_fail(call, &err);
}
