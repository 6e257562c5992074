#include "vg_poolspec.h"
#include "vg_util.h"

#include <stdio.h>
#include <string.h>

static const char *const type_names[] = {"dir",   "fs",           "netfs", "logical",
                                         "iscsi", "iscsi-direct", "disk"};
#define NTYPES (sizeof(type_names) / sizeof(type_names[0]))

const char *vg_pool_type_name(vg_pool_type t)
{
    return (size_t)t < NTYPES ? type_names[t] : NULL;
}

/* Absolute, printable, without empty, "." or ".." components: what reaches libvirt is the path
 * the caller meant, and a root check on it cannot be escaped. */
static int path_ok(const char *p)
{
    size_t n = strlen(p);
    if (n < 2 || n >= VG_POOL_PATH_MAX || p[0] != '/' || p[n - 1] == '/')
        return 0;
    for (const char *c = p; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '\\')
            return 0;
    for (const char *seg = p + 1;;) {
        const char *end = strchr(seg, '/');
        size_t len = end ? (size_t)(end - seg) : strlen(seg);
        if (len == 0 || (len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
            return 0;
        if (!end)
            return 1;
        seg = end + 1;
    }
}

static int charset_ok(const char *s, size_t max, const char *extra)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr(extra, *s)))
            return 0;
    return 1;
}

static int one_of(const char *v, const char *choices)
{
    size_t n = strlen(v);
    for (const char *p = choices; n && *p;) {
        const char *e = strchr(p, '|');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, v, n))
            return 1;
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}

/* The string at o.key into dst; absent leaves dst as it is (returns VG_OK). */
static int str(const cJSON *o, const char *key, const char *path, char *dst, size_t cap,
               vg_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        return VG_OK;
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap)
        return vg_fail(err, VG_E_BAD_REQUEST, "%s.%s must be a string of at most %zu characters",
                       path, key, cap - 1);
    memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
    return VG_OK;
}

static int known_keys(const cJSON *o, const char *path, const char *keys, vg_err *err)
{
    for (const cJSON *c = o ? o->child : NULL; c; c = c->next)
        if (!one_of(c->string, keys))
            return vg_fail(err, VG_E_BAD_REQUEST, "%s.%.40s is not a field (%s)", path, c->string,
                           keys);
    return VG_OK;
}

/* What each type needs: the fields its source takes, and which of them are required. */
typedef struct type_rule {
    const char *source_keys;
    int needs_target, needs_device, needs_host, needs_iqn;
    const char *formats; /* NULL: no format */
    const char *def_format;
    const char *def_target;
} type_rule;

static const type_rule rules[] = {
    [VG_POOL_DIR] = {"", 1, 0, 0, 0, NULL, "", ""},
    [VG_POOL_FS] = {"device|format", 1, 1, 0, 0, "auto|ext2|ext3|ext4|xfs|btrfs|vfat", "auto", ""},
    [VG_POOL_NETFS] = {"host|dir|format", 1, 0, 1, 0, "auto|nfs|glusterfs|cifs", "nfs", ""},
    [VG_POOL_LOGICAL] = {"name|devices", 0, 0, 0, 0, NULL, "", ""},
    [VG_POOL_ISCSI] = {"host|port|iqn|auth", 0, 0, 1, 1, NULL, "", "/dev/disk/by-path"},
    [VG_POOL_ISCSI_DIRECT] = {"host|port|iqn|initiator|auth", 0, 0, 1, 1, NULL, "", ""},
    [VG_POOL_DISK] = {"device|format", 0, 1, 0, 0, "dos|gpt", "gpt", "/dev"},
};

static int device_ok(const char *d)
{
    return path_ok(d) && !strncmp(d, "/dev/", 5);
}

static int parse_auth(const cJSON *auth, vg_poolspec *out, vg_err *err)
{
    if (!cJSON_IsObject(auth))
        return vg_fail(err, VG_E_BAD_REQUEST, "spec.source.auth must be {username, secret}");
    if (known_keys(auth, "spec.source.auth", "username|secret", err) != VG_OK ||
        str(auth, "username", "spec.source.auth", out->auth_user, sizeof(out->auth_user), err) ||
        str(auth, "secret", "spec.source.auth", out->auth_secret, sizeof(out->auth_secret), err))
        return VG_ERR;
    if (!charset_ok(out->auth_user, 64, "._-@"))
        return vg_fail(err, VG_E_BAD_REQUEST, "spec.source.auth.username must be a CHAP user name");
    if (!vg_valid_name(out->auth_secret))
        return vg_fail(err, VG_E_BAD_REQUEST, "spec.source.auth.secret must name a secret");
    return VG_OK;
}

static int parse_source(const cJSON *src, const type_rule *r, vg_poolspec *out, vg_err *err)
{
    const char *P = "spec.source";
    if (src && !cJSON_IsObject(src))
        return vg_fail(err, VG_E_BAD_REQUEST, "spec.source must be an object");
    if (known_keys(src, P, r->source_keys, err) != VG_OK ||
        str(src, "device", P, out->devices[0], sizeof(out->devices[0]), err) ||
        str(src, "format", P, out->format, sizeof(out->format), err) ||
        str(src, "host", P, out->host, sizeof(out->host), err) ||
        str(src, "dir", P, out->dir, sizeof(out->dir), err) ||
        str(src, "name", P, out->vgname, sizeof(out->vgname), err) ||
        str(src, "iqn", P, out->iqn, sizeof(out->iqn), err) ||
        str(src, "initiator", P, out->initiator, sizeof(out->initiator), err))
        return VG_ERR;
    out->ndevices = out->devices[0][0] ? 1 : 0;
    const cJSON *devs = cJSON_GetObjectItemCaseSensitive(src, "devices");
    if (devs) {
        if (!cJSON_IsArray(devs) || cJSON_GetArraySize(devs) > VG_POOL_DEVICES_MAX)
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "spec.source.devices must be an array of at most %d devices",
                           VG_POOL_DEVICES_MAX);
        const cJSON *d;
        cJSON_ArrayForEach(d, devs)
        {
            if (!cJSON_IsString(d) || strlen(d->valuestring) >= VG_POOL_PATH_MAX)
                return vg_fail(err, VG_E_BAD_REQUEST, "spec.source.devices[%zu] must be a path",
                               out->ndevices);
            memcpy(out->devices[out->ndevices++], d->valuestring, strlen(d->valuestring) + 1);
        }
    }
    for (size_t i = 0; i < out->ndevices; i++)
        if (!device_ok(out->devices[i]))
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "spec.source.device%s must be an absolute path below /dev/",
                           devs ? "s" : "");
    if (r->needs_device && !out->ndevices)
        return vg_fail(err, VG_E_BAD_REQUEST, "a %s pool needs spec.source.device",
                       vg_pool_type_name(out->type));
    const cJSON *port = cJSON_GetObjectItemCaseSensitive(src, "port");
    if (port) {
        /* The range first: casting a double outside int's range is undefined. */
        if (!cJSON_IsNumber(port) || !(port->valuedouble >= 1 && port->valuedouble <= 65535) ||
            port->valuedouble != (int)port->valuedouble)
            return vg_fail(err, VG_E_BAD_REQUEST, "spec.source.port must be 1 to 65535");
        out->port = port->valueint;
    }
    if (r->needs_host && !charset_ok(out->host, 253, ".-:"))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "a %s pool needs spec.source.host, a host name or address",
                       vg_pool_type_name(out->type));
    if (out->type == VG_POOL_NETFS && !path_ok(out->dir))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "a netfs pool needs spec.source.dir, the exported absolute path");
    if (r->needs_iqn && (!charset_ok(out->iqn, VG_POOL_IQN_MAX - 1, ".:-") ||
                         (strncmp(out->iqn, "iqn.", 4) && strncmp(out->iqn, "eui.", 4))))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "an %s pool needs spec.source.iqn, the target's iqn. or eui. name",
                       vg_pool_type_name(out->type));
    if (out->type == VG_POOL_ISCSI_DIRECT &&
        (!charset_ok(out->initiator, VG_POOL_IQN_MAX - 1, ".:-") ||
         strncmp(out->initiator, "iqn.", 4)))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "an iscsi-direct pool needs spec.source.initiator, this host's iqn. name");
    if (out->type == VG_POOL_LOGICAL && !vg_valid_name(out->vgname))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "a logical pool needs spec.source.name, the volume group's name");
    if (r->formats) {
        if (!out->format[0])
            snprintf(out->format, sizeof(out->format), "%s", r->def_format);
        if (!one_of(out->format, r->formats))
            return vg_fail(err, VG_E_BAD_REQUEST, "spec.source.format must be one of %s",
                           r->formats);
    }
    const cJSON *auth = cJSON_GetObjectItemCaseSensitive(src, "auth");
    return auth ? parse_auth(auth, out, err) : VG_OK;
}

int vg_poolspec_parse(const char *name, const cJSON *spec, vg_poolspec *out, vg_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!name || !vg_valid_name(name))
        return vg_fail(err, VG_E_BAD_REQUEST, "the pool name must be a name ([A-Za-z0-9._-])");
    snprintf(out->name, sizeof(out->name), "%s", name);
    if (!cJSON_IsObject(spec))
        return vg_fail(err, VG_E_BAD_REQUEST, "spec must be an object {type, target, source}");
    if (known_keys(spec, "spec", "type|target|source", err) != VG_OK)
        return VG_ERR;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(spec, "type");
    size_t t = 0;
    while (cJSON_IsString(type) && t < NTYPES && strcmp(type_names[t], type->valuestring))
        t++;
    if (!cJSON_IsString(type) || t == NTYPES)
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "spec.type must be one of dir|fs|netfs|logical|iscsi|iscsi-direct|disk");
    out->type = (vg_pool_type)t;
    const type_rule *r = &rules[t];
    if (str(spec, "target", "spec", out->target, sizeof(out->target), err) != VG_OK)
        return VG_ERR;
    if (out->target[0]) {
        if (!r->needs_target)
            return vg_fail(err, VG_E_BAD_REQUEST, "a %s pool takes no spec.target", type_names[t]);
        if (!path_ok(out->target))
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "spec.target must be an absolute path without . or .. parts");
    } else if (r->needs_target)
        return vg_fail(err, VG_E_BAD_REQUEST, "a %s pool needs spec.target, an absolute path",
                       type_names[t]);
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(spec, "source");
    if (!src && (r->source_keys[0] && out->type != VG_POOL_LOGICAL))
        return vg_fail(err, VG_E_BAD_REQUEST, "a %s pool needs spec.source", type_names[t]);
    if (!r->source_keys[0] && src)
        return vg_fail(err, VG_E_BAD_REQUEST, "a %s pool takes no spec.source", type_names[t]);
    if (parse_source(src, r, out, err) != VG_OK)
        return VG_ERR;
    if (out->type == VG_POOL_LOGICAL)
        snprintf(out->target, sizeof(out->target), "/dev/%s", out->vgname);
    else if (!out->target[0])
        snprintf(out->target, sizeof(out->target), "%s", r->def_target);
    return VG_OK;
}

int vg_poolspec_local_target(const vg_poolspec *s)
{
    return s->type == VG_POOL_DIR || s->type == VG_POOL_FS || s->type == VG_POOL_NETFS;
}

int vg_poolspec_under_roots(const char *path, const char *roots)
{
    size_t pl = strlen(path);
    for (const char *p = roots ? roots : ""; *p;) {
        while (*p == ',' || *p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ')
            e++;
        size_t n = (size_t)(e - p);
        while (n > 1 && p[n - 1] == '/')
            n--;
        if (n && p[0] == '/' && pl > n + 1 && !strncmp(path, p, n) &&
            (path[n] == '/' || (n == 1 && p[0] == '/')))
            return 1;
        p = e;
    }
    return 0;
}
