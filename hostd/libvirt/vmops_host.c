/* host.info and the capacity and load the registry publishes (vmops.h). */
#include "libvirt/vmops_int.h"

#include "registry/hostinfo.h"
#include "vg_log.h"
#include "libvirt/virt.h"
#include "libvirt/vmxml.h"

#include <libvirt/virterror.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define VMOPS_MAX_POOLS 64

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
        if (xml && hd_vmxml_pool_path(xml, path, sizeof(path), &err) == VG_OK && active &&
            np < cap && path[0] == '/')
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
    int rc = hd_hostinfo_sample((const char *const *)paths, hd_vmops_cfg()->state_dir, h, err);
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

void hd_vmops_host_fields(cJSON *host)
{
    hostinfo h;
    vg_err err;
    if (sample(hd_virt_conn(), &h, NULL, &err) == VG_OK)
        add_load(host, &h);
    else
        vg_warn("vmops", "host load: %s", err.msg);
    cJSON_AddStringToObject(host, "console_dir", hd_vmops_cfg()->console_dir);
    cJSON_AddStringToObject(host, "libvirt_uri", hd_vmops_cfg()->migrate_uri);
}

void hd_vmops_host_info(rpc_call *call, const cJSON *params)
{
    (void)params;
    vg_err err;
    hostinfo h;
    virConnectPtr c = hd_vmops_conn(&err);
    cJSON *r = cJSON_CreateObject();
    cJSON *pools = cJSON_CreateArray();
    if (!c || sample(c, &h, pools, &err) != VG_OK) {
        cJSON_Delete(r);
        cJSON_Delete(pools);
        hd_rpc_fail(call, &err);
        return;
    }
    add_load(r, &h);
    cJSON_AddItemToObject(r, "pools", pools);
    networks_json(c, cJSON_AddArrayToObject(r, "networks"));
    hd_rpc_reply(call, r);
}
