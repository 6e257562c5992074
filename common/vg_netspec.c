/* Network specs: parse, check and generate libvirt network XML (vg_netspec.h). */
#include "vg_netspec.h"

#include "vg_util.h"
#include "vg_xbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kinds[] = {"isolated", "nat", "routed", "bridge", "ovs", "macvtap", NULL};
static const char *const top_keys[] = {"name",  "kind", "bridge", "dev", "mode",      "vlans",
                                       "trunk", "ipv4", "ipv6",   "dns", "autostart", NULL};
static const char *const macvtap_modes[] = {"bridge", "vepa", "private", "passthrough", NULL};

const char *vg_netspec_kind_name(vg_net_kind kind)
{
    return kinds[kind];
}

/* libvirt runs dnsmasq (DHCP, DNS) only for the kinds it gives a bridge of its own. */
static int own_bridge(vg_net_kind k)
{
    return k == VG_NET_ISOLATED || k == VG_NET_NAT || k == VG_NET_ROUTED;
}

static int ifname_field(const cJSON *spec, const char *key, char *dst, vg_err *err)
{
    char tmp[64] = "";
    if (vg_jf_str(spec, "network", key, tmp, sizeof(tmp), 0, err) != VG_OK)
        return VG_ERR;
    if (vg_jf_member(spec, key) && !vg_ifname_ok(tmp))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "network.%s must be an interface name of 1-15 characters without blanks, "
                       "'/' or ':'",
                       key);
    memcpy(dst, tmp, strlen(tmp) + 1);
    return VG_OK;
}

static int ip_field(const cJSON *obj, const char *at, const char *key, int v6, vg_ip *ip,
                    char *text, vg_err *err)
{
    const cJSON *it = vg_jf_member(obj, key);
    if (!cJSON_IsString(it) || !vg_ip_parse(it->valuestring, ip) || ip->v6 != v6)
        return vg_fail(err, VG_E_BAD_REQUEST, "%s.%s must be an %s address", at, key,
                       v6 ? "IPv6" : "IPv4");
    if (text)
        vg_ip_format(ip, text, 46);
    return VG_OK;
}

/* ip must be a usable address of the subnet (not the host side's own, nor an edge). */
static int in_subnet(const vg_net_subnet *s, const vg_ip *ip, const char *what, vg_err *err)
{
    char a[46], n[46];
    vg_ip_format(ip, a, sizeof(a));
    vg_ip net = s->addr;
    for (int bit = s->prefix; bit < vg_ip_bits(&net); bit++)
        net.b[bit / 8] &= (unsigned char)~(0x80 >> (bit % 8));
    vg_ip_format(&net, n, sizeof(n));
    if (!vg_ip_in(&s->addr, s->prefix, ip))
        return vg_fail(err, VG_E_BAD_REQUEST, "%s %s is outside %s/%d", what, a, n, s->prefix);
    if (vg_ip_edge(&s->addr, s->prefix, ip) || vg_ip_cmp(ip, &s->addr) == 0)
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "%s %s is the network's own, broadcast or gateway address", what, a);
    return VG_OK;
}

static int lease_add(vg_net_subnet *s, vg_net_lease *l, const char *at, vg_err *err)
{
    vg_ip ip;
    if (!vg_ip_parse(l->ip, &ip) || ip.v6 != s->addr.v6)
        return vg_fail(err, VG_E_BAD_REQUEST, "%s.ip must be an %s address", at,
                       s->addr.v6 ? "IPv6" : "IPv4");
    vg_ip_format(&ip, l->ip, sizeof(l->ip));
    if (l->mac[0]) {
        unsigned char b[6];
        if (!vg_mac_parse(l->mac, b) || (b[0] & 1))
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "%s.mac must be a unicast MAC address like 52:54:00:12:34:56", at);
        snprintf(l->mac, sizeof(l->mac), "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3],
                 b[4], b[5]);
    }
    char what[64];
    snprintf(what, sizeof(what), "%s.ip", at);
    if (in_subnet(s, &ip, what, err) != VG_OK)
        return VG_ERR;
    for (size_t i = 0; i < s->nhosts; i++) {
        if (!strcmp(s->hosts[i].ip, l->ip))
            return vg_fail(err, VG_E_CONFLICT, "%s.ip %s is already leased", at, l->ip);
        if (l->mac[0] && !strcmp(s->hosts[i].mac, l->mac))
            return vg_fail(err, VG_E_CONFLICT, "%s.mac %s already has a lease", at, l->mac);
        if (l->name[0] && !strcmp(s->hosts[i].name, l->name) && s->addr.v6)
            return vg_fail(err, VG_E_CONFLICT, "%s.name %s already has a lease", at, l->name);
    }
    if (s->nhosts >= VG_NET_MAX_HOSTS)
        return vg_fail(err, VG_E_BAD_REQUEST, "at most %d static leases per subnet",
                       VG_NET_MAX_HOSTS);
    vg_net_lease *h = realloc(s->hosts, (s->nhosts + 1) * sizeof(*h));
    if (!h)
        return vg_fail(err, VG_E_INTERNAL, "out of memory");
    s->hosts = h;
    s->hosts[s->nhosts++] = *l;
    return VG_OK;
}

static int parse_hosts(const cJSON *hosts, const char *at, vg_net_subnet *s, int v6, vg_err *err)
{
    static const char *const keys[] = {"mac", "ip", "name", NULL};
    if (!hosts)
        return VG_OK;
    if (!cJSON_IsArray(hosts) || cJSON_GetArraySize(hosts) > VG_NET_MAX_HOSTS)
        return vg_fail(err, VG_E_BAD_REQUEST, "%s.hosts must be a list of at most %d leases", at,
                       VG_NET_MAX_HOSTS);
    for (const cJSON *h = hosts->child; h; h = h->next) {
        char hat[48];
        snprintf(hat, sizeof(hat), "%s.hosts[%zu]", at, s->nhosts);
        vg_net_lease l = {0};
        vg_ip ip;
        if (!cJSON_IsObject(h))
            return vg_fail(err, VG_E_BAD_REQUEST, "%s must be an object", hat);
        if (vg_jf_known(h, hat, keys, err) != VG_OK ||
            ip_field(h, hat, "ip", v6, &ip, l.ip, err) != VG_OK ||
            vg_jf_str(h, hat, "name", l.name, sizeof(l.name), 0, err) != VG_OK ||
            vg_jf_str(h, hat, "mac", l.mac, sizeof(l.mac), 0, err) != VG_OK)
            return VG_ERR;
        if (l.name[0] && !vg_valid_name(l.name))
            return vg_fail(err, VG_E_BAD_REQUEST, "%s.name must be a name of A-Z a-z 0-9 . _ -",
                           hat);
        if (v6 && l.mac[0])
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "%s.mac is not for IPv6 leases: they are keyed by name", hat);
        if (v6 ? !l.name[0] : !l.mac[0])
            return vg_fail(err, VG_E_BAD_REQUEST, "%s.%s is required", hat, v6 ? "name" : "mac");
        if (lease_add(s, &l, hat, err) != VG_OK) {
            err->code = VG_E_BAD_REQUEST; /* a repeat inside the spec is the spec's fault */
            return VG_ERR;
        }
    }
    return VG_OK;
}

static int parse_subnet(const cJSON *spec, const char *key, vg_net_subnet *s, vg_err *err)
{
    static const char *const keys[] = {"address", "prefix", "dhcp", "hosts", NULL};
    static const char *const dhcp_keys[] = {"start", "end", NULL};
    int v6 = !strcmp(key, "ipv6");
    const cJSON *o, *dhcp;
    char at[16];
    snprintf(at, sizeof(at), "network.%s", key);
    if (vg_jf_object(spec, "network", key, &o, err) != VG_OK)
        return VG_ERR;
    if (!o)
        return VG_OK;
    long long prefix = -1;
    if (vg_jf_known(o, at, keys, err) != VG_OK ||
        ip_field(o, at, "address", v6, &s->addr, NULL, err) != VG_OK)
        return VG_ERR;
    if (!vg_jf_member(o, "prefix"))
        return vg_fail(err, VG_E_BAD_REQUEST, "%s.prefix is required", at);
    if (vg_jf_int(o, at, "prefix", v6 ? 8 : 8, v6 ? 126 : 30, &prefix, err) != VG_OK)
        return VG_ERR;
    s->present = 1;
    s->prefix = (int)prefix;
    char what[48];
    snprintf(what, sizeof(what), "%s.address", at);
    if (vg_ip_edge(&s->addr, s->prefix, &s->addr))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "%s must not be the subnet's network or broadcast address", what);
    if (vg_jf_object(o, at, "dhcp", &dhcp, err) != VG_OK)
        return VG_ERR;
    if (dhcp) {
        char dat[24];
        snprintf(dat, sizeof(dat), "%s.dhcp", at);
        if (vg_jf_known(dhcp, dat, dhcp_keys, err) != VG_OK ||
            ip_field(dhcp, dat, "start", v6, &s->dhcp_start, NULL, err) != VG_OK ||
            ip_field(dhcp, dat, "end", v6, &s->dhcp_end, NULL, err) != VG_OK)
            return VG_ERR;
        snprintf(what, sizeof(what), "%s.start", dat);
        if (in_subnet(s, &s->dhcp_start, what, err) != VG_OK)
            return VG_ERR;
        snprintf(what, sizeof(what), "%s.end", dat);
        if (in_subnet(s, &s->dhcp_end, what, err) != VG_OK)
            return VG_ERR;
        if (vg_ip_cmp(&s->dhcp_start, &s->dhcp_end) > 0)
            return vg_fail(err, VG_E_BAD_REQUEST, "%s.start must not be after %s.end", dat, dat);
        s->has_dhcp = 1;
    }
    return parse_hosts(vg_jf_member(o, "hosts"), at, s, v6, err);
}

static int parse_dns(const cJSON *spec, vg_netspec *out, vg_err *err)
{
    static const char *const keys[] = {"hosts", "forwarders", NULL};
    static const char *const host_keys[] = {"ip", "names", NULL};
    const cJSON *dns;
    if (vg_jf_object(spec, "network", "dns", &dns, err) != VG_OK)
        return VG_ERR;
    if (!dns)
        return VG_OK;
    if (vg_jf_known(dns, "network.dns", keys, err) != VG_OK)
        return VG_ERR;
    const cJSON *hosts = vg_jf_member(dns, "hosts"), *fwd = vg_jf_member(dns, "forwarders");
    if (hosts && (!cJSON_IsArray(hosts) || cJSON_GetArraySize(hosts) > VG_NET_MAX_DNS))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "network.dns.hosts must be a list of at most %d entries", VG_NET_MAX_DNS);
    for (const cJSON *h = hosts ? hosts->child : NULL; h; h = h->next) {
        vg_net_dnshost *d = &out->dns[out->ndns];
        char at[40];
        vg_ip ip;
        snprintf(at, sizeof(at), "network.dns.hosts[%zu]", out->ndns);
        if (!cJSON_IsObject(h))
            return vg_fail(err, VG_E_BAD_REQUEST, "%s must be an object", at);
        if (vg_jf_known(h, at, host_keys, err) != VG_OK)
            return VG_ERR;
        const cJSON *ipj = vg_jf_member(h, "ip");
        if (!cJSON_IsString(ipj) || !vg_ip_parse(ipj->valuestring, &ip))
            return vg_fail(err, VG_E_BAD_REQUEST, "%s.ip must be an IPv4 or IPv6 address", at);
        vg_ip_format(&ip, d->ip, sizeof(d->ip));
        const cJSON *names = vg_jf_member(h, "names");
        if (!cJSON_IsArray(names) || cJSON_GetArraySize(names) < 1 ||
            cJSON_GetArraySize(names) > VG_NET_MAX_NAMES)
            return vg_fail(err, VG_E_BAD_REQUEST, "%s.names must be a list of 1-%d host names", at,
                           VG_NET_MAX_NAMES);
        for (const cJSON *n = names->child; n; n = n->next) {
            const char *v = cJSON_GetStringValue(n);
            size_t len = v ? strlen(v) : 0;
            if (len == 0 || len > 64 ||
                strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
                    len ||
                v[0] == '-' || v[0] == '.')
                return vg_fail(
                    err, VG_E_BAD_REQUEST,
                    "%s.names[%zu] must be a host name of 1-64 letters, digits, '.' and '-'", at,
                    d->nnames);
            memcpy(d->names[d->nnames++], v, len + 1);
        }
        out->ndns++;
    }
    if (fwd && (!cJSON_IsArray(fwd) || cJSON_GetArraySize(fwd) > VG_NET_MAX_FWD))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "network.dns.forwarders must be a list of at most %d addresses",
                       VG_NET_MAX_FWD);
    for (const cJSON *f = fwd ? fwd->child : NULL; f; f = f->next) {
        vg_ip ip;
        if (!cJSON_IsString(f) || !vg_ip_parse(f->valuestring, &ip))
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "network.dns.forwarders[%zu] must be an IPv4 or IPv6 address",
                           out->nfwd);
        vg_ip_format(&ip, out->forwarders[out->nfwd++], 46);
    }
    return VG_OK;
}

static int parse_vlans(const cJSON *spec, vg_netspec *out, vg_err *err)
{
    const cJSON *v = vg_jf_member(spec, "vlans");
    if (vg_jf_bool(spec, "network", "trunk", &out->trunk, err) != VG_OK)
        return VG_ERR;
    if (!v)
        return out->trunk ? vg_fail(err, VG_E_BAD_REQUEST, "network.trunk needs network.vlans")
                          : VG_OK;
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) < 1 || cJSON_GetArraySize(v) > VG_NET_MAX_VLANS)
        return vg_fail(err, VG_E_BAD_REQUEST, "network.vlans must be a list of 1-%d VLAN ids",
                       VG_NET_MAX_VLANS);
    for (const cJSON *t = v->child; t; t = t->next) {
        long long id;
        if (!vg_jf_int_value(t, 1, 4094, &id))
            return vg_fail(err, VG_E_BAD_REQUEST, "network.vlans[%zu] must be an integer 1-4094",
                           out->nvlans);
        for (size_t i = 0; i < out->nvlans; i++)
            if (out->vlans[i] == id)
                return vg_fail(err, VG_E_BAD_REQUEST, "network.vlans lists %lld twice", id);
        out->vlans[out->nvlans++] = (int)id;
    }
    if (out->nvlans > 1 && !out->trunk)
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "network.vlans with more than one id needs \"trunk\": true");
    return VG_OK;
}

/* Which fields each kind takes: the others are refused rather than ignored. */
static int kind_fields(const cJSON *spec, const vg_netspec *out, vg_err *err)
{
    const char *k = kinds[out->kind];
    if ((out->kind == VG_NET_BRIDGE || out->kind == VG_NET_OVS) && !out->bridge[0])
        return vg_fail(err, VG_E_BAD_REQUEST, "network.bridge is required for kind %s", k);
    if (out->kind == VG_NET_MACVTAP && !out->dev[0])
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "network.dev (the parent interface) is required for kind macvtap");
    if (out->kind == VG_NET_MACVTAP && vg_jf_member(spec, "bridge"))
        return vg_fail(err, VG_E_BAD_REQUEST, "network.bridge is not for kind macvtap");
    if (out->dev[0] && out->kind != VG_NET_MACVTAP && out->kind != VG_NET_NAT &&
        out->kind != VG_NET_ROUTED)
        return vg_fail(err, VG_E_BAD_REQUEST, "network.dev is not for kind %s", k);
    if (vg_jf_member(spec, "mode") && out->kind != VG_NET_MACVTAP)
        return vg_fail(err, VG_E_BAD_REQUEST, "network.mode is not for kind %s", k);
    if ((vg_jf_member(spec, "vlans") || vg_jf_member(spec, "trunk")) && out->kind != VG_NET_OVS)
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "network.vlans and network.trunk are only for kind ovs");
    if (!own_bridge(out->kind)) {
        static const char *const l3[] = {"ipv4", "ipv6", "dns", NULL};
        for (const char *const *f = l3; *f; f++)
            if (vg_jf_member(spec, *f))
                return vg_fail(
                    err, VG_E_BAD_REQUEST,
                    "network.%s is not for kind %s: addresses come from outside the host", *f, k);
    }
    if (out->kind == VG_NET_ROUTED && !out->ipv4.present && !out->ipv6.present)
        return vg_fail(err, VG_E_BAD_REQUEST, "kind routed needs network.ipv4 or network.ipv6");
    return VG_OK;
}

int vg_netspec_parse(const cJSON *spec, vg_netspec *out, vg_err *err)
{
    memset(out, 0, sizeof(*out));
    out->autostart = 1;
    snprintf(out->mode, sizeof(out->mode), "bridge");
    if (!cJSON_IsObject(spec))
        return vg_fail(err, VG_E_BAD_REQUEST, "network must be an object");
    char kind[16] = "";
    if (vg_jf_known(spec, "network", top_keys, err) != VG_OK)
        return VG_ERR;
    if (!vg_jf_member(spec, "name") || !vg_jf_member(spec, "kind"))
        return vg_fail(err, VG_E_BAD_REQUEST, "network.%s is required",
                       vg_jf_member(spec, "name") ? "kind" : "name");
    if (vg_jf_str(spec, "network", "name", out->name, sizeof(out->name), 0, err) != VG_OK)
        return VG_ERR;
    if (!vg_valid_name(out->name))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "network.name must be a name of 1-64 characters A-Z a-z 0-9 . _ -");
    if (vg_jf_enum(spec, "network", "kind", kinds, kind, sizeof(kind), err) != VG_OK)
        return VG_ERR;
    while (strcmp(kinds[out->kind], kind) != 0)
        out->kind++;
    if (ifname_field(spec, "bridge", out->bridge, err) != VG_OK ||
        ifname_field(spec, "dev", out->dev, err) != VG_OK ||
        vg_jf_enum(spec, "network", "mode", macvtap_modes, out->mode, sizeof(out->mode), err) !=
            VG_OK ||
        vg_jf_bool(spec, "network", "autostart", &out->autostart, err) != VG_OK ||
        parse_vlans(spec, out, err) != VG_OK ||
        parse_subnet(spec, "ipv4", &out->ipv4, err) != VG_OK ||
        parse_subnet(spec, "ipv6", &out->ipv6, err) != VG_OK ||
        parse_dns(spec, out, err) != VG_OK || kind_fields(spec, out, err) != VG_OK) {
        vg_netspec_free(out);
        return VG_ERR;
    }
    return VG_OK;
}

void vg_netspec_free(vg_netspec *spec)
{
    free(spec->ipv4.hosts);
    free(spec->ipv6.hosts);
    spec->ipv4.hosts = spec->ipv6.hosts = NULL;
    spec->ipv4.nhosts = spec->ipv6.nhosts = 0;
}

int vg_netspec_lease_add(vg_netspec *spec, const char *mac, const char *ip, const char *name,
                         vg_err *err)
{
    vg_ip a;
    if (!vg_ip_parse(ip, &a))
        return vg_fail(err, VG_E_BAD_REQUEST, "%.46s is not an IP address", ip);
    vg_net_subnet *s = a.v6 ? &spec->ipv6 : &spec->ipv4;
    if (!s->present)
        return vg_fail(err, VG_E_BAD_REQUEST, "network %s has no %s subnet", spec->name,
                       a.v6 ? "IPv6" : "IPv4");
    vg_net_lease l = {0};
    snprintf(l.ip, sizeof(l.ip), "%s", ip);
    snprintf(l.mac, sizeof(l.mac), "%s", a.v6 ? "" : mac);
    snprintf(l.name, sizeof(l.name), "%s", name ? name : "");
    if (a.v6 && !l.name[0])
        return vg_fail(err, VG_E_BAD_REQUEST, "an IPv6 lease needs a name");
    return lease_add(s, &l, "lease", err);
}

static void subnet_xml(vg_xbuf *b, const vg_net_subnet *s)
{
    char a[46], e[46];
    if (!s->present)
        return;
    vg_ip_format(&s->addr, a, sizeof(a));
    vg_xbuf_putf(b, "  <ip%s address='%s' prefix='%d'", s->addr.v6 ? " family='ipv6'" : "", a,
                 s->prefix);
    if (!s->has_dhcp && !s->nhosts) {
        vg_xbuf_putf(b, "/>\n");
        return;
    }
    vg_xbuf_putf(b, ">\n    <dhcp>\n");
    if (s->has_dhcp) {
        vg_ip_format(&s->dhcp_start, a, sizeof(a));
        vg_ip_format(&s->dhcp_end, e, sizeof(e));
        vg_xbuf_putf(b, "      <range start='%s' end='%s'/>\n", a, e);
    }
    for (size_t i = 0; i < s->nhosts; i++) {
        const vg_net_lease *l = &s->hosts[i];
        vg_xbuf_putf(b, "      <host");
        if (l->mac[0])
            vg_xbuf_putf(b, " mac='%s'", l->mac);
        if (l->name[0])
            vg_xbuf_attr(b, " name='", l->name, "'");
        vg_xbuf_putf(b, " ip='%s'/>\n", l->ip);
    }
    vg_xbuf_putf(b, "    </dhcp>\n  </ip>\n");
}

static void dns_xml(vg_xbuf *b, const vg_netspec *s)
{
    if (!s->ndns && !s->nfwd)
        return;
    vg_xbuf_putf(b, "  <dns>\n");
    for (size_t i = 0; i < s->nfwd; i++)
        vg_xbuf_putf(b, "    <forwarder addr='%s'/>\n", s->forwarders[i]);
    for (size_t i = 0; i < s->ndns; i++) {
        vg_xbuf_putf(b, "    <host ip='%s'>\n", s->dns[i].ip);
        for (size_t j = 0; j < s->dns[i].nnames; j++)
            vg_xbuf_elem(b, "      ", "hostname", s->dns[i].names[j]);
        vg_xbuf_putf(b, "    </host>\n");
    }
    vg_xbuf_putf(b, "  </dns>\n");
}

char *vg_netspec_xml(const vg_netspec *s, const char *uuid, vg_err *err)
{
    if (uuid && !vg_uuid_ok(uuid)) {
        vg_fail(err, VG_E_INTERNAL, "uuid %.40s is not a UUID", uuid);
        return NULL;
    }
    vg_xbuf b = {0};
    vg_xbuf_putf(&b, "<network>\n");
    vg_xbuf_elem(&b, "  ", "name", s->name);
    if (uuid)
        vg_xbuf_elem(&b, "  ", "uuid", uuid);
    switch (s->kind) {
    case VG_NET_ISOLATED:
        break;
    case VG_NET_NAT:
    case VG_NET_ROUTED:
        vg_xbuf_putf(&b, "  <forward mode='%s'", s->kind == VG_NET_NAT ? "nat" : "route");
        if (s->dev[0])
            vg_xbuf_attr(&b, " dev='", s->dev, "'");
        vg_xbuf_putf(&b, "/>\n");
        break;
    case VG_NET_BRIDGE:
    case VG_NET_OVS:
        vg_xbuf_putf(&b, "  <forward mode='bridge'/>\n");
        break;
    case VG_NET_MACVTAP:
        vg_xbuf_putf(&b, "  <forward mode='%s'>\n", s->mode);
        vg_xbuf_attr(&b, "    <interface dev='", s->dev, "'/>\n  </forward>\n");
        break;
    }
    if (s->bridge[0]) {
        vg_xbuf_attr(&b, "  <bridge name='", s->bridge, "'");
        vg_xbuf_putf(&b, "%s/>\n", own_bridge(s->kind) ? " stp='on' delay='0'" : "");
    }
    if (s->kind == VG_NET_OVS) {
        vg_xbuf_putf(&b, "  <virtualport type='openvswitch'/>\n");
        if (s->nvlans) {
            vg_xbuf_putf(&b, "  <vlan%s>\n", s->trunk ? " trunk='yes'" : "");
            for (size_t i = 0; i < s->nvlans; i++)
                vg_xbuf_putf(&b, "    <tag id='%d'/>\n", s->vlans[i]);
            vg_xbuf_putf(&b, "  </vlan>\n");
        }
    }
    dns_xml(&b, s);
    subnet_xml(&b, &s->ipv4);
    subnet_xml(&b, &s->ipv6);
    vg_xbuf_putf(&b, "</network>\n");
    return vg_xbuf_finish(&b, err);
}
