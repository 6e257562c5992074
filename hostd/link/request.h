/* What a gateway asks of a console link and how a refusal is told (docs/protocol.md §3): the
 * arguments of `GET /link/console` and `GET /link/channel` (endpoint.c) and of a link v3 OPEN
 * (mux.c), the console they name, and the `error` message a refused request is answered with
 * before its close. */
#ifndef HD_LINK_REQUEST_H
#define HD_LINK_REQUEST_H

#include "console/console.h"
#include "vg.h"

#include <stddef.h>

/* The arguments of GET /link/console, checked: vm (required), dev (default serial0), user,
 * offset (as hd_console_attach takes it; empty = ring), mode rw/ro, take 0/1. /link/channel
 * and a v3 OPEN take vm, dev and offset of them. */
typedef struct link_console_req {
    char vm[65], dev[65], user[65], offset[24];
    int rw, take;
    int rec_input; /* rec_input=1: the recording of this writer keeps its input */
} link_console_req;

/* query: the URL arguments as lws decodes them, joined by '&'. Unknown arguments are ignored. */
int hd_link_console_req_parse(const char *query, size_t len, link_console_req *out, vg_err *err);
/* Parses query into req and looks its console up. NULL: err says why and *close_code what the
 * request is closed with after its error (1008 a bad request, 4004 no such console). */
console *hd_link_console_find(const char *query, size_t len, link_console_req *req, int *close_code,
                              vg_err *err);
/* {"type":"error","code":..,"message":..} of err into buf (cap bytes with a NUL); returns its
 * length, 0 when it does not fit (the close then goes alone). */
size_t hd_link_error_json(const vg_err *err, unsigned char *buf, size_t cap);

#endif
