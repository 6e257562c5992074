/* raw_xml specs: the expert's own domain XML, checked when the spec is parsed and handed to
 * libvirt nearly as written. The only part of the module that reads XML (libxml2). */
#include "vg_domspec_int.h"
#include "vg_util.h"

#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SPEC_RAW_MAX 65536

static const xmlNode *xml_child(const xmlNode *n, const char *name)
{
    for (const xmlNode *c = n->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
            return c;
    return NULL;
}

/* A whole non-negative number in element text (surrounding blanks allowed), else -1. */
static long long xml_number(const xmlNode *n)
{
    xmlChar *t = xmlNodeGetContent(n);
    long long v = -1;
    if (t) {
        char *end;
        const char *s = (const char *)t;
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
            s++;
        errno = 0;
        if (*s >= '0' && *s <= '9') {
            v = strtoll(s, &end, 10);
            while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
                end++;
            if (errno || *end)
                v = -1;
        }
        xmlFree(t);
    }
    return v;
}

/* Bytes per unit of libvirt's <memory unit=...> (KiB when absent), 0 when unknown. */
static unsigned long long mem_unit(const char *u)
{
    static const char scale[] = "kmgt";
    if (!u || !*u)
        return 1024;
    if (!strcasecmp(u, "b") || !strcasecmp(u, "byte") || !strcasecmp(u, "bytes"))
        return 1;
    const char *p = strchr(scale, u[0] | 0x20);
    if (!p || !*p)
        return 0;
    int power = (int)(p - scale) + 1, si = !strcasecmp(u + 1, "b");
    if (!si && u[1] && strcasecmp(u + 1, "ib"))
        return 0;
    unsigned long long v = 1;
    while (power--)
        v *= si ? 1000 : 1024;
    return v;
}

/* No DTD: no entities to expand (xmlNodeGetContent would expand them without limits). The
 * vCPUs and memory are what quota and placement count. */
int vg_domspec_raw_parse(const cJSON *raw, vg_spec *out, vg_err *err)
{
    if (!cJSON_IsString(raw))
        return vg_fail(err, VG_E_BAD_REQUEST, "spec.raw_xml must be a string");
    size_t len = strlen(raw->valuestring);
    if (len > SPEC_RAW_MAX)
        return vg_fail(err, VG_E_BAD_REQUEST, "spec.raw_xml must be at most %d bytes",
                       SPEC_RAW_MAX);
    xmlDoc *doc = xmlReadMemory(raw->valuestring, (int)len, "raw.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        return vg_fail(err, VG_E_BAD_REQUEST, "spec.raw_xml is not well-formed XML");
    int rc = VG_ERR;
    const xmlNode *root = xmlDocGetRootElement(doc), *name, *vcpu, *mem;
    xmlChar *text = NULL, *unit = NULL;
    long long vcpus = 1;
    if (doc->intSubset || doc->extSubset) {
        vg_fail(err, VG_E_BAD_REQUEST, "spec.raw_xml must not have a DOCTYPE");
    } else if (!root || strcmp((const char *)root->name, "domain") != 0) {
        vg_fail(err, VG_E_BAD_REQUEST, "spec.raw_xml must have a <domain> root element");
    } else if (!(name = xml_child(root, "name")) || !(text = xmlNodeGetContent(name)) ||
               strcmp((const char *)text, out->name) != 0) {
        vg_fail(err, VG_E_BAD_REQUEST, "spec.raw_xml: <name> must be %s (spec.name)", out->name);
    } else if ((vcpu = xml_child(root, "vcpu")) &&
               ((vcpus = xml_number(vcpu)) < 1 || vcpus > VG_SPEC_VCPUS_MAX)) {
        vg_fail(err, VG_E_BAD_REQUEST, "spec.raw_xml: <vcpu> must be 1-%d", VG_SPEC_VCPUS_MAX);
    } else if (!(mem = xml_child(root, "memory"))) {
        vg_fail(err, VG_E_BAD_REQUEST, "spec.raw_xml has no <memory>");
    } else {
        unit = xmlGetProp((xmlNode *)mem, (const xmlChar *)"unit");
        unsigned long long scale = mem_unit((const char *)unit);
        long long n = xml_number(mem);
        unsigned long long mib = scale && n >= 0 && (unsigned long long)n <= (1ull << 62) / scale
                                     ? ((unsigned long long)n * scale + (1ull << 20) - 1) >> 20
                                     : 0;
        if (mib < VG_SPEC_MEM_MIN || mib > VG_SPEC_MEM_MAX) {
            vg_fail(err, VG_E_BAD_REQUEST,
                    "spec.raw_xml: <memory> must be %d-%d MiB with a known unit", VG_SPEC_MEM_MIN,
                    VG_SPEC_MEM_MAX);
        } else if (!(out->raw_xml = strdup(raw->valuestring))) {
            vg_fail(err, VG_E_INTERNAL, "out of memory");
        } else {
            out->memory_mib = (long long)mib;
            out->vcpus = (int)vcpus;
            rc = VG_OK;
        }
    }
    xmlFree(unit);
    xmlFree(text);
    xmlFreeDoc(doc);
    return rc;
}

/* Raw XML as the expert wrote it, except that a redefinition (h->uuid) must keep the domain's
 * uuid: libvirt refuses a new uuid for an existing name. A missing <uuid> is added after
 * <name>; a different one is refused. */
char *vg_domspec_raw_xml(const vg_spec *s, const vg_domspec_host *h, vg_err *err)
{
    char *out = NULL;
    if (!h->uuid) {
        if (!(out = strdup(s->raw_xml)))
            vg_fail(err, VG_E_INTERNAL, "out of memory");
        return out;
    }
    if (!vg_uuid_ok(h->uuid)) {
        vg_fail(err, VG_E_INTERNAL, "uuid %.40s is not a UUID", h->uuid);
        return NULL;
    }
    /* vg_domspec_parse checked it: well-formed, a <domain> with a <name>, no DTD. */
    xmlDoc *doc = xmlReadMemory(s->raw_xml, (int)strlen(s->raw_xml), "raw.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL, *name = NULL, *uuid = NULL;
    for (xmlNode *c = root ? root->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && !name && !strcmp((const char *)c->name, "name"))
            name = c;
        else if (c->type == XML_ELEMENT_NODE && !uuid && !strcmp((const char *)c->name, "uuid"))
            uuid = c;
    xmlChar *have = uuid ? xmlNodeGetContent(uuid) : NULL;
    int refused = 1;
    if (!name) {
        vg_fail(err, VG_E_BAD_REQUEST, "spec.raw_xml has no <name>");
    } else if (uuid && (!have || strcasecmp((const char *)have, h->uuid) != 0)) {
        vg_fail(err, VG_E_BAD_REQUEST, "spec.raw_xml: <uuid> must be %s (the VM's) or absent",
                h->uuid);
    } else if ((refused = 0), uuid) {
        out = strdup(s->raw_xml);
    } else {
        xmlNode *u = xmlNewDocRawNode(doc, NULL, (const xmlChar *)"uuid", (const xmlChar *)h->uuid);
        xmlChar *dump = NULL;
        int len = 0;
        if (u && xmlAddNextSibling(name, u)) {
            /* on its own line, indented like <name> (inserted between two elements, the text
             * node is not merged into a neighbour) */
            const xmlNode *prev = name->prev;
            xmlNode *ws =
                prev && prev->type == XML_TEXT_NODE ? xmlNewDocText(doc, prev->content) : NULL;
            if (ws && !xmlAddNextSibling(name, ws))
                xmlFreeNode(ws);
            xmlDocDumpMemory(doc, &dump, &len);
        } else {
            xmlFreeNode(u);
        }
        out = dump ? strdup((const char *)dump) : NULL;
        xmlFree(dump);
    }
    if (!out && !refused)
        vg_fail(err, VG_E_INTERNAL, "out of memory");
    xmlFree(have);
    xmlFreeDoc(doc);
    return out;
}
