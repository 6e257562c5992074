#include "link/secret.h"

#include "vg_util.h"

#include <libwebsockets.h>
#include <string.h>

#define LINK_SECRET_HDR "x-vmgate-link:"

int hd_link_secret_ok(struct lws *wsi, const char *secret)
{
    char got[256];
    int n = lws_hdr_custom_length(wsi, LINK_SECRET_HDR, (int)strlen(LINK_SECRET_HDR));
    if (n <= 0 || n >= (int)sizeof(got))
        return 0;
    if (lws_hdr_custom_copy(wsi, got, sizeof(got), LINK_SECRET_HDR, (int)strlen(LINK_SECRET_HDR)) <
        0)
        return 0;
    int ok = vg_const_eq(got, secret);
    lws_explicit_bzero(got, sizeof(got));
    return ok;
}
