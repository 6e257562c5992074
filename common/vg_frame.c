#include "vg_frame.h"

#include "vg_json.h"

#include <string.h>

void vg_frame_put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

uint64_t vg_frame_get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

void vg_frame_put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

uint32_t vg_frame_get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void vg_frame_output_hdr(unsigned char *p, uint64_t offset)
{
    p[0] = VG_OP_OUTPUT;
    vg_frame_put_u64(p + 1, offset);
}

void vg_frame_gap(unsigned char *p, uint64_t from, uint64_t to)
{
    p[0] = VG_OP_GAP;
    vg_frame_put_u64(p + 1, from);
    vg_frame_put_u64(p + 9, to);
}

static int parse_control(const unsigned char *buf, size_t len, vg_msg *out, vg_err *err)
{
    cJSON *root = vg_json_parse((const char *)buf, len, err);
    if (!root)
        return VG_ERR;
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return vg_fail(err, VG_E_BAD_REQUEST, "control message is not a JSON object");
    }
    int rc = VG_OK;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    if (!cJSON_IsString(type)) {
        rc = vg_fail(err, VG_E_BAD_REQUEST, "control message needs a string \"type\"");
    } else if (strcmp(type->valuestring, "take") == 0) {
        out->kind = VG_MSG_TAKE;
    } else if (strcmp(type->valuestring, "release") == 0) {
        out->kind = VG_MSG_RELEASE;
    } else if (strcmp(type->valuestring, "ping") == 0) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
        /* Range-checked before the cast: converting an out-of-range double is undefined. */
        if (id &&
            (!cJSON_IsNumber(id) ||
             !(id->valuedouble >= -9007199254740992.0 && id->valuedouble <= 9007199254740992.0) ||
             (double)(int64_t)id->valuedouble != id->valuedouble)) {
            rc = vg_fail(err, VG_E_BAD_REQUEST, "ping \"id\" must be a whole number");
        } else {
            out->kind = VG_MSG_PING;
            out->id = id ? (int64_t)id->valuedouble : 0;
        }
    } else {
        rc =
            vg_fail(err, VG_E_UNKNOWN, "unknown control message type \"%.64s\"", type->valuestring);
    }
    cJSON_Delete(root);
    return rc;
}

int vg_frame_parse_client(int binary, const unsigned char *buf, size_t len, vg_msg *out,
                          vg_err *err)
{
    memset(out, 0, sizeof(*out));
    if (len > VG_FRAME_MAX_CLIENT)
        return vg_fail(err, VG_E_TOO_BIG, "message of %zu bytes exceeds the %d byte limit", len,
                       VG_FRAME_MAX_CLIENT);
    if (!binary)
        return parse_control(buf, len, out, err);
    if (len == 0)
        return vg_fail(err, VG_E_BAD_REQUEST, "empty binary frame has no opcode");
    if (buf[0] != VG_OP_INPUT)
        return vg_fail(err, VG_E_UNKNOWN, "unknown binary opcode 0x%02x", buf[0]);
    out->kind = VG_MSG_INPUT;
    out->data = buf + 1;
    out->len = len - 1;
    return VG_OK;
}

int vg_frame_parse_server(int binary, const unsigned char *buf, size_t len, vg_msg *out,
                          vg_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!binary) {
        out->kind = VG_MSG_CONTROL;
        out->data = buf;
        out->len = len;
        return VG_OK;
    }
    if (len == 0)
        return vg_fail(err, VG_E_BAD_REQUEST, "empty binary frame has no opcode");
    switch (buf[0]) {
    case VG_OP_OUTPUT:
        if (len < VG_FRAME_OUTPUT_HDR)
            return vg_fail(err, VG_E_BAD_REQUEST, "output frame shorter than its header");
        out->kind = VG_MSG_OUTPUT;
        out->offset = vg_frame_get_u64(buf + 1);
        out->data = buf + VG_FRAME_OUTPUT_HDR;
        out->len = len - VG_FRAME_OUTPUT_HDR;
        return VG_OK;
    case VG_OP_GAP:
        if (len != VG_FRAME_GAP_LEN)
            return vg_fail(err, VG_E_BAD_REQUEST, "gap frame must be %d bytes", VG_FRAME_GAP_LEN);
        out->kind = VG_MSG_GAP;
        out->offset = vg_frame_get_u64(buf + 1);
        out->to = vg_frame_get_u64(buf + 9);
        if (out->to < out->offset)
            return vg_fail(err, VG_E_BAD_REQUEST, "gap frame ends before it starts");
        return VG_OK;
    default:
        return vg_fail(err, VG_E_UNKNOWN, "unknown binary opcode 0x%02x", buf[0]);
    }
}
