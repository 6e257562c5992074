#include "vg_link.h"

#include "vg_frame.h"

#include <string.h>

void vg_link_hdr(unsigned char *p, int type, uint32_t channel)
{
    p[0] = (unsigned char)type;
    p[1] = (unsigned char)(channel >> 24);
    p[2] = (unsigned char)(channel >> 16);
    p[3] = (unsigned char)(channel >> 8);
    p[4] = (unsigned char)channel;
}

/* How many fixed bytes follow the header for each type. */
static size_t fixed_len(int type)
{
    switch (type) {
    case VG_LINK_CLOSE:
        return 2;
    case VG_LINK_OUTPUT:
    case VG_LINK_CREDIT:
        return 8;
    case VG_LINK_GAP:
        return 16;
    default:
        return 0;
    }
}

int vg_link_parse(const unsigned char *buf, size_t len, vg_link_frame *out, vg_err *err)
{
    memset(out, 0, sizeof(*out));
    if (len < VG_LINK_HDR)
        return vg_fail(err, VG_E_BAD_REQUEST, "link frame shorter than its 5-byte header");
    if (len > VG_LINK_FRAME_MAX)
        return vg_fail(err, VG_E_TOO_BIG, "link frame larger than %d bytes", VG_LINK_FRAME_MAX);
    out->type = buf[0];
    out->channel = (uint32_t)buf[1] << 24 | (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 8 | buf[4];
    if (out->type < VG_LINK_OPEN || out->type > VG_LINK_RPC)
        return vg_fail(err, VG_E_BAD_REQUEST, "unknown link frame type 0x%02x", out->type);
    if ((out->type == VG_LINK_RPC) != (out->channel == 0))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "RPC frames go on channel 0 and console frames on any other");
    size_t fixed = fixed_len(out->type);
    if (len - VG_LINK_HDR < fixed)
        return vg_fail(err, VG_E_BAD_REQUEST, "link frame 0x%02x is too short", out->type);
    const unsigned char *p = buf + VG_LINK_HDR;
    out->data = p + fixed;
    out->len = len - VG_LINK_HDR - fixed;
    switch (out->type) {
    case VG_LINK_CLOSE:
        out->code = p[0] << 8 | p[1];
        if (out->code < 1000 || out->code > 4999)
            return vg_fail(err, VG_E_BAD_REQUEST, "close code %d is not within 1000-4999",
                           out->code);
        if (out->len > VG_LINK_REASON_MAX)
            return vg_fail(err, VG_E_BAD_REQUEST, "close reason longer than %d bytes",
                           VG_LINK_REASON_MAX);
        break;
    case VG_LINK_OUTPUT:
        out->offset = vg_frame_get_u64(p);
        if (out->len > VG_LINK_OUTPUT_MAX)
            return vg_fail(err, VG_E_TOO_BIG, "OUTPUT frame over %d bytes", VG_LINK_OUTPUT_MAX);
        if (out->offset + out->len < out->offset)
            return vg_fail(err, VG_E_BAD_REQUEST, "OUTPUT frame runs past offset 2^64");
        break;
    case VG_LINK_CREDIT:
        out->offset = vg_frame_get_u64(p);
        if (out->len)
            return vg_fail(err, VG_E_BAD_REQUEST, "CREDIT frame with trailing bytes");
        break;
    case VG_LINK_GAP:
        out->offset = vg_frame_get_u64(p);
        out->to = vg_frame_get_u64(p + 8);
        if (out->to <= out->offset || out->len)
            return vg_fail(err, VG_E_BAD_REQUEST, "GAP frame must be from < to, 17 bytes");
        break;
    case VG_LINK_OPEN:
    case VG_LINK_OPENED:
    case VG_LINK_CONTROL:
    case VG_LINK_RPC:
        if (!out->len)
            return vg_fail(err, VG_E_BAD_REQUEST, "link frame 0x%02x needs a JSON payload",
                           out->type);
        break;
    default:
        break;
    }
    return VG_OK;
}
