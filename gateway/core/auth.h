/* Passwords, sessions and console tickets (docs/redis.md "Platform data").
 *
 * Passwords are argon2id-hashed; session tokens and tickets are 32 random bytes handed to the
 * client once and stored in Redis only as their SHA-256. */
#ifndef GW_AUTH_H
#define GW_AUTH_H

#include "gateway.h"

#define GW_TOKEN_HEX 64 /* 32 random bytes, hex */
#define GW_PWHASH_MAX 128

int gw_auth_hash_password(const char *password, char *encoded, size_t size, vg_err *err);
/* The hash of a random password no one knows, with the cost of real ones (gw.pw_dummy); a
 * heap string the caller frees, NULL on error. */
char *gw_auth_dummy_hash(vg_err *err);
/* 1 when password matches the encoded argon2id hash, 0 otherwise (also for a bad hash). */
int gw_auth_verify(const char *encoded, const char *password);
void gw_auth_sha256_hex(const char *s, char out[65]);
/* A fresh token or ticket: GW_TOKEN_HEX hex characters. */
int gw_auth_new_token(char out[GW_TOKEN_HEX + 1]);
/* Extracts the session token from an `Authorization: Bearer T` value or from the vg_session
 * cookie of a Cookie header. Tokens are exactly GW_TOKEN_HEX hex characters; anything else
 * is ignored. Return 1 when found. */
int gw_auth_parse_bearer(const char *value, char out[GW_TOKEN_HEX + 1]);
int gw_auth_parse_cookie(const char *value, char out[GW_TOKEN_HEX + 1]);
int gw_auth_valid_token(const char *s, size_t len);
/* Creates the `admin` user from admin_password_file when Redis holds no user yet. Safe to call
 * on every Redis (re)connection and from several gateways at once. */
void gw_auth_bootstrap(gw *g, vg_redis *r);

#endif
