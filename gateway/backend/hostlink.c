#include "backend/hostlink.h"

#include "vg_log.h"

#include <libwebsockets.h>
#include <openssl/x509.h>

#include <string.h>

/* lws tells only a vhost's first protocol that a wsi is destroyed (LWS_CALLBACK_WSI_DESTROY), and
 * a client wsi that dies in some states (a TLS handshake that times out, for one) gets no other
 * callback. Passing it on to the wsi's own protocol lets each module forget the wsi for sure. */
static int links_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                          size_t len)
{
    const struct lws_protocols *own = lws_get_protocol(wsi);
    if (reason == LWS_CALLBACK_WSI_DESTROY && own && own->callback != links_callback)
        return own->callback(wsi, reason, user, in, len);
    return 0;
}

const struct lws_protocols gw_links_protocol = {"vmgate-links", links_callback, 0, 0, 0, NULL, 0};

int gw_link_verify_hostd(void *x509_ctx, int preverify_ok)
{
    X509_STORE_CTX *x = x509_ctx;
    /* OpenSSL's own refusal stands (linktls.c keeps it); only the leaf has a role. */
    if (!preverify_ok || X509_STORE_CTX_get_error_depth(x) != 0)
        return 0;
    char ou[32] = "", cn[80] = "";
    X509 *cert = X509_STORE_CTX_get_current_cert(x);
    X509_NAME *name = cert ? X509_get_subject_name(cert) : NULL;
    if (name && X509_NAME_get_text_by_NID(name, NID_organizationalUnitName, ou, sizeof(ou)) >= 0 &&
        strcmp(ou, "hostd") == 0)
        return 0;
    if (name)
        X509_NAME_get_text_by_NID(name, NID_commonName, cn, sizeof(cn));
    vg_warn("link", "refused hostd '%s': its certificate is not of role hostd (OU=%s)", cn,
            ou[0] ? ou : "none");
    X509_STORE_CTX_set_error(x, X509_V_ERR_APPLICATION_VERIFICATION);
    return 1;
}
