#include "vg_mux.h"

#include "vg_frame.h"

void vg_mux_put_hdr(unsigned char *p, int op, uint32_t chan)
{
    p[0] = (unsigned char)op;
    vg_frame_put_u32(p + 1, chan);
}

size_t vg_mux_put_close(unsigned char *p, uint32_t chan, int code)
{
    vg_mux_put_hdr(p, VG_MUX_CLOSE, chan);
    p[5] = (unsigned char)(code >> 8);
    p[6] = (unsigned char)code;
    return 7;
}

size_t vg_mux_put_credit(unsigned char *p, uint32_t chan, uint32_t bytes)
{
    vg_mux_put_hdr(p, VG_MUX_CREDIT, chan);
    vg_frame_put_u32(p + 5, bytes);
    return 9;
}

int vg_mux_parse(const unsigned char *in, size_t len, int from_gateway, vg_mux_msg *out,
                 vg_err *err)
{
    if (len < VG_MUX_HDR)
        return vg_fail(err, VG_E_BAD_REQUEST, "a link message of %zu bytes has no channel header",
                       len);
    out->op = in[0];
    out->chan = vg_frame_get_u32(in + 1);
    out->data = in + VG_MUX_HDR;
    out->len = len - VG_MUX_HDR;
    out->code = 0;
    out->credit = 0;
    if (!out->chan)
        return vg_fail(err, VG_E_BAD_REQUEST, "a link message for channel 0");
    switch (out->op) {
    case VG_MUX_OPEN:
        if (!from_gateway)
            return vg_fail(err, VG_E_BAD_REQUEST, "an open from hostd");
        if (!out->len || out->len > VG_MUX_QUERY_MAX)
            return vg_fail(err, VG_E_BAD_REQUEST, "an open whose query is empty or over %d bytes",
                           VG_MUX_QUERY_MAX);
        return VG_OK;
    case VG_MUX_TEXT:
    case VG_MUX_BINARY:
        if (!out->len)
            return vg_fail(err, VG_E_BAD_REQUEST, "an empty channel message");
        return VG_OK;
    case VG_MUX_CLOSE:
        if (out->len != 2)
            return vg_fail(err, VG_E_BAD_REQUEST, "a close of %zu bytes, not 7", len);
        out->code = in[5] << 8 | in[6];
        if (out->code < 1000 || out->code > 4999)
            return vg_fail(err, VG_E_BAD_REQUEST, "a close with code %d", out->code);
        return VG_OK;
    case VG_MUX_CREDIT:
        if (!from_gateway)
            return vg_fail(err, VG_E_BAD_REQUEST, "a credit from hostd");
        if (out->len != 4)
            return vg_fail(err, VG_E_BAD_REQUEST, "a credit of %zu bytes, not 9", len);
        out->credit = vg_frame_get_u32(in + 5);
        if (!out->credit || out->credit > VG_MUX_CREDIT_MAX)
            return vg_fail(err, VG_E_BAD_REQUEST, "a credit of %u bytes", out->credit);
        return VG_OK;
    default:
        return vg_fail(err, VG_E_BAD_REQUEST, "unknown link opcode 0x%02x", out->op);
    }
}
