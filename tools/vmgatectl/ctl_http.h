/* Volume transfers over the gateway's HTTP API (docs/api.md "volume.upload", "volume.download"):
 * one request streamed between a file descriptor and the gateway, a chunk at a time, on the
 * process's lws context (ctl_net with ctl_http_protocol). The body is never held whole. */
#ifndef CTL_HTTP_H
#define CTL_HTTP_H

#include "ctl_ws.h"
#include "vg.h"

#include <cjson/cJSON.h>

typedef struct ctl_http ctl_http;

/* bytes moved so far of total (the upload's length, the download's Content-Length; -1 while
 * unknown), about every 64 KiB. */
typedef void (*ctl_http_progress)(long long bytes, long long total, void *ud);
/* Once, after the connection is gone: the call's result (NULL for a download), or err with the
 * gateway's code ("<code>: <message>") or the transport's failure. Valid during the call only. */
typedef void (*ctl_http_end)(const cJSON *result, const vg_err *err, long long bytes, void *ud);

typedef struct ctl_http_req {
    const char *path_and_query; /* below the URL's prefix, e.g. /api/v1/volume.upload?pool=… */
    const char *bearer;
    int fd;           /* read for an upload, written for a download */
    long long upload; /* the body's length; 0 for a download (GET) */
    ctl_http_progress progress;
    ctl_http_end end;
    void *ud;
} ctl_http_req;

/* The lws protocol to give ctl_net_new. */
extern const struct lws_protocols ctl_http_protocol;

/* Starts the request; on VG_ERR nothing was started and end will not be called. */
int ctl_http_start(ctl_net *net, const ctl_http_req *req, vg_err *err);

#endif
