/* Network filter specs: parse, check and generate libvirt nwfilter XML (vg_nwfilter.h). */
#include "vg_nwfilter.h"

#include "vg_util.h"
#include "vg_xbuf.h"

#include <stdio.h>
#include <string.h>

static const char *const actions[] = {"accept", "drop", "reject", "return", NULL};
static const char *const directions[] = {"in", "out", "inout", NULL};
static const char *const protocols[] = {"all",      "tcp",      "udp",      "icmp",   "arp",
                                        "all-ipv6", "tcp-ipv6", "udp-ipv6", "icmpv6", NULL};
static const char *const chains[] = {"root", "ipv4", "ipv6", "arp", "mac", NULL};

static int is_v6(const char *proto)
{
    return strstr(proto, "ipv6") != NULL || !strcmp(proto, "icmpv6");
}

static int has_ports(const char *proto)
{
    return !strncmp(proto, "tcp", 3) || !strncmp(proto, "udp", 3);
}

static int parse_rule(const cJSON *r, size_t i, vg_nwf_rule *out, vg_err *err)
{
    static const char *const keys[] = {"action",   "direction", "priority", "protocol",
                                       "port_min", "port_max",  "remote",   NULL};
    char at[40];
    snprintf(at, sizeof(at), "filter.rules[%zu]", i);
    if (!cJSON_IsObject(r))
        return vg_fail(err, VG_E_BAD_REQUEST, "%s must be an object", at);
    memset(out, 0, sizeof(*out));
    snprintf(out->direction, sizeof(out->direction), "inout");
    snprintf(out->protocol, sizeof(out->protocol), "all");
    long long prio = 500, pmin = 0, pmax = 0;
    if (vg_jf_known(r, at, keys, err) != VG_OK)
        return VG_ERR;
    if (!vg_jf_member(r, "action"))
        return vg_fail(err, VG_E_BAD_REQUEST, "%s.action is required", at);
    if (vg_jf_enum(r, at, "action", actions, out->action, sizeof(out->action), err) != VG_OK ||
        vg_jf_enum(r, at, "direction", directions, out->direction, sizeof(out->direction), err) !=
            VG_OK ||
        vg_jf_enum(r, at, "protocol", protocols, out->protocol, sizeof(out->protocol), err) !=
            VG_OK ||
        vg_jf_int(r, at, "priority", -1000, 1000, &prio, err) != VG_OK ||
        vg_jf_int(r, at, "port_min", 1, 65535, &pmin, err) != VG_OK ||
        vg_jf_int(r, at, "port_max", 1, 65535, &pmax, err) != VG_OK)
        return VG_ERR;
    out->priority = (int)prio;
    if ((pmin || pmax) && !has_ports(out->protocol))
        return vg_fail(err, VG_E_BAD_REQUEST, "%s: ports need protocol tcp or udp (or -ipv6)", at);
    if (pmax && !pmin)
        return vg_fail(err, VG_E_BAD_REQUEST, "%s.port_max needs port_min", at);
    if (pmin && !pmax)
        pmax = pmin;
    if (pmax < pmin)
        return vg_fail(err, VG_E_BAD_REQUEST, "%s.port_max must not be below port_min", at);
    out->port_min = (int)pmin;
    out->port_max = (int)pmax;
    const cJSON *remote = vg_jf_member(r, "remote");
    if (remote) {
        if (!cJSON_IsString(remote) ||
            !vg_cidr_parse(remote->valuestring, &out->remote, &out->remote_prefix))
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "%s.remote must be an address or CIDR like 10.0.0.0/24 or fd00::/64",
                           at);
        if (!strcmp(out->protocol, "arp"))
            return vg_fail(err, VG_E_BAD_REQUEST, "%s.remote is not for protocol arp", at);
        if (out->remote.v6 != is_v6(out->protocol))
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "%s.remote is an %s address but protocol %s is %s", at,
                           out->remote.v6 ? "IPv6" : "IPv4", out->protocol,
                           is_v6(out->protocol) ? "IPv6" : "IPv4");
        if (!strcmp(out->direction, "inout"))
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "%s.remote needs direction in or out (which side is remote)", at);
        out->has_remote = 1;
    }
    return VG_OK;
}

int vg_nwfilter_parse(const cJSON *spec, vg_nwfilter *out, vg_err *err)
{
    static const char *const keys[] = {"name", "chain", "include", "rules", NULL};
    memset(out, 0, sizeof(*out));
    snprintf(out->chain, sizeof(out->chain), "root");
    if (!cJSON_IsObject(spec))
        return vg_fail(err, VG_E_BAD_REQUEST, "filter must be an object");
    if (vg_jf_known(spec, "filter", keys, err) != VG_OK)
        return VG_ERR;
    if (!vg_jf_member(spec, "name"))
        return vg_fail(err, VG_E_BAD_REQUEST, "filter.name is required");
    if (vg_jf_str(spec, "filter", "name", out->name, sizeof(out->name), 0, err) != VG_OK ||
        vg_jf_enum(spec, "filter", "chain", chains, out->chain, sizeof(out->chain), err) != VG_OK)
        return VG_ERR;
    if (!vg_valid_name(out->name))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "filter.name must be a name of 1-64 characters A-Z a-z 0-9 . _ -");
    const cJSON *inc = vg_jf_member(spec, "include"), *rules = vg_jf_member(spec, "rules");
    if (inc && (!cJSON_IsArray(inc) || cJSON_GetArraySize(inc) > VG_NWF_MAX_REFS))
        return vg_fail(err, VG_E_BAD_REQUEST, "filter.include must be a list of at most %d filters",
                       VG_NWF_MAX_REFS);
    for (const cJSON *f = inc ? inc->child : NULL; f; f = f->next) {
        const char *n = cJSON_GetStringValue(f);
        if (!n || !vg_valid_name(n))
            return vg_fail(err, VG_E_BAD_REQUEST, "filter.include[%zu] must be a filter name",
                           out->nrefs);
        if (!strcmp(n, out->name))
            return vg_fail(err, VG_E_BAD_REQUEST, "filter.include names the filter itself");
        snprintf(out->refs[out->nrefs++], 65, "%s", n);
    }
    if (rules && (!cJSON_IsArray(rules) || cJSON_GetArraySize(rules) > VG_NWF_MAX_RULES))
        return vg_fail(err, VG_E_BAD_REQUEST, "filter.rules must be a list of at most %d rules",
                       VG_NWF_MAX_RULES);
    for (const cJSON *r = rules ? rules->child : NULL; r; r = r->next) {
        if (parse_rule(r, out->nrules, &out->rules[out->nrules], err) != VG_OK)
            return VG_ERR;
        out->nrules++;
    }
    return VG_OK;
}

static void rule_xml(vg_xbuf *b, const vg_nwf_rule *r)
{
    vg_xbuf_putf(b, "  <rule action='%s' direction='%s' priority='%d'>\n", r->action, r->direction,
                 r->priority);
    vg_xbuf_putf(b, "    <%s", r->protocol);
    if (r->has_remote) {
        char a[46];
        const char *side = !strcmp(r->direction, "in") ? "src" : "dst";
        vg_ip_format(&r->remote, a, sizeof(a));
        vg_xbuf_putf(b, " %sipaddr='%s' %sipmask='%d'", side, a, side, r->remote_prefix);
    }
    if (r->port_min)
        vg_xbuf_putf(b, " dstportstart='%d' dstportend='%d'", r->port_min, r->port_max);
    vg_xbuf_putf(b, "/>\n  </rule>\n");
}

char *vg_nwfilter_xml(const vg_nwfilter *f, const char *uuid, vg_err *err)
{
    if (uuid && !vg_uuid_ok(uuid)) {
        vg_fail(err, VG_E_INTERNAL, "uuid %.40s is not a UUID", uuid);
        return NULL;
    }
    vg_xbuf b = {0};
    vg_xbuf_attr(&b, "<filter name='", f->name, "'");
    vg_xbuf_putf(&b, " chain='%s'>\n", f->chain);
    if (uuid)
        vg_xbuf_elem(&b, "  ", "uuid", uuid);
    for (size_t i = 0; i < f->nrefs; i++)
        vg_xbuf_attr(&b, "  <filterref filter='", f->refs[i], "'/>\n");
    for (size_t i = 0; i < f->nrules; i++)
        rule_xml(&b, &f->rules[i]);
    vg_xbuf_putf(&b, "</filter>\n");
    return vg_xbuf_finish(&b, err);
}
