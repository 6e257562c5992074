/* A network filter specification (filter.create, and what security groups compile to,
 * docs/networks.md) and the libvirt <filter> XML made from it. Pure: no libvirt, no I/O.
 *
 * Rules follow libvirt's nwfilter semantics: direction `in` is traffic towards the VM, `out`
 * traffic from it; rules on IP protocols are stateful, so an accepted connection's answers pass
 * in the other direction; the lowest priority runs first. */
#ifndef VG_NWFILTER_H
#define VG_NWFILTER_H

#include "vg.h"
#include "vg_jfield.h"

#include <cjson/cJSON.h>

#define VG_NWF_MAX_RULES 256
#define VG_NWF_MAX_REFS 8

typedef struct vg_nwf_rule {
    char action[8];         /* accept, drop, reject, return */
    char direction[6];      /* in, out, inout */
    int priority;           /* -1000..1000, default 500 */
    char protocol[10];      /* all, tcp, udp, icmp, arp, all-ipv6, tcp-ipv6, udp-ipv6, icmpv6 */
    int port_min, port_max; /* destination ports (tcp, udp); 0 = any */
    int has_remote;
    vg_ip remote; /* the other side: source of `in`, destination of `out` */
    int remote_prefix;
} vg_nwf_rule;

typedef struct vg_nwfilter {
    char name[65];
    char chain[8]; /* root (default), ipv4, ipv6, arp, mac */
    size_t nrefs;
    char refs[VG_NWF_MAX_REFS][65]; /* filters it includes (clean-traffic, ...) */
    size_t nrules;
    vg_nwf_rule rules[VG_NWF_MAX_RULES];
} vg_nwfilter;

/* Checks every field; errors name the field: `filter.rules[2].port_max must be ...`. */
int vg_nwfilter_parse(const cJSON *spec, vg_nwfilter *out, vg_err *err);
/* uuid: keep the one libvirt gave (a redefinition must carry it), or NULL. Caller frees. */
char *vg_nwfilter_xml(const vg_nwfilter *f, const char *uuid, vg_err *err);

#endif
