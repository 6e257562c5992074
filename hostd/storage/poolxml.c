#include "storage/poolxml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define X(s) ((const xmlChar *)(s))

static char *dump(xmlDoc *doc, vg_err *err)
{
    xmlChar *mem = NULL;
    int size = 0;
    xmlDocDumpFormatMemory(doc, &mem, &size, 1);
    char *s = mem ? strdup((const char *)mem) : NULL;
    xmlFree(mem);
    xmlFreeDoc(doc);
    if (!s)
        vg_fail(err, VG_E_INTERNAL, "out of memory");
    return s;
}

static xmlNode *with_attr(xmlNode *parent, const char *tag, const char *name, const char *value)
{
    xmlNode *n = xmlNewChild(parent, NULL, X(tag), NULL);
    xmlNewProp(n, X(name), X(value));
    return n;
}

static void add_auth(xmlNode *src, const vg_poolspec *s)
{
    if (!s->auth_user[0])
        return;
    xmlNode *a = with_attr(src, "auth", "type", "chap");
    xmlNewProp(a, X("username"), X(s->auth_user));
    with_attr(a, "secret", "usage", s->auth_secret);
}

char *hd_poolxml_pool(const vg_poolspec *s, vg_err *err)
{
    const char *type = vg_pool_type_name(s->type);
    if (!type)
        return vg_fail(err, VG_E_BAD_REQUEST, "unknown pool type"), NULL;
    xmlDoc *doc = xmlNewDoc(X("1.0"));
    xmlNode *p = xmlNewNode(NULL, X("pool"));
    xmlDocSetRootElement(doc, p);
    xmlNewProp(p, X("type"), X(type));
    xmlNewTextChild(p, NULL, X("name"), X(s->name));
    if (s->type != VG_POOL_DIR) {
        xmlNode *src = xmlNewChild(p, NULL, X("source"), NULL);
        if (s->host[0]) {
            xmlNode *h = with_attr(src, "host", "name", s->host);
            if (s->port) {
                char port[8];
                snprintf(port, sizeof(port), "%d", s->port);
                xmlNewProp(h, X("port"), X(port));
            }
        }
        for (size_t i = 0; i < s->ndevices; i++)
            with_attr(src, "device", "path", s->devices[i]);
        if (s->iqn[0])
            with_attr(src, "device", "path", s->iqn);
        if (s->dir[0])
            with_attr(src, "dir", "path", s->dir);
        if (s->vgname[0])
            xmlNewTextChild(src, NULL, X("name"), X(s->vgname));
        if (s->type == VG_POOL_LOGICAL)
            with_attr(src, "format", "type", "lvm2");
        else if (s->format[0])
            with_attr(src, "format", "type", s->format);
        if (s->initiator[0])
            with_attr(xmlNewChild(src, NULL, X("initiator"), NULL), "iqn", "name", s->initiator);
        add_auth(src, s);
    }
    if (s->target[0]) {
        xmlNode *t = xmlNewChild(p, NULL, X("target"), NULL);
        xmlNewTextChild(t, NULL, X("path"), X(s->target));
    }
    return dump(doc, err);
}

char *hd_poolxml_secret(const char *usage, const char *description, vg_err *err)
{
    xmlDoc *doc = xmlNewDoc(X("1.0"));
    xmlNode *s = xmlNewNode(NULL, X("secret"));
    xmlDocSetRootElement(doc, s);
    xmlNewProp(s, X("ephemeral"), X("no"));
    /* private: libvirt itself never hands the value back, not even to root over its API. */
    xmlNewProp(s, X("private"), X("yes"));
    if (description && description[0])
        xmlNewTextChild(s, NULL, X("description"), X(description));
    xmlNode *u = with_attr(s, "usage", "type", "iscsi");
    xmlNewTextChild(u, NULL, X("target"), X(usage));
    return dump(doc, err);
}

int hd_poolxml_type(const char *xml, char *type, size_t cap, vg_err *err)
{
    size_t len = xml ? strlen(xml) : 0;
    xmlDoc *doc = len ? xmlReadMemory(xml, (int)len, "pool.xml", NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)
                      : NULL;
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    xmlChar *t = root ? xmlGetProp(root, X("type")) : NULL;
    int rc = VG_OK;
    if (!t || strlen((const char *)t) >= cap)
        rc = vg_fail(err, VG_E_INTERNAL, "pool XML without a type");
    else
        memcpy(type, t, strlen((const char *)t) + 1);
    xmlFree(t);
    xmlFreeDoc(doc);
    return rc;
}

int hd_poolxml_supported(const char *caps, const char *type)
{
    size_t len = caps ? strlen(caps) : 0;
    xmlDoc *doc = len ? xmlReadMemory(caps, (int)len, "caps.xml", NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)
                      : NULL;
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    int rc = root && !xmlStrcmp(root->name, X("storagepoolCapabilities")) ? 0 : -1;
    for (xmlNode *n = rc == 0 ? root->children : NULL; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE || xmlStrcmp(n->name, X("pool")))
            continue;
        xmlChar *t = xmlGetProp(n, X("type")), *yes = xmlGetProp(n, X("supported"));
        if (t && !xmlStrcmp(t, X(type)))
            rc = yes && !xmlStrcmp(yes, X("yes"));
        xmlFree(t);
        xmlFree(yes);
    }
    xmlFreeDoc(doc);
    return rc;
}

char *hd_poolxml_raw_volume(const char *name, long long bytes, vg_err *err)
{
    char size[32];
    snprintf(size, sizeof(size), "%lld", bytes);
    xmlDoc *doc = xmlNewDoc(X("1.0"));
    xmlNode *v = xmlNewNode(NULL, X("volume"));
    xmlDocSetRootElement(doc, v);
    xmlNewTextChild(v, NULL, X("name"), X(name));
    xmlNode *cap = xmlNewTextChild(v, NULL, X("capacity"), X(size));
    xmlNewProp(cap, X("unit"), X("bytes"));
    with_attr(xmlNewChild(v, NULL, X("target"), NULL), "format", "type", "raw");
    return dump(doc, err);
}
