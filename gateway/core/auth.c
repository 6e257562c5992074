#include "core/auth.h"

#include "vg_redis.h"
#include "vg_log.h"
#include "vg_util.h"

#include <argon2.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane. */
#define PW_T_COST 2
#define PW_M_COST 19456
#define PW_SALT 16
#define PW_HASH 32

int gw_auth_hash_password(const char *password, char *encoded, size_t size, vg_err *err)
{
    unsigned char salt[PW_SALT];
    if (getrandom(salt, sizeof(salt), 0) != (ssize_t)sizeof(salt))
        return vg_fail(err, VG_E_INTERNAL, "no randomness for a password salt");
    int rc = argon2id_hash_encoded(PW_T_COST, PW_M_COST, 1, password, strlen(password), salt,
                                   sizeof(salt), PW_HASH, encoded, size);
    if (rc != ARGON2_OK)
        return vg_fail(err, VG_E_INTERNAL, "argon2: %s", argon2_error_message(rc));
    return VG_OK;
}

char *gw_auth_dummy_hash(vg_err *err)
{
    char pw[2 * PW_SALT + 1], encoded[GW_PWHASH_MAX];
    char *dup = NULL;
    if (vg_random_hex(pw, PW_SALT) != VG_OK)
        vg_fail(err, VG_E_INTERNAL, "no randomness for the unknown-user password");
    else if (gw_auth_hash_password(pw, encoded, sizeof(encoded), err) == VG_OK &&
             !(dup = strdup(encoded)))
        vg_fail(err, VG_E_INTERNAL, "out of memory");
    explicit_bzero(pw, sizeof(pw));
    return dup;
}

int gw_auth_verify(const char *encoded, const char *password)
{
    if (strncmp(encoded, "$argon2id$", 10) != 0)
        return 0;
    return argon2id_verify(encoded, password, strlen(password)) == ARGON2_OK;
}

void gw_auth_sha256_hex(const char *s, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, strlen(s), md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

int gw_auth_new_token(char out[GW_TOKEN_HEX + 1])
{
    return vg_random_hex(out, GW_TOKEN_HEX / 2);
}

int gw_auth_valid_token(const char *s, size_t len)
{
    if (len != GW_TOKEN_HEX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static int take_token(const char *p, size_t len, char out[GW_TOKEN_HEX + 1])
{
    if (!gw_auth_valid_token(p, len))
        return 0;
    memcpy(out, p, len);
    out[len] = '\0';
    return 1;
}

int gw_auth_parse_bearer(const char *value, char out[GW_TOKEN_HEX + 1])
{
    if (strncasecmp(value, "Bearer ", 7) != 0)
        return 0;
    const char *p = value + 7;
    while (*p == ' ')
        p++;
    size_t len = strlen(p);
    while (len && (p[len - 1] == ' ' || p[len - 1] == '\r' || p[len - 1] == '\n'))
        len--;
    return take_token(p, len, out);
}

int gw_auth_parse_cookie(const char *value, char out[GW_TOKEN_HEX + 1])
{
    const char *p = value;
    while (*p) {
        while (*p == ' ' || *p == ';' || *p == ',')
            p++;
        const char *end = p;
        while (*end && *end != ';' && *end != ',')
            end++;
        if ((size_t)(end - p) > 11 && strncmp(p, "vg_session=", 11) == 0 &&
            take_token(p + 11, (size_t)(end - p) - 11, out))
            return 1;
        p = end;
    }
    return 0;
}

static void bootstrap_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    (void)priv;
    if (!reply)
        return;
    if (reply->type == REDIS_REPLY_ERROR)
        vg_error("auth", "cannot create the admin user: %s", reply->str);
    else if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 1)
        vg_info("auth", "created user admin from the admin password file");
}

/* redis-scripts/gateway_bootstrap.lua creates admin only while vg:users is empty, atomically,
 * so concurrent gateways agree. */
void gw_auth_bootstrap(gw *g, vg_redis *r)
{
    if (!g->admin_password)
        return;
    char hash[GW_PWHASH_MAX], now[24];
    vg_err err;
    if (gw_auth_hash_password(g->admin_password, hash, sizeof(hash), &err) != VG_OK) {
        vg_error("auth", "cannot hash the admin password: %s", err.msg);
        return;
    }
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    const char *argv[] = {hash, now};
    vg_redis_eval(r, gw_lua(g, "bootstrap"), bootstrap_cb, NULL, 0, 2, argv, NULL);
}
