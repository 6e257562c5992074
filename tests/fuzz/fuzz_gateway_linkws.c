/* hostd's side of a link as the gateway parses it (gw_linkws_parse): the first byte picks
 * whether a valid answer to the upgrade comes first or the link is open already, whether binary
 * messages come whole or in pieces (the volume streams), and how the rest is cut into reads.
 * Every message or piece handed on lies inside the read it came in or in the link's own buffer;
 * whole messages within the limit. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/linkws.h"

#define LIMIT 65536

static void on_message(void *user, int binary, unsigned char *data, size_t len)
{
    (void)user;
    (void)binary;
    if (len > LIMIT)
        abort();
    volatile unsigned char sink = 0;
    for (size_t i = 0; i < len; i++)
        sink ^= data[i]; /* every byte is readable */
    (void)sink;
}

static void on_piece(void *user, unsigned char *data, size_t len, int fin)
{
    (void)fin;
    on_message(user, 1, data, len);
}

static const gw_linkws_ops ops = {.message = on_message};
static const gw_linkws_ops piece_ops = {.message = on_message, .piece = on_piece};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    gw_linkws l;
    vg_err err = {0};
    gw_linkws_init(&l, LIMIT);
    l.state = GW_LINKWS_HANDSHAKE;
    if (data[0] & 1) {
        if (gw_linkws_prepare(&l, "h:1", "/p", "sub", "", &err) != VG_OK)
            abort();
        char head[300];
        int n = snprintf(head, sizeof(head),
                         "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: %s\r\n"
                         "Sec-WebSocket-Protocol: sub\r\n\r\n",
                         l.accept);
        if (gw_linkws_parse(&l, (unsigned char *)head, (size_t)n, &ops, NULL, &err) != VG_OK ||
            l.state != GW_LINKWS_OPEN)
            abort();
    }
    const gw_linkws_ops *o = data[0] & 2 ? &piece_ops : &ops;
    size_t step = (size_t)(data[0] >> 2) + 1, off = 1;
    int rc = VG_OK;
    while (off < size && rc == VG_OK) {
        size_t n = size - off < step ? size - off : step;
        unsigned char *buf = malloc(n); /* a private copy: ASan sees reads past the end */
        if (!buf)
            break;
        memcpy(buf, data + off, n);
        rc = gw_linkws_parse(&l, buf, n, o, NULL, &err);
        free(buf);
        off += n;
    }
    if (rc != VG_OK && (err.code == VG_E_NONE || !err.msg[0]))
        abort(); /* every refusal says why */
    gw_linkws_free(&l);
    return 0;
}
