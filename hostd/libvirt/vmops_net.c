/* Networks and network filters on this host (docs/networks.md, RPC methods network.* and
 * filter.*, docs/protocol.md §4): the gateway sends specs, hostd checks what only the host knows
 * (its interfaces, the subnets of its other networks), generates the XML (common/vg_netspec,
 * vg_nwfilter) and defines it. A change that libvirt refuses half-way is undone, so a refused
 * call leaves the host's networks as they were. */
#include "libvirt/vmops_int.h"

#include "vg_log.h"
#include "vg_netspec.h"
#include "vg_nwfilter.h"
#include "libvirt/vms.h"
#include "libvirt/vmxml.h"

#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NET_MAX_SUBNETS 16
#define NET_MAX_LEASES 4096

/* ---- host checks ---- */

static int iface_exists(const char *name, const char *sub)
{
    char path[128];
    snprintf(path, sizeof(path), "/sys/class/net/%s%s", name, sub);
    return access(path, F_OK) == 0;
}

static int subnet_clash(virConnectPtr c, const vg_netspec *s, const vg_net_subnet *sub, vg_err *err)
{
    if (!sub->present)
        return VG_OK;
    virNetworkPtr *all = NULL;
    int n = virConnectListAllNetworks(c, &all, 0);
    int rc = n < 0 ? hd_vmops_lv_fail(err) : VG_OK;
    for (int i = 0; i < n; i++) {
        const char *other = virNetworkGetName(all[i]);
        char *xml = rc == VG_OK && strcmp(other, s->name) ? virNetworkGetXMLDesc(all[i], 0) : NULL;
        vmxml_subnet subs[NET_MAX_SUBNETS];
        size_t ns = 0;
        vg_err ignore;
        if (xml && hd_vmxml_net_subnets(xml, subs, NET_MAX_SUBNETS, &ns, &ignore) == VG_OK)
            for (size_t j = 0; j < ns && rc == VG_OK; j++)
                if (vg_ip_overlap(&sub->addr, sub->prefix, &subs[j].addr, subs[j].prefix)) {
                    char a[46], b[46];
                    vg_ip_format(&sub->addr, a, sizeof(a));
                    vg_ip_format(&subs[j].addr, b, sizeof(b));
                    rc = vg_fail(err, VG_E_CONFLICT,
                                 "network %s: subnet %s/%d overlaps network %s's %s/%d", s->name, a,
                                 sub->prefix, other, b, subs[j].prefix);
                }
        free(xml);
        virNetworkFree(all[i]);
    }
    free(all);
    return rc;
}

/* The bridge a network of ours runs on, when it is active. */
static int own_bridge_is(virConnectPtr c, const char *net, const char *bridge)
{
    virNetworkPtr n = virNetworkLookupByName(c, net);
    char *br = n && virNetworkIsActive(n) == 1 ? virNetworkGetBridgeName(n) : NULL;
    int same = br && !strcmp(br, bridge);
    free(br);
    if (n)
        virNetworkFree(n);
    virResetLastError();
    return same;
}

static int host_check(virConnectPtr c, const vg_netspec *s, vg_err *err)
{
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    switch (s->kind) {
    case VG_NET_BRIDGE:
        if (!iface_exists(s->bridge, "/bridge"))
            return vg_fail(err, VG_E_BAD_REQUEST, "bridge %s does not exist on host %s", s->bridge,
                           host);
        break;
    case VG_NET_OVS:
        if (!iface_exists(s->bridge, ""))
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "Open vSwitch bridge %s does not exist on host %s", s->bridge, host);
        break;
    case VG_NET_MACVTAP:
        if (!iface_exists(s->dev, ""))
            return vg_fail(err, VG_E_BAD_REQUEST, "interface %s does not exist on host %s", s->dev,
                           host);
        break;
    default:
        if (s->dev[0] && !iface_exists(s->dev, ""))
            return vg_fail(err, VG_E_BAD_REQUEST, "interface %s does not exist on host %s", s->dev,
                           host);
        if (s->bridge[0] && iface_exists(s->bridge, "") && !own_bridge_is(c, s->name, s->bridge))
            return vg_fail(err, VG_E_CONFLICT, "interface %s already exists on host %s", s->bridge,
                           host);
        break;
    }
    if (subnet_clash(c, s, &s->ipv4, err) != VG_OK || subnet_clash(c, s, &s->ipv6, err) != VG_OK)
        return VG_ERR;
    return VG_OK;
}

/* params.spec parsed, params.leases ([{mac, ip, name}], the registry's fixed addresses) added. */
static int call_spec(const cJSON *params, vg_netspec *s, vg_err *err)
{
    if (vg_netspec_parse(cJSON_GetObjectItemCaseSensitive(params, "spec"), s, err) != VG_OK)
        return VG_ERR;
    const cJSON *leases = cJSON_GetObjectItemCaseSensitive(params, "leases");
    for (const cJSON *l = cJSON_IsArray(leases) ? leases->child : NULL; l; l = l->next) {
        const char *mac = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, "mac"));
        const char *ip = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, "ip"));
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, "name"));
        /* a layer-2 network only keeps its addresses unique: nothing to lease */
        if (ip && !(strchr(ip, ':') ? s->ipv6.present : s->ipv4.present))
            continue;
        if (!mac || !ip || vg_netspec_lease_add(s, mac, ip, name, err) != VG_OK) {
            vg_netspec_free(s);
            return mac && ip ? VG_ERR
                             : vg_fail(err, VG_E_BAD_REQUEST,
                                       "params.leases: a lease "
                                       "has a mac and an ip");
        }
    }
    return VG_OK;
}

static cJSON *net_json(virNetworkPtr n)
{
    cJSON *o = cJSON_CreateObject();
    int active = virNetworkIsActive(n) == 1, autostart = 0;
    virNetworkGetAutostart(n, &autostart);
    cJSON_AddStringToObject(o, "name", virNetworkGetName(n));
    cJSON_AddBoolToObject(o, "active", active);
    cJSON_AddBoolToObject(o, "autostart", autostart);
    cJSON_AddBoolToObject(o, "persistent", virNetworkIsPersistent(n) == 1);
    char *bridge = active ? virNetworkGetBridgeName(n) : NULL;
    if (bridge)
        cJSON_AddStringToObject(o, "bridge", bridge);
    free(bridge);
    virResetLastError();
    return o;
}

void hd_vmops_network_check(rpc_call *call, const cJSON *params)
{
    vg_err err;
    vg_netspec s;
    virConnectPtr c = hd_vmops_conn(&err);
    if (!c || call_spec(params, &s, &err) != VG_OK) {
        hd_rpc_fail(call, &err);
        return;
    }
    int rc = host_check(c, &s, &err);
    vg_netspec_free(&s);
    if (rc != VG_OK)
        hd_rpc_fail(call, &err);
    else
        hd_rpc_reply(call, cJSON_CreateObject());
}

/* Puts the network back as it was before a refused define: its old definition and state. */
static void net_restore(virConnectPtr c, const char *name, char *old_xml, int was_active)
{
    virNetworkPtr n = virNetworkLookupByName(c, name);
    if (n && virNetworkIsActive(n) == 1 && !was_active)
        virNetworkDestroy(n);
    if (n && !old_xml)
        virNetworkUndefine(n);
    if (n)
        virNetworkFree(n);
    n = old_xml ? virNetworkDefineXML(c, old_xml) : NULL;
    if (n && was_active && virNetworkIsActive(n) != 1)
        virNetworkCreate(n);
    if (n)
        virNetworkFree(n);
    virResetLastError();
}

void hd_vmops_network_define(rpc_call *call, const cJSON *params)
{
    vg_err err;
    vg_netspec s;
    int start;
    virConnectPtr c = hd_vmops_conn(&err);
    if (!c || hd_rpc_bool(params, "start", 1, &start, &err) != VG_OK ||
        call_spec(params, &s, &err) != VG_OK) {
        hd_rpc_fail(call, &err);
        return;
    }
    char uuid[VIR_UUID_STRING_BUFLEN] = "", *old_xml = NULL, *xml = NULL;
    int was_active = 0;
    virNetworkPtr n = virNetworkLookupByName(c, s.name);
    virResetLastError();
    if (n) {
        was_active = virNetworkIsActive(n) == 1;
        old_xml = virNetworkGetXMLDesc(n, VIR_NETWORK_XML_INACTIVE);
        virNetworkGetUUIDString(n, uuid);
        virNetworkFree(n);
        n = NULL;
    }
    int rc = host_check(c, &s, &err);
    if (rc == VG_OK && !(xml = vg_netspec_xml(&s, uuid[0] ? uuid : NULL, &err)))
        rc = VG_ERR;
    if (rc == VG_OK && !(n = virNetworkDefineXML(c, xml)))
        rc = hd_vmops_lv_fail(&err);
    if (rc == VG_OK && virNetworkSetAutostart(n, s.autostart) < 0)
        rc = hd_vmops_lv_fail(&err);
    /* A running network keeps its settings until it restarts; one that was stopped starts. */
    if (rc == VG_OK && start && virNetworkIsActive(n) != 1 && virNetworkCreate(n) < 0)
        rc = hd_vmops_lv_fail(&err);
    if (rc != VG_OK && n)
        net_restore(c, s.name, old_xml, was_active);
    cJSON *r = rc == VG_OK ? net_json(n) : NULL;
    if (n)
        virNetworkFree(n);
    free(xml);
    free(old_xml);
    vg_netspec_free(&s);
    if (rc != VG_OK)
        hd_rpc_fail(call, &err);
    else
        hd_rpc_reply(call, r);
}

static virNetworkPtr call_network(const cJSON *params, virConnectPtr *c, vg_err *err)
{
    const char *name;
    if (hd_rpc_name(params, "name", 1, &name, err) != VG_OK || !(*c = hd_vmops_conn(err)))
        return NULL;
    virNetworkPtr n = virNetworkLookupByName(*c, name);
    if (!n)
        vg_fail(err, VG_E_NOT_FOUND, "network %s does not exist on this host", name);
    virResetLastError();
    return n;
}

/* The managed domains whose definition uses the network (at most cap names in list). */
static int net_users(virConnectPtr c, const char *net, char *list, size_t cap)
{
    virDomainPtr *all = NULL;
    int n = virConnectListAllDomains(c, &all, 0), users = 0;
    char want[96];
    snprintf(want, sizeof(want), "<source network='%s'", net);
    size_t len = 0;
    list[0] = '\0';
    for (int i = 0; i < n; i++) {
        const char *name = virDomainGetName(all[i]);
        char *xml =
            hd_vms_wanted(name) ? virDomainGetXMLDesc(all[i], VIR_DOMAIN_XML_INACTIVE) : NULL;
        const char *at = xml ? strstr(xml, want) : NULL;
        while (at && at[strlen(want)] != '\'')
            at = strstr(at + 1, want);
        if (at) {
            users++;
            if (len + strlen(name) + 3 < cap)
                len += (size_t)snprintf(list + len, cap - len, "%s%s", len ? ", " : "", name);
        }
        free(xml);
        virDomainFree(all[i]);
    }
    free(all);
    virResetLastError();
    return users;
}

void hd_vmops_network_undefine(rpc_call *call, const cJSON *params)
{
    vg_err err;
    virConnectPtr c;
    virNetworkPtr n = call_network(params, &c, &err);
    char users[256];
    int rc = n ? VG_OK : VG_ERR;
    if (rc == VG_OK && net_users(c, virNetworkGetName(n), users, sizeof(users)) > 0)
        rc = vg_fail(&err, VG_E_CONFLICT, "network %s is used by VMs: %s", virNetworkGetName(n),
                     users);
    if (rc == VG_OK && virNetworkIsActive(n) == 1 && virNetworkDestroy(n) < 0)
        rc = hd_vmops_lv_fail(&err);
    if (rc == VG_OK && virNetworkIsPersistent(n) == 1 && virNetworkUndefine(n) < 0)
        rc = hd_vmops_lv_fail(&err);
    if (n)
        virNetworkFree(n);
    if (rc != VG_OK)
        hd_rpc_fail(call, &err);
    else
        hd_rpc_reply(call, cJSON_CreateObject());
}

static void net_state(rpc_call *call, const cJSON *params, int start)
{
    vg_err err;
    virConnectPtr c;
    virNetworkPtr n = call_network(params, &c, &err);
    int rc = n ? VG_OK : VG_ERR;
    if (rc == VG_OK && (virNetworkIsActive(n) == 1) != start &&
        (start ? virNetworkCreate(n) : virNetworkDestroy(n)) < 0)
        rc = hd_vmops_lv_fail(&err);
    cJSON *r = rc == VG_OK ? net_json(n) : NULL;
    if (n)
        virNetworkFree(n);
    if (rc != VG_OK)
        hd_rpc_fail(call, &err);
    else
        hd_rpc_reply(call, r);
}

void hd_vmops_network_start(rpc_call *call, const cJSON *params)
{
    net_state(call, params, 1);
}

void hd_vmops_network_stop(rpc_call *call, const cJSON *params)
{
    net_state(call, params, 0);
}

void hd_vmops_network_list(rpc_call *call, const cJSON *params)
{
    (void)params;
    vg_err err;
    virConnectPtr c = hd_vmops_conn(&err);
    virNetworkPtr *all = NULL;
    int n = c ? virConnectListAllNetworks(c, &all, 0) : -1;
    if (n < 0) {
        if (c)
            hd_vmops_lv_fail(&err);
        hd_rpc_fail(call, &err);
        return;
    }
    cJSON *r = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(r, "networks");
    for (int i = 0; i < n; i++) {
        cJSON_AddItemToArray(arr, net_json(all[i]));
        virNetworkFree(all[i]);
    }
    free(all);
    hd_rpc_reply(call, r);
}

void hd_vmops_network_leases(rpc_call *call, const cJSON *params)
{
    vg_err err;
    virConnectPtr c;
    virNetworkPtr n = call_network(params, &c, &err);
    virNetworkDHCPLeasePtr *leases = NULL;
    int nl = n ? virNetworkGetDHCPLeases(n, NULL, &leases, 0) : -1;
    if (n && nl < 0)
        hd_vmops_lv_fail(&err);
    if (n)
        virNetworkFree(n);
    if (nl < 0) {
        hd_rpc_fail(call, &err);
        return;
    }
    cJSON *r = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(r, "leases");
    for (int i = 0; i < nl; i++) {
        const virNetworkDHCPLeasePtr l = leases[i];
        if (i < NET_MAX_LEASES) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "mac", l->mac ? l->mac : "");
            cJSON_AddStringToObject(o, "ip", l->ipaddr ? l->ipaddr : "");
            cJSON_AddNumberToObject(o, "prefix", l->prefix);
            cJSON_AddStringToObject(o, "family",
                                    l->type == VIR_IP_ADDR_TYPE_IPV6 ? "ipv6" : "ipv4");
            cJSON_AddStringToObject(o, "hostname", l->hostname ? l->hostname : "");
            cJSON_AddNumberToObject(o, "expiry_s", (double)l->expirytime);
            cJSON_AddItemToArray(arr, o);
        }
        virNetworkDHCPLeaseFree(l);
    }
    free(leases);
    hd_rpc_reply(call, r);
}

/* Deletes the network's <host> entries with this MAC or address: libvirt deletes an entry only
 * when given all of it, so each is taken from the definition as it is. */
static void drop_hosts(virNetworkPtr n, const unsigned char mac[6], const char *ip, unsigned flags)
{
    char *xml = virNetworkGetXMLDesc(n, VIR_NETWORK_XML_INACTIVE);
    char m[40], a[64];
    snprintf(m, sizeof(m), "mac='%02x:%02x:%02x:%02x:%02x:%02x'", mac[0], mac[1], mac[2], mac[3],
             mac[4], mac[5]);
    snprintf(a, sizeof(a), "ip='%s'", ip);
    for (char *h = xml ? strstr(xml, "<host ") : NULL; h; h = strstr(h + 1, "<host ")) {
        char *end = strstr(h, "/>");
        if (!end)
            break;
        if (memchr(h, '>', (size_t)(end - h)))
            continue; /* a DNS <host> with children, not a lease */
        char one[512];
        size_t len = (size_t)(end - h) + 2;
        if (len >= sizeof(one))
            continue;
        memcpy(one, h, len);
        one[len] = '\0';
        if ((strstr(one, m) || strstr(one, a)) &&
            virNetworkUpdate(n, VIR_NETWORK_UPDATE_COMMAND_DELETE, VIR_NETWORK_SECTION_IP_DHCP_HOST,
                             -1, one, flags) < 0)
            virResetLastError();
    }
    free(xml);
}

/* A static lease added to or removed from a network, live when it runs and in its definition. */
void hd_vmops_network_lease(rpc_call *call, const cJSON *params)
{
    vg_err err;
    virConnectPtr c;
    const char *op = NULL, *mac = NULL, *ip = NULL, *host = NULL;
    virNetworkPtr n = NULL;
    vg_ip a;
    if (hd_rpc_string(params, "op", 1, 8, &op, &err) != VG_OK ||
        hd_rpc_string(params, "mac", 1, 17, &mac, &err) != VG_OK ||
        hd_rpc_string(params, "ip", 1, 45, &ip, &err) != VG_OK ||
        hd_rpc_name(params, "host", 0, &host, &err) != VG_OK ||
        !(n = call_network(params, &c, &err))) {
        hd_rpc_fail(call, &err);
        return;
    }
    int add = !strcmp(op, "add"), rc = VG_OK;
    unsigned char b[6] = {0};
    if (!add && strcmp(op, "delete"))
        rc = vg_fail(&err, VG_E_BAD_REQUEST, "params.op must be add or delete");
    else if (!vg_ip_parse(ip, &a) || a.v6 || !vg_mac_parse(mac, b))
        rc = vg_fail(&err, VG_E_BAD_REQUEST, "params.mac and params.ip: a MAC and an IPv4 address");
    char xml[256];
    snprintf(xml, sizeof(xml), "<host mac='%02x:%02x:%02x:%02x:%02x:%02x'%s%s%s ip='%s'/>", b[0],
             b[1], b[2], b[3], b[4], b[5], host ? " name='" : "", host ? host : "", host ? "'" : "",
             ip);
    unsigned flags = VIR_NETWORK_UPDATE_AFFECT_CONFIG;
    if (virNetworkIsActive(n) == 1)
        flags |= VIR_NETWORK_UPDATE_AFFECT_LIVE;
    /* An add replaces the entries that had the MAC or the address (a VM edited, an address
     * given to another VM). */
    if (rc == VG_OK && add)
        drop_hosts(n, b, ip, flags);
    if (rc == VG_OK && virNetworkUpdate(n,
                                        add ? VIR_NETWORK_UPDATE_COMMAND_ADD_LAST
                                            : VIR_NETWORK_UPDATE_COMMAND_DELETE,
                                        VIR_NETWORK_SECTION_IP_DHCP_HOST, -1, xml, flags) < 0) {
        virErrorPtr e = virGetLastError();
        /* deleting what is not there is done; anything else is libvirt's refusal */
        if (add || !e || e->code != VIR_ERR_OPERATION_INVALID)
            rc = hd_vmops_lv_fail(&err);
        virResetLastError();
    }
    virNetworkFree(n);
    if (rc != VG_OK)
        hd_rpc_fail(call, &err);
    else
        hd_rpc_reply(call, cJSON_CreateObject());
}

/* ---- filters ---- */

void hd_vmops_filter_list(rpc_call *call, const cJSON *params)
{
    (void)params;
    vg_err err;
    virConnectPtr c = hd_vmops_conn(&err);
    virNWFilterPtr *all = NULL;
    int n = c ? virConnectListAllNWFilters(c, &all, 0) : -1;
    if (n < 0) {
        if (c)
            hd_vmops_lv_fail(&err);
        hd_rpc_fail(call, &err);
        return;
    }
    cJSON *r = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(r, "filters");
    for (int i = 0; i < n; i++) {
        cJSON_AddItemToArray(arr, cJSON_CreateString(virNWFilterGetName(all[i])));
        virNWFilterFree(all[i]);
    }
    free(all);
    hd_rpc_reply(call, r);
}

void hd_vmops_filter_define(rpc_call *call, const cJSON *params)
{
    vg_err err;
    static vg_nwfilter f; /* hostd's one loop: a large struct off the stack */
    virConnectPtr c = hd_vmops_conn(&err);
    if (!c ||
        vg_nwfilter_parse(cJSON_GetObjectItemCaseSensitive(params, "spec"), &f, &err) != VG_OK) {
        hd_rpc_fail(call, &err);
        return;
    }
    char uuid[VIR_UUID_STRING_BUFLEN] = "";
    virNWFilterPtr old = virNWFilterLookupByName(c, f.name);
    virResetLastError();
    if (old) {
        virNWFilterGetUUIDString(old, uuid);
        virNWFilterFree(old);
    }
    char *xml = vg_nwfilter_xml(&f, uuid[0] ? uuid : NULL, &err);
    virNWFilterPtr nf = xml ? virNWFilterDefineXML(c, xml) : NULL;
    if (xml && !nf)
        hd_vmops_lv_fail(&err);
    free(xml);
    if (!nf) {
        hd_rpc_fail(call, &err);
        return;
    }
    virNWFilterFree(nf);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "name", f.name);
    hd_rpc_reply(call, r);
}

void hd_vmops_filter_undefine(rpc_call *call, const cJSON *params)
{
    vg_err err;
    const char *name;
    virConnectPtr c;
    if (hd_rpc_name(params, "name", 1, &name, &err) != VG_OK || !(c = hd_vmops_conn(&err))) {
        hd_rpc_fail(call, &err);
        return;
    }
    virNWFilterPtr f = virNWFilterLookupByName(c, name);
    int rc = VG_OK;
    if (!f)
        virResetLastError(); /* already gone: done */
    else if (virNWFilterUndefine(f) < 0)
        rc = hd_vmops_lv_fail(&err);
    if (f)
        virNWFilterFree(f);
    if (rc != VG_OK)
        hd_rpc_fail(call, &err);
    else
        hd_rpc_reply(call, cJSON_CreateObject());
}
