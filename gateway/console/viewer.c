/* A viewer's lifetime and what any step of the relay may tell its browser (console_int.h). */
#include "console/console_int.h"
#include "net/clientaddr.h"

#include "core/audit.h"
#include "vg_frame.h"
#include "vg_log.h"

#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gw_viewer *gw_viewer_new(gw *g, struct lws *wsi)
{
    gw_viewer *v = calloc(1, sizeof(*v));
    if (!v)
        return NULL;
    v->g = g;
    v->browser = wsi;
    v->rx_browser.limit = VG_FRAME_MAX_CLIENT;
    v->viewer_id = -1;
    /* Unique among this gateway's viewers of a console, whatever channel they end up in. */
    static uint32_t tags;
    v->tag = ++tags;
    gw_client_addr(wsi, v->addr, sizeof(v->addr));
    v->next = g->viewers;
    if (v->next)
        v->next->prev = v;
    g->viewers = v;
    gw_keepalive_start(&v->ka);
    return v;
}

void gw_viewer_maybe_free(gw_viewer *v)
{
    if (v->browser || v->redis_pending || v->chan)
        return;
    if (v->prev)
        v->prev->next = v->next;
    else
        v->g->viewers = v->next;
    if (v->next)
        v->next->prev = v->prev;
    gw_wsq_clear(&v->down);
    gw_wsq_clear(&v->up);
    gw_wsbuf_free(&v->rx_browser);
    free(v);
}

void gw_viewer_send_text(gw_viewer *v, const unsigned char *text, size_t len, uint64_t at)
{
    if (!v->browser || v->close_code)
        return;
    /* Control messages are small and rare; a viewer buried in them is closed. */
    if (v->down.bytes > 2 * (size_t)v->g->cfg.viewer_queue) {
        gw_wsq_clear(&v->down);
        gw_viewer_fail_browser(v, VG_E_UNAVAILABLE, "viewer too slow", 4408);
        return;
    }
    gw_wsq_push_at(&v->down, text, len, 0, at);
    lws_callback_on_writable(v->browser);
}

void gw_viewer_send_control(gw_viewer *v, cJSON *msg, uint64_t at)
{
    char *text = msg ? cJSON_PrintUnformatted(msg) : NULL;
    cJSON_Delete(msg);
    if (text)
        gw_viewer_send_text(v, (unsigned char *)text, strlen(text), at);
    free(text);
}

void gw_viewer_send_error(gw_viewer *v, vg_err_code code, const char *message)
{
    cJSON *m = cJSON_CreateObject();
    if (m) {
        cJSON_AddStringToObject(m, "type", "error");
        cJSON_AddStringToObject(m, "code", vg_err_code_name(code));
        cJSON_AddStringToObject(m, "message", message);
    }
    gw_viewer_send_control(v, m, 0);
}

/* Console attach, detach and take-over go to the audit trail (M13). */
void gw_viewer_audit(gw_viewer *v, const char *method)
{
    char detail[160];
    snprintf(detail, sizeof(detail), "dev=%s mode=%s", v->t.dev, v->t.mode);
    gw_audit_entry e = {.kind = "console",
                        .user = v->t.user,
                        .addr = v->addr,
                        .method = method,
                        .vm = v->t.vm,
                        .project = v->t.project,
                        .result = "ok",
                        .detail = detail};
    gw_audit(v->g, &e);
}

void gw_viewer_close_browser(gw_viewer *v, int code, const char *reason)
{
    if (!v->browser || v->close_code)
        return;
    v->close_code = code;
    snprintf(v->close_reason, sizeof(v->close_reason), "%s", reason);
    if (v->browser_paused) {
        lws_rx_flow_control(v->browser, 1);
        v->browser_paused = 0;
    }
    lws_callback_on_writable(v->browser);
}

void gw_viewer_fail_browser(gw_viewer *v, vg_err_code code, const char *message, int close_code)
{
    gw_viewer_send_error(v, code, message);
    gw_viewer_close_browser(v, close_code, vg_err_code_name(code));
}

/* The console's ticket is worth nothing any more: its session ended or its user lost access.
 * Both ways of learning it, a vg:sessions message while the console is open and one that came
 * in while its ticket was being redeemed, close it here. */
void gw_viewer_access_ended(gw_viewer *v, gw_revoked_kind kind)
{
    int session = kind == GW_REVOKED_SESSION;
    vg_info("console", "closing %s/%s of user %s: %s", v->t.vm, v->t.dev, v->t.user,
            session ? "the session ended" : "access ended");
    gw_viewer_fail_browser(v, VG_E_UNAUTHORIZED,
                           session ? "the session that opened this console ended"
                                   : "your access to this console ended",
                           4001);
}

/* hostd's own refusals (ticket, forbidden, unknown VM, laggard) reach the client as they are;
 * any other end of the link means "host unreachable, resume later". */
void gw_viewer_close_like_link(gw_viewer *v, int code, const char *why)
{
    if (code != 4001 && code != 4003 && code != 4004 && code != 4408)
        code = 4503;
    if (code == 4503)
        gw_viewer_send_error(v, VG_E_UNAVAILABLE, why);
    gw_viewer_close_browser(v, code, code == 4503 ? "unavailable" : "closed by host");
}
