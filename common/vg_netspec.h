/* A network specification (network.create / network.edit, docs/networks.md) and the libvirt
 * network XML generated from it. Six kinds: isolated, nat, routed (libvirt runs a bridge and
 * dnsmasq), bridge (an existing Linux bridge), ovs (an existing Open vSwitch bridge, VLAN tags on
 * the port) and macvtap (direct attachment to a parent interface). Pure: no libvirt, no I/O.
 *
 * The gateway parses a spec to check it before anything changes; hostd parses the same text
 * again, checks what only the host knows (its interfaces, its other networks' subnets) and
 * defines the XML. */
#ifndef VG_NETSPEC_H
#define VG_NETSPEC_H

#include "vg.h"
#include "vg_jfield.h"

#include <cjson/cJSON.h>

#define VG_NET_MAX_HOSTS 256 /* static leases per subnet */
#define VG_NET_MAX_DNS 64    /* DNS host entries */
#define VG_NET_MAX_FWD 8     /* DNS forwarders */
#define VG_NET_MAX_NAMES 8   /* names of one DNS host entry */
#define VG_NET_MAX_VLANS 16

typedef enum vg_net_kind {
    VG_NET_ISOLATED,
    VG_NET_NAT,
    VG_NET_ROUTED,
    VG_NET_BRIDGE,
    VG_NET_OVS,
    VG_NET_MACVTAP,
} vg_net_kind;

typedef struct vg_net_lease {
    char mac[18]; /* IPv4 leases are keyed by MAC; IPv6 ones by name */
    char ip[46];
    char name[65];
} vg_net_lease;

typedef struct vg_net_subnet {
    int present;
    vg_ip addr; /* the host side's address in the subnet */
    int prefix;
    int has_dhcp;
    vg_ip dhcp_start, dhcp_end;
    size_t nhosts;
    vg_net_lease *hosts; /* owned, nhosts of them */
} vg_net_subnet;

typedef struct vg_net_dnshost {
    char ip[46];
    size_t nnames;
    char names[VG_NET_MAX_NAMES][65];
} vg_net_dnshost;

typedef struct vg_netspec {
    char name[65];
    vg_net_kind kind;
    char bridge[16]; /* bridge, ovs: the existing bridge; isolated, nat, routed: optional name */
    char dev[16];    /* macvtap: parent interface; nat, routed: optional outgoing interface */
    char mode[12];   /* macvtap: bridge (default), vepa, private, passthrough */
    size_t nvlans;   /* ovs */
    int vlans[VG_NET_MAX_VLANS];
    int trunk;
    int autostart; /* default 1 */
    vg_net_subnet ipv4, ipv6;
    size_t ndns;
    vg_net_dnshost dns[VG_NET_MAX_DNS];
    size_t nfwd;
    char forwarders[VG_NET_MAX_FWD][46];
} vg_netspec;

/* Checks every field and fills defaults; the error names the offending field, e.g.
 * `network.ipv4.dhcp.start 10.9.0.10 is outside 10.1.0.0/24`. */
int vg_netspec_parse(const cJSON *spec, vg_netspec *out, vg_err *err);
void vg_netspec_free(vg_netspec *spec);
const char *vg_netspec_kind_name(vg_net_kind kind);
/* Adds static leases (the addresses the registry handed out, vg_netspec_lease_add): an IPv4
 * address with the NIC's MAC. bad_request for an address outside the subnet or taken. */
int vg_netspec_lease_add(vg_netspec *spec, const char *mac, const char *ip, const char *name,
                         vg_err *err);
/* The libvirt <network> document, deterministic (golden files in tests/unit/data/network/).
 * uuid: the one libvirt gave the network (a redefinition must keep it), or NULL. Caller frees. */
char *vg_netspec_xml(const vg_netspec *spec, const char *uuid, vg_err *err);

#endif
