#include "net/keepalive.h"

#include "vg_util.h"

#include <libwebsockets.h>

void gw_keepalive_start(gw_keepalive *k)
{
    k->last_rx_ms = vg_mono_ms();
    k->ping_due = 0;
}

void gw_keepalive_seen(gw_keepalive *k)
{
    k->last_rx_ms = vg_mono_ms();
}

int gw_keepalive_check(gw_keepalive *k, struct lws *wsi, const gw_config *cfg, int64_t now_ms)
{
    int64_t silent = now_ms - k->last_rx_ms;
    if (silent >= cfg->idle_timeout * 1000)
        return 1;
    if (silent >= cfg->ping_interval * 1000 && !k->ping_due) {
        k->ping_due = 1;
        lws_callback_on_writable(wsi);
    }
    return 0;
}

int gw_keepalive_write(gw_keepalive *k, struct lws *wsi)
{
    if (!k->ping_due)
        return 0;
    k->ping_due = 0;
    /* lws 4.1 reports a pong to the protocol only when it carries payload. */
    unsigned char buf[LWS_PRE + 2] = {[LWS_PRE] = 'v', [LWS_PRE + 1] = 'g'};
    return lws_write(wsi, buf + LWS_PRE, 2, LWS_WRITE_PING) < 0 ? -1 : 1;
}

void gw_keepalive_drop(struct lws *wsi)
{
    lws_set_timeout(wsi, PENDING_TIMEOUT_WS_PONG_CHECK_GET_PONG, LWS_TO_KILL_SYNC);
}
