/* The Content-Length check of the HTTP API and of volume uploads: pure, so it is unit-tested and
 * fuzzed. */
#ifndef GW_NET_CONTENT_LENGTH_H
#define GW_NET_CONTENT_LENGTH_H

#include "vg.h"

#include <stddef.h>

/* The body length of a Content-Length header value (len bytes, as lws joined it: two headers
 * become "5,5"): one run of decimal digits with optional blanks around it, else bad_request;
 * over max, too_big with the length in *out (SIZE_MAX when it does not fit). */
int gw_http_content_length(const char *value, size_t len, size_t max, size_t *out, vg_err *err);

#endif
