/* Volume uploads and downloads on the link (`GET /link/volume`, subprotocol
 * vmgate.link.volume.v1, docs/protocol.md §4.1): one volume per connection, streamed between the
 * WebSocket and libvirt's virStorageVolUpload/Download stream without holding more than one
 * message in memory. Flow control both ways: hostd stops reading the gateway while libvirt
 * cannot take more, and reads libvirt only when the gateway can take more. Each stream has a
 * libvirt connection of its own, whose socket is not read while the gateway is behind: libvirt's
 * client would otherwise queue the whole volume (libvirt/virt_ev.h). */
#ifndef HD_STREAM_H
#define HD_STREAM_H

#include <libwebsockets.h>

#define HD_STREAM_SUBPROTOCOL "vmgate.link.volume.v1"
#define HD_STREAM_CHUNK (256 * 1024)

int hd_stream_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len);

/* The entry of the link's protocol list. */
#define HD_STREAM_PROTOCOL                                                                         \
    {                                                                                              \
        HD_STREAM_SUBPROTOCOL, hd_stream_callback, 0, 65536, 0, NULL, 0                            \
    }

#endif
