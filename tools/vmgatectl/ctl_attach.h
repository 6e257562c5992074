/* One console attachment through the gateway (docs/protocol.md §1-2): mints a ticket with
 * console.ticket, opens /ws/console, decodes frames, and after a drop that the protocol says
 * to resume from (1001, 4408, 4503, or a broken connection) mints a new ticket and reconnects
 * at the offset after the last byte it delivered, so no byte is lost or repeated. */
#ifndef CTL_ATTACH_H
#define CTL_ATTACH_H

#include "ctl_api.h"
#include "ctl_ws.h"

#include <cjson/cJSON.h>
#include <stdint.h>

typedef struct ctl_attach ctl_attach;

typedef struct ctl_attach_ops {
    /* After every (re)attach: the hello message. */
    void (*on_hello)(const cJSON *hello, int reattached, void *ud);
    void (*on_output)(uint64_t offset, const unsigned char *data, size_t len, void *ud);
    void (*on_gap)(uint64_t from, uint64_t to, void *ud);
    /* Every other control message (viewers, writer, state, error, pong). */
    void (*on_control)(const cJSON *msg, const char *type, void *ud);
    /* A one-line notice for the user (lost connection, reconnecting ...). */
    void (*on_notice)(const char *text, void *ud);
    /* The attachment is over for good. err is NULL after a normal close (1000 or
     * ctl_attach_stop). The ctl_attach is freed right after this returns. */
    void (*on_end)(const vg_err *err, void *ud);
} ctl_attach_ops;

typedef struct ctl_attach_cfg {
    const char *vm;
    const char *dev; /* NULL: the gateway's default */
    int ro;
    int take;
    const char *offset; /* first attach: "ring", "end" or a number */
} ctl_attach_cfg;

ctl_attach *ctl_attach_start(struct ev_loop *loop, ctl_net *net, ctl_api *api,
                             const ctl_attach_cfg *cfg, const ctl_attach_ops *ops, void *ud,
                             vg_err *err);
/* Sends bytes for the guest as INPUT frames. */
int ctl_attach_input(ctl_attach *a, const void *data, size_t len, vg_err *err);
/* Closes with 1000; on_end(NULL) follows. */
void ctl_attach_stop(ctl_attach *a);

#endif
