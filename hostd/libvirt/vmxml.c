#include "libvirt/vmxml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VMXML_DOC_MAX (16 * 1024 * 1024)

static xmlDoc *parse(const char *xml, const char *what, vg_err *err)
{
    size_t len = xml ? strlen(xml) : 0;
    if (len == 0 || len > VMXML_DOC_MAX)
        return vg_fail(err, VG_E_BAD_REQUEST, "%s XML is empty or too large", what), NULL;
    xmlDoc *doc = xmlReadMemory(xml, (int)len, "doc.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        vg_fail(err, VG_E_BAD_REQUEST, "%s XML does not parse", what);
    return doc;
}

static int is_elem(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static const xmlNode *child(const xmlNode *n, const char *name)
{
    for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (is_elem(c, name))
            return c;
    return NULL;
}

/* Copies an attribute; returns 1 when present and it fits. */
static int attr(const xmlNode *n, const char *name, char *dst, size_t cap)
{
    xmlChar *v = n ? xmlGetProp((xmlNode *)n, (const xmlChar *)name) : NULL;
    if (!v)
        return 0;
    size_t len = strlen((const char *)v);
    int ok = len < cap;
    if (ok)
        memcpy(dst, v, len + 1);
    xmlFree(v);
    return ok;
}

static char *dump(xmlDoc *doc, vg_err *err)
{
    xmlChar *mem = NULL;
    int size = 0;
    xmlDocDumpMemory(doc, &mem, &size);
    char *s = mem ? strdup((const char *)mem) : NULL;
    xmlFree(mem);
    if (!s)
        vg_fail(err, VG_E_INTERNAL, "out of memory");
    return s;
}

static int disk_sources(const char *xml, int all, vmxml_disk *out, size_t cap, size_t *n,
                        vg_err *err)
{
    *n = 0;
    xmlDoc *doc = parse(xml, "domain", err);
    if (!doc)
        return VG_ERR;
    const xmlNode *root = xmlDocGetRootElement(doc);
    int rc = is_elem(root, "domain")
                 ? VG_OK
                 : vg_fail(err, VG_E_BAD_REQUEST, "root element is not <domain>");
    const xmlNode *devs = child(root, "devices");
    for (const xmlNode *d = devs ? devs->children : NULL; d && rc == VG_OK; d = d->next) {
        char device[16] = "disk";
        if (!is_elem(d, "disk"))
            continue;
        attr(d, "device", device, sizeof(device));
        if (!all && strcmp(device, "disk") != 0)
            continue;
        if (*n == cap) {
            rc = vg_fail(err, VG_E_BAD_REQUEST, "domain has more than %zu disks", cap);
            break;
        }
        vmxml_disk *k = &out[*n];
        memset(k, 0, sizeof(*k));
        const xmlNode *src = child(d, "source");
        if (!attr(src, "file", k->file, sizeof(k->file)))
            attr(src, "dev", k->file, sizeof(k->file));
        if (!attr(src, "pool", k->pool, sizeof(k->pool)) ||
            !attr(src, "volume", k->volume, sizeof(k->volume)))
            k->pool[0] = k->volume[0] = '\0';
        if (k->file[0] || k->pool[0])
            (*n)++;
    }
    xmlFreeDoc(doc);
    return rc;
}

int hd_vmxml_disks(const char *xml, vmxml_disk *out, size_t cap, size_t *n, vg_err *err)
{
    return disk_sources(xml, 0, out, cap, n, err);
}

int hd_vmxml_media(const char *xml, vmxml_disk *out, size_t cap, size_t *n, vg_err *err)
{
    return disk_sources(xml, 1, out, cap, n, err);
}

int hd_vmxml_cdrom(const char *xml, char *dev, size_t devcap, char *bus, size_t buscap, vg_err *err)
{
    xmlDoc *doc = parse(xml, "domain", err);
    if (!doc)
        return VG_ERR;
    int rc = vg_fail(err, VG_E_NOT_FOUND, "the VM has no CD-ROM drive");
    const xmlNode *devs = child(xmlDocGetRootElement(doc), "devices");
    for (const xmlNode *d = devs ? devs->children : NULL; d; d = d->next) {
        char device[16] = "";
        if (!is_elem(d, "disk") || !attr(d, "device", device, sizeof(device)) ||
            strcmp(device, "cdrom") != 0)
            continue;
        const xmlNode *t = child(d, "target");
        if (attr(t, "dev", dev, devcap)) {
            if (!attr(t, "bus", bus, buscap))
                snprintf(bus, buscap, "%s", "sata");
            rc = VG_OK;
        }
        break;
    }
    xmlFreeDoc(doc);
    return rc;
}

char *hd_vmxml_cdrom_device(const char *dev, const char *bus, const char *path, vg_err *err)
{
    xmlDoc *doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNode *d = xmlNewNode(NULL, (const xmlChar *)"disk");
    xmlDocSetRootElement(doc, d);
    xmlNewProp(d, (const xmlChar *)"type", (const xmlChar *)"file");
    xmlNewProp(d, (const xmlChar *)"device", (const xmlChar *)"cdrom");
    xmlNode *drv = xmlNewChild(d, NULL, (const xmlChar *)"driver", NULL);
    xmlNewProp(drv, (const xmlChar *)"name", (const xmlChar *)"qemu");
    xmlNewProp(drv, (const xmlChar *)"type", (const xmlChar *)"raw");
    if (path) {
        xmlNode *s = xmlNewChild(d, NULL, (const xmlChar *)"source", NULL);
        xmlNewProp(s, (const xmlChar *)"file", (const xmlChar *)path);
    }
    xmlNode *t = xmlNewChild(d, NULL, (const xmlChar *)"target", NULL);
    xmlNewProp(t, (const xmlChar *)"dev", (const xmlChar *)dev);
    xmlNewProp(t, (const xmlChar *)"bus", (const xmlChar *)bus);
    xmlNewChild(d, NULL, (const xmlChar *)"readonly", NULL);
    char *s = dump(doc, err);
    xmlFreeDoc(doc);
    return s;
}

static void rewrite(xmlNode *n, const char *from, size_t flen, const char *to)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        for (xmlAttr *a = n->properties; a; a = a->next) {
            if (strcmp((const char *)a->name, "path") != 0 &&
                strcmp((const char *)a->name, "file") != 0)
                continue;
            xmlChar *v = xmlNodeGetContent((xmlNode *)a);
            const char *s = (const char *)v;
            if (s && strncmp(s, from, flen) == 0 && s[flen] == '/' && s[flen + 1] &&
                !strchr(s + flen + 1, '/')) {
                size_t len = strlen(to) + strlen(s + flen) + 1;
                char *nv = malloc(len);
                if (nv) {
                    snprintf(nv, len, "%s%s", to, s + flen);
                    xmlSetProp(n, a->name, (const xmlChar *)nv);
                    free(nv);
                }
            }
            xmlFree(v);
        }
        rewrite(n->children, from, flen, to);
    }
}

char *hd_vmxml_rewrite_dir(const char *xml, const char *from_dir, const char *to_dir, vg_err *err)
{
    size_t flen = strlen(from_dir), tlen = strlen(to_dir);
    while (flen > 1 && from_dir[flen - 1] == '/')
        flen--;
    while (tlen > 1 && to_dir[tlen - 1] == '/')
        tlen--;
    if (from_dir[0] != '/' || to_dir[0] != '/')
        return vg_fail(err, VG_E_BAD_REQUEST, "console directories must be absolute"), NULL;
    xmlDoc *doc = parse(xml, "domain", err);
    if (!doc)
        return NULL;
    char to[VMXML_PATH_MAX];
    if (tlen >= sizeof(to)) {
        xmlFreeDoc(doc);
        return vg_fail(err, VG_E_BAD_REQUEST, "dest_console_dir is too long"), NULL;
    }
    memcpy(to, to_dir, tlen);
    to[tlen] = '\0';
    rewrite(xmlDocGetRootElement(doc), from_dir, flen, to);
    char *s = dump(doc, err);
    xmlFreeDoc(doc);
    return s;
}

int hd_vmxml_volume_format(const char *xml, char *fmt, size_t cap, vg_err *err)
{
    xmlDoc *doc = parse(xml, "volume", err);
    if (!doc)
        return VG_ERR;
    const xmlNode *root = xmlDocGetRootElement(doc);
    if (!attr(child(child(root, "target"), "format"), "type", fmt, cap))
        snprintf(fmt, cap, "%s", "raw");
    xmlFreeDoc(doc);
    return VG_OK;
}

/* The text of root/<outer>/<path>, for pools and volumes. */
static int path_in(const char *xml, const char *what, const char *outer, char *path, size_t cap,
                   vg_err *err)
{
    xmlDoc *doc = parse(xml, what, err);
    if (!doc)
        return VG_ERR;
    const xmlNode *p = child(child(xmlDocGetRootElement(doc), outer), "path");
    xmlChar *v = p ? xmlNodeGetContent(p) : NULL;
    int rc = VG_OK;
    if (v && strlen((const char *)v) >= cap)
        rc = vg_fail(err, VG_E_BAD_REQUEST, "%s path is too long", what);
    else
        snprintf(path, cap, "%s", v ? (const char *)v : "");
    xmlFree(v);
    xmlFreeDoc(doc);
    return rc;
}

int hd_vmxml_pool_path(const char *xml, char *path, size_t cap, vg_err *err)
{
    return path_in(xml, "pool", "target", path, cap, err);
}

int hd_vmxml_volume_backing(const char *xml, char *path, size_t cap, vg_err *err)
{
    return path_in(xml, "volume", "backingStore", path, cap, err);
}

char *hd_vmxml_volume(const char *name, long long size_mib, const char *format,
                      const char *backing_path, const char *backing_format, vg_err *err)
{
    char size[32];
    snprintf(size, sizeof(size), "%lld", size_mib);
    xmlDoc *doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNode *v = xmlNewNode(NULL, (const xmlChar *)"volume");
    xmlDocSetRootElement(doc, v);
    xmlNewTextChild(v, NULL, (const xmlChar *)"name", (const xmlChar *)name);
    xmlNode *cap = xmlNewTextChild(v, NULL, (const xmlChar *)"capacity", (const xmlChar *)size);
    xmlNewProp(cap, (const xmlChar *)"unit", (const xmlChar *)"MiB");
    xmlNode *t = xmlNewChild(v, NULL, (const xmlChar *)"target", NULL);
    xmlNode *f = xmlNewChild(t, NULL, (const xmlChar *)"format", NULL);
    xmlNewProp(f, (const xmlChar *)"type", (const xmlChar *)format);
    if (backing_path) {
        xmlNode *b = xmlNewChild(v, NULL, (const xmlChar *)"backingStore", NULL);
        xmlNewTextChild(b, NULL, (const xmlChar *)"path", (const xmlChar *)backing_path);
        xmlNode *bf = xmlNewChild(b, NULL, (const xmlChar *)"format", NULL);
        xmlNewProp(bf, (const xmlChar *)"type", (const xmlChar *)backing_format);
    }
    char *s = dump(doc, err);
    xmlFreeDoc(doc);
    return s;
}

char *hd_vmxml_snapshot_doc(const char *name, const char *description, vg_err *err)
{
    xmlDoc *doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNode *s = xmlNewNode(NULL, (const xmlChar *)"domainsnapshot");
    xmlDocSetRootElement(doc, s);
    xmlNewTextChild(s, NULL, (const xmlChar *)"name", (const xmlChar *)name);
    if (description && description[0])
        xmlNewTextChild(s, NULL, (const xmlChar *)"description", (const xmlChar *)description);
    char *out = dump(doc, err);
    xmlFreeDoc(doc);
    return out;
}

int hd_vmxml_snapshot_parse(const char *xml, vmxml_snapshot *out, vg_err *err)
{
    memset(out, 0, sizeof(*out));
    xmlDoc *doc = parse(xml, "snapshot", err);
    if (!doc)
        return VG_ERR;
    const xmlNode *root = xmlDocGetRootElement(doc);
    int rc = VG_OK;
    if (!is_elem(root, "domainsnapshot")) {
        rc = vg_fail(err, VG_E_BAD_REQUEST, "root element is not <domainsnapshot>");
        goto out;
    }
    const xmlNode *st = child(root, "state"), *ct = child(root, "creationTime");
    xmlChar *v = st ? xmlNodeGetContent(st) : NULL;
    snprintf(out->state, sizeof(out->state), "%s", v ? (const char *)v : "");
    xmlFree(v);
    v = ct ? xmlNodeGetContent(ct) : NULL;
    out->created_s = v ? strtoll((const char *)v, NULL, 10) : 0;
    xmlFree(v);
    char snap[16];
    out->external = attr(child(root, "memory"), "snapshot", snap, sizeof(snap)) &&
                    strcmp(snap, "external") == 0;
    for (const xmlNode *d = child(child(root, "disks"), "disk"); d && !out->external; d = d->next)
        out->external = is_elem(d, "disk") && attr(d, "snapshot", snap, sizeof(snap)) &&
                        strcmp(snap, "external") == 0;
out:
    xmlFreeDoc(doc);
    return rc;
}

/* netmask='255.255.255.0' as a prefix length; -1 when it is not a contiguous mask. */
static int mask_prefix(const char *mask)
{
    vg_ip m;
    if (!vg_ip_parse(mask, &m) || m.v6)
        return -1;
    int p = 0;
    while (p < 32 && (m.b[p / 8] >> (7 - p % 8)) & 1)
        p++;
    for (int bit = p; bit < 32; bit++)
        if ((m.b[bit / 8] >> (7 - bit % 8)) & 1)
            return -1;
    return p;
}

int hd_vmxml_net_subnets(const char *xml, vmxml_subnet *out, size_t cap, size_t *n, vg_err *err)
{
    xmlDoc *doc = parse(xml, "network", err);
    *n = 0;
    if (!doc)
        return VG_ERR;
    for (const xmlNode *c = xmlDocGetRootElement(doc)->children; c && *n < cap; c = c->next) {
        char addr[64], pfx[8], mask[64];
        if (!is_elem(c, "ip") || !attr(c, "address", addr, sizeof(addr)) ||
            !vg_ip_parse(addr, &out[*n].addr))
            continue;
        int p = vg_ip_bits(&out[*n].addr);
        if (attr(c, "prefix", pfx, sizeof(pfx)))
            p = atoi(pfx);
        else if (attr(c, "netmask", mask, sizeof(mask)))
            p = mask_prefix(mask);
        if (p < 0 || p > vg_ip_bits(&out[*n].addr))
            continue;
        out[(*n)++].prefix = p;
    }
    xmlFreeDoc(doc);
    return VG_OK;
}
