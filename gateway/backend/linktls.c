#include "backend/linktls.h"

#include "backend/hostlink.h"

#include <libwebsockets.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/* Plaintext is read and ciphertext written in pieces of this size; one buffer of each serves
 * every link (one loop, and a piece is consumed before the next is read). */
#define PIECE 65536

static unsigned char plain[PIECE];
static unsigned char cipher[LWS_PRE + PIECE];

gw_linktls_stats gw_linktls_handshakes;

/* The last TLS session with each hostd (host:port), to resume: a link to a hostd this gateway
 * has talked to skips the certificates, their signatures and the chain check, most of a
 * handshake, which every console's first viewer on a gateway waited for. A session is only
 * offered to the address that issued it; hostd refuses one it cannot decrypt (after a restart)
 * and the handshake is a full one. Past SESSIONS hostds, the entries are taken over in turn. */
#define SESSIONS 256
static struct {
    char peer[300];
    SSL_SESSION *session;
} sessions[SESSIONS];
static size_t sessions_next; /* the entry replaced when every one is taken */

static size_t session_slot(const char *peer, int make)
{
    for (size_t i = 0; i < SESSIONS; i++)
        if (sessions[i].session && !strcmp(sessions[i].peer, peer))
            return i;
    if (!make)
        return SESSIONS;
    for (size_t i = 0; i < SESSIONS; i++)
        if (!sessions[i].session)
            return i;
    size_t i = sessions_next;
    sessions_next = (sessions_next + 1) % SESSIONS;
    return i;
}

/* OpenSSL's new-session callback (TLS 1.3: each ticket hostd sends after the handshake). A copy
 * is kept: the session itself is the connection's, and OpenSSL marks it not resumable when the
 * connection is freed without a TLS close_notify, which a link never sends (it ends with the
 * WebSocket close handshake). The ticket came after the handshake, from the authenticated
 * hostd, so its end does not make the session doubtful. */
static int keep_session(SSL *ssl, SSL_SESSION *session)
{
    const gw_linktls *t = SSL_get_app_data(ssl);
    if (!t || !t->peer[0] || !SSL_SESSION_is_resumable(session))
        return 0;
    SSL_SESSION *copy = SSL_SESSION_dup(session);
    if (!copy)
        return 0;
    size_t i = session_slot(t->peer, 1);
    SSL_SESSION_free(sessions[i].session);
    snprintf(sessions[i].peer, sizeof(sessions[i].peer), "%s", t->peer);
    sessions[i].session = copy;
    return 0; /* the connection keeps its own reference */
}

static int verify_cb(int preverify_ok, X509_STORE_CTX *x)
{
    /* gw_link_verify_hostd answers as lws' verification callback does: non-zero refuses, 0
     * leaves OpenSSL's verdict as it is. */
    return gw_link_verify_hostd(x, preverify_ok) ? 0 : preverify_ok;
}

static int ssl_fail(vg_err *err, const char *what)
{
    char buf[160] = "";
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    return vg_fail(err, VG_E_UNAVAILABLE, "%s%s%s", what, buf[0] ? ": " : "", buf);
}

SSL_CTX *gw_linktls_context(const char *ca, const char *cert, const char *key, vg_err *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        ssl_fail(err, "cannot create the link TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* An idle link keeps no read and write buffers (~34 KiB), as lws' own connections do. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    /* hostd's certificate must chain to tls_ca alone, not to the system's authorities. */
    if (!ca || SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
        ssl_fail(err, "cannot load tls_ca for the links");
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (cert && key &&
        (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
         SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)) {
        ssl_fail(err, "cannot load the gateway's certificate for the links");
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, keep_session);
    return ctx;
}

void gw_linktls_context_free(SSL_CTX *ctx)
{
    for (size_t i = 0; i < SESSIONS; i++) {
        SSL_SESSION_free(sessions[i].session);
        sessions[i].session = NULL;
    }
    SSL_CTX_free(ctx);
}

int gw_linktls_start(gw_linktls *t, SSL_CTX *ctx, const char *host, const char *peer, vg_err *err)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->peer, sizeof(t->peer), "%s", peer);
    if (!ctx) {
        t->established = 1;
        return VG_OK;
    }
    t->ssl = SSL_new(ctx);
    BIO *rbio = BIO_new(BIO_s_mem()), *wbio = BIO_new(BIO_s_mem());
    if (!t->ssl || !rbio || !wbio) {
        BIO_free(rbio);
        BIO_free(wbio);
        gw_linktls_free(t);
        return ssl_fail(err, "cannot start a link TLS session");
    }
    SSL_set_bio(t->ssl, rbio, wbio);
    SSL_set_connect_state(t->ssl);
    SSL_set_app_data(t->ssl, t);
    size_t slot = session_slot(t->peer, 0);
    if (slot < SESSIONS && SSL_set_session(t->ssl, sessions[slot].session) != 1)
        ERR_clear_error(); /* not resumable after all: a full handshake */
    unsigned char addr[16];
    int is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
    X509_VERIFY_PARAM *param = SSL_get0_param(t->ssl);
    if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1
              : (SSL_set_tlsext_host_name(t->ssl, host) != 1 || SSL_set1_host(t->ssl, host) != 1)) {
        gw_linktls_free(t);
        return ssl_fail(err, "cannot set the host to verify");
    }
    /* The ClientHello goes out with the first flush, once the socket has connected. */
    if (SSL_do_handshake(t->ssl) == 1 || SSL_get_error(t->ssl, -1) != SSL_ERROR_WANT_READ) {
        gw_linktls_free(t);
        return ssl_fail(err, "cannot begin the link TLS handshake");
    }
    return VG_OK;
}

void gw_linktls_free(gw_linktls *t)
{
    SSL_free(t->ssl); /* frees both BIOs */
    t->ssl = NULL;
}

int gw_linktls_feed(gw_linktls *t, unsigned char *in, size_t len, int *established,
                    gw_linktls_sink sink, void *user, vg_err *err)
{
    *established = 0;
    if (!t->ssl)
        return sink(user, in, len, err);
    if (len && BIO_write(SSL_get_rbio(t->ssl), in, (int)len) != (int)len)
        return ssl_fail(err, "cannot buffer what hostd sent");
    if (!t->established) {
        int rc = SSL_do_handshake(t->ssl);
        if (rc != 1) {
            int e = SSL_get_error(t->ssl, rc);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                return VG_OK;
            long v = SSL_get_verify_result(t->ssl);
            if (v != X509_V_OK)
                return vg_fail(err, VG_E_UNAVAILABLE, "hostd's certificate was refused: %s",
                               X509_verify_cert_error_string(v));
            return ssl_fail(err, "TLS handshake with hostd failed");
        }
        t->established = 1;
        *established = 1;
        if (SSL_session_reused(t->ssl))
            gw_linktls_handshakes.resumed++;
        else
            gw_linktls_handshakes.full++;
    }
    for (;;) {
        int n = SSL_read(t->ssl, plain, PIECE);
        if (n <= 0) {
            int e = SSL_get_error(t->ssl, n);
            if (e == SSL_ERROR_WANT_READ)
                return VG_OK;
            if (e == SSL_ERROR_ZERO_RETURN)
                return vg_fail(err, VG_E_UNAVAILABLE, "hostd ended the TLS session");
            return ssl_fail(err, "cannot read from hostd");
        }
        if (sink(user, plain, (size_t)n, err) != VG_OK)
            return VG_ERR;
    }
}

int gw_linktls_write(gw_linktls *t, struct lws *wsi, unsigned char *data, size_t len)
{
    if (!t->ssl)
        return lws_write(wsi, data, len, LWS_WRITE_RAW) < 0 ? VG_ERR : VG_OK;
    /* A memory BIO takes everything: the write is whole or an error. */
    return len && SSL_write(t->ssl, data, (int)len) != (int)len ? VG_ERR : VG_OK;
}

int gw_linktls_pending(const gw_linktls *t)
{
    return t->ssl && BIO_ctrl_pending(SSL_get_wbio(t->ssl)) > 0;
}

int gw_linktls_flush(gw_linktls *t, struct lws *wsi)
{
    if (!t->ssl)
        return 0;
    BIO *wbio = SSL_get_wbio(t->ssl);
    while (BIO_ctrl_pending(wbio) > 0) {
        if (lws_send_pipe_choked(wsi))
            return 1;
        int n = BIO_read(wbio, cipher + LWS_PRE, PIECE);
        if (n <= 0 || lws_write(wsi, cipher + LWS_PRE, (size_t)n, LWS_WRITE_RAW) < 0)
            return -1;
    }
    return 0;
}
