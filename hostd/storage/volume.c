/* Volumes of this host's pools (storage.h): list, get, create, resize, clone, delete, and the
 * checks the gateway makes before it deletes, resizes or uploads into one. */
#include "storage/storage.h"

#include "libvirt/vmops_int.h"
#include "libvirt/vmxml.h"
#include "storage/poolxml.h"
#include "vg_log.h"
#include "vg_util.h"

#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VOLUME_MIB_MAX (64LL * 1024 * 1024) /* 64 TiB */

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
    virStoragePoolPtr p = hd_storage_call_pool(&c, params, &err);
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

/* The call's answer: the volume v (taken) as hd_storage_vol_json shows it, or err without one. */
static void reply_vol(rpc_call *call, virStorageVolPtr v, const vg_err *err)
{
    if (!v) {
        hd_rpc_fail(call, err);
        return;
    }
    cJSON *o = hd_storage_vol_json(v);
    virStorageVolFree(v);
    hd_rpc_reply(call, o);
}

void hd_storage_vol_get(rpc_call *call, const cJSON *params)
{
    vg_err err = {0};
    virConnectPtr c = hd_vmops_conn(&err);
    reply_vol(call, c ? hd_storage_call_volume(c, params, &err) : NULL, &err);
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
        (p = hd_storage_call_pool(&c, params, &err))) {
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
    reply_vol(call, v, &err);
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
            reply_vol(call, v, &err);
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

/* The volume of params, checked idle on this host (no running VM has it open), then deleted
 * when delete_it. Answers {} or the refusal. */
static void idle_volume(rpc_call *call, const cJSON *params, int delete_it)
{
    vg_err err = {0};
    virConnectPtr c = hd_vmops_conn(&err);
    virStorageVolPtr v = c ? hd_storage_call_volume(c, params, &err) : NULL;
    char *path = v ? virStorageVolGetPath(v) : NULL;
    int rc = path ? hd_storage_vol_idle(c, cJSON_GetObjectItem(params, "pool")->valuestring,
                                        virStorageVolGetName(v), path, &err)
                  : (v ? hd_vmops_lv_fail(&err) : VG_ERR);
    if (rc == VG_OK && delete_it && virStorageVolDelete(v, 0) < 0)
        rc = hd_vmops_lv_fail(&err);
    free(path);
    if (v)
        virStorageVolFree(v);
    if (rc == VG_OK)
        hd_rpc_reply(call, NULL);
    else
        hd_rpc_fail(call, &err);
}

void hd_storage_vol_delete(rpc_call *call, const cJSON *params)
{
    idle_volume(call, params, 1);
}

/* For shared pools: the gateway asks every host of the pool before it deletes or resizes. */
void hd_storage_vol_check_idle(rpc_call *call, const cJSON *params)
{
    idle_volume(call, params, 0);
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
        !(p = hd_storage_call_pool(&c, params, &err))) {
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
    reply_vol(call, v, &err);
}
