#include "link/request.h"

#include "libvirt/vms.h"
#include "vg_query.h"
#include "vg_util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

int hd_link_console_req_parse(const char *query, size_t len, link_console_req *out, vg_err *err)
{
    static const struct {
        const char *key;
        size_t off, size;
    } fields[] = {
        {"vm", offsetof(link_console_req, vm), sizeof(out->vm)},
        {"dev", offsetof(link_console_req, dev), sizeof(out->dev)},
        {"user", offsetof(link_console_req, user), sizeof(out->user)},
        {"offset", offsetof(link_console_req, offset), sizeof(out->offset)},
    };
    char mode[4] = "rw", take[2] = "0", rec_input[2] = "0";
    memset(out, 0, sizeof(*out));
    const char *p = query, *end = query + len;
    vg_query_arg a;
    while (vg_query_next(&p, end, &a)) {
        char *dst = NULL;
        size_t size = 0;
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
            if (vg_query_is(&a, fields[i].key)) {
                dst = (char *)out + fields[i].off;
                size = fields[i].size;
            }
        if (vg_query_is(&a, "mode")) {
            dst = mode;
            size = sizeof(mode);
        } else if (vg_query_is(&a, "take")) {
            dst = take;
            size = sizeof(take);
        } else if (vg_query_is(&a, "rec_input")) {
            dst = rec_input;
            size = sizeof(rec_input);
        }
        if (dst && vg_query_copy(&a, dst, size) != VG_OK)
            return vg_fail(err, VG_E_BAD_REQUEST, "%.*s is too long", (int)a.klen, a.key);
    }
    if (!vg_valid_name(out->vm))
        return vg_fail(err, VG_E_BAD_REQUEST, "vm is missing or not a valid name");
    if (!out->dev[0])
        snprintf(out->dev, sizeof(out->dev), "serial0");
    else if (!vg_valid_name(out->dev))
        return vg_fail(err, VG_E_BAD_REQUEST, "dev is not a valid console name");
    if (strcmp(mode, "rw") != 0 && strcmp(mode, "ro") != 0 && mode[0])
        return vg_fail(err, VG_E_BAD_REQUEST, "mode must be rw or ro");
    if (strcmp(take, "0") != 0 && strcmp(take, "1") != 0)
        return vg_fail(err, VG_E_BAD_REQUEST, "take must be 0 or 1");
    if (strcmp(rec_input, "0") != 0 && strcmp(rec_input, "1") != 0)
        return vg_fail(err, VG_E_BAD_REQUEST, "rec_input must be 0 or 1");
    out->rec_input = rec_input[0] == '1';
    out->rw = strcmp(mode, "ro") != 0;
    out->take = take[0] == '1';
    return VG_OK;
}

console *hd_link_console_find(const char *query, size_t len, link_console_req *req, int *close_code,
                              vg_err *err)
{
    *close_code = 1008;
    if (hd_link_console_req_parse(query, len, req, err) != VG_OK)
        return NULL;
    console *c = hd_vms_console(req->vm, req->dev);
    if (!c) {
        *close_code = 4004;
        vg_fail(err, VG_E_NOT_FOUND, "no console %.64s/%.40s on this host", req->vm, req->dev);
    }
    return c;
}

size_t hd_link_error_json(const vg_err *err, unsigned char *buf, size_t cap)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "error");
    cJSON_AddStringToObject(o, "code", vg_err_code_name(err->code));
    cJSON_AddStringToObject(o, "message", err->msg);
    int ok = o && cJSON_PrintPreallocated(o, (char *)buf, (int)cap, 0);
    cJSON_Delete(o);
    return ok ? strlen((char *)buf) : 0;
}
