#include "libvirt/domxml.h"

#include "vg_util.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_elem(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static const xmlNode *child(const xmlNode *n, const char *name)
{
    for (const xmlNode *c = n->children; c; c = c->next)
        if (is_elem(c, name))
            return c;
    return NULL;
}

/* Takes ownership of v (a libxml2 string) and copies it into dst; returns 1 when it is
 * present, not empty and fits. */
static int take_string(xmlChar *v, char *dst, size_t cap)
{
    if (!v)
        return 0;
    size_t len = strlen((const char *)v);
    int ok = len > 0 && len < cap;
    if (ok)
        memcpy(dst, v, len + 1);
    xmlFree(v);
    return ok;
}

/* Copies an attribute into dst; returns 1 when present and it fits. */
static int attr(const xmlNode *n, const char *name, char *dst, size_t cap)
{
    return n && take_string(xmlGetProp((xmlNode *)n, (const xmlChar *)name), dst, cap);
}

/* Copies an element's text content into dst; returns 1 when it fits. */
static int text(const xmlNode *n, char *dst, size_t cap)
{
    return n && take_string(xmlNodeGetContent(n), dst, cap);
}

static const domxml_console *find_path(const domxml_info *out, const char *path)
{
    for (size_t i = 0; i < out->ncons; i++)
        if (strcmp(out->cons[i].path, path) == 0)
            return &out->cons[i];
    return NULL;
}

static void add_device(domxml_info *out, const xmlNode *dev, const char *kind, int index)
{
    char type[16];
    if (out->ncons == DOMXML_MAX_CONSOLES || !attr(dev, "type", type, sizeof(type)) ||
        strcmp(type, "unix") != 0)
        return;
    domxml_console c;
    memset(&c, 0, sizeof(c));
    if (!attr(child(dev, "source"), "path", c.path, sizeof(c.path)) || c.path[0] != '/')
        return;
    /* A <console> on the same socket as a serial port is that port's alias (libvirt mirrors
     * serial0 into console0); it must not become a second holder of the same socket. */
    if (find_path(out, c.path))
        return;
    if (!attr(child(dev, "alias"), "name", c.dev, sizeof(c.dev)) || !vg_valid_name(c.dev))
        snprintf(c.dev, sizeof(c.dev), "%s%d", kind, index);
    snprintf(c.kind, sizeof(c.kind), "%s", kind);
    const xmlNode *log = child(dev, "log");
    char append[8] = "";
    if (attr(log, "file", c.log, sizeof(c.log)) &&
        (!attr(log, "append", append, sizeof(append)) || strcmp(append, "on") != 0))
        c.log[0] = '\0'; /* without append the file restarts with the VM: no stable offsets */
    if (c.log[0] && c.log[0] != '/')
        c.log[0] = '\0';
    out->cons[out->ncons++] = c;
}

/* <memory unit='KiB'>131072</memory> in MiB; libvirt writes KiB, people write anything. */
static long long memory_mib(const xmlNode *n)
{
    static const struct {
        const char *unit;
        double mib;
    } units[] = {{"b", 1.0 / 1048576},
                 {"bytes", 1.0 / 1048576},
                 {"KB", 1e3 / 1048576},
                 {"k", 1.0 / 1024},
                 {"KiB", 1.0 / 1024},
                 {"MB", 1e6 / 1048576},
                 {"M", 1},
                 {"MiB", 1},
                 {"GB", 1e9 / 1048576},
                 {"G", 1024},
                 {"GiB", 1024},
                 {"T", 1048576},
                 {"TiB", 1048576}};
    char v[32], unit[8] = "KiB";
    if (!text(n, v, sizeof(v)))
        return 0;
    attr(n, "unit", unit, sizeof(unit));
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strcmp(unit, units[i].unit) == 0) {
            /* Checked before the cast: a double outside long long's range is undefined. */
            double mib = strtod(v, NULL) * units[i].mib;
            return mib >= 0 && mib < 1e15 ? (long long)mib : 0;
        }
    return 0;
}

int hd_domxml_parse(const char *xml, size_t len, domxml_info *out, vg_err *err)
{
    memset(out, 0, sizeof(*out));
    if (len > 16 * 1024 * 1024)
        return vg_fail(err, VG_E_TOO_BIG, "domain XML of %zu bytes is too large", len);
    xmlDoc *doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        return vg_fail(err, VG_E_BAD_REQUEST, "domain XML does not parse");
    int rc = VG_OK;
    const xmlNode *root = xmlDocGetRootElement(doc);
    if (!root || !is_elem(root, "domain")) {
        rc = vg_fail(err, VG_E_BAD_REQUEST, "root element is not <domain>");
        goto out;
    }
    if (!text(child(root, "name"), out->name, sizeof(out->name)) || !vg_valid_name(out->name)) {
        rc = vg_fail(err, VG_E_BAD_REQUEST, "domain has no valid <name>");
        goto out;
    }
    if (!text(child(root, "uuid"), out->uuid, sizeof(out->uuid)))
        out->uuid[0] = '\0';
    char vcpus[16];
    if (text(child(root, "vcpu"), vcpus, sizeof(vcpus)))
        out->vcpus = atoi(vcpus);
    out->memory_mib = memory_mib(child(root, "memory"));
    const xmlNode *devices = child(root, "devices");
    if (!devices)
        goto out;
    /* Serials first: a <console> is recognised as a serial alias only once they are known. */
    static const char *const kinds[] = {"serial", "console", "channel"};
    for (size_t k = 0; k < 3; k++) {
        int index = 0;
        for (const xmlNode *c = devices->children; c; c = c->next)
            if (is_elem(c, kinds[k]))
                add_device(out, c, kinds[k], index++);
    }
out:
    xmlFreeDoc(doc);
    return rc;
}
