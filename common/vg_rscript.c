#include "vg_rscript.h"

#include "vg_log.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vg_rscript {
    char *name;
    char *body;
    size_t len;
    char sha[41];
};

/* One EVALSHA in flight: the formatted command is kept so a NOSCRIPT answer can resend it. */
typedef struct rs_call {
    vg_rscript *s;
    redisCallbackFn *cb;
    void *priv;
    char *cmd;
    size_t len;
    int retried;
} rs_call;

static int valid_file_name(const char *name)
{
    return name[0] && name[0] != '.' && !strchr(name, '/');
}

static char *read_all(const char *path, size_t *len, vg_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        vg_fail(err, errno == ENOENT ? VG_E_NOT_FOUND : VG_E_INTERNAL,
                "cannot read Redis script %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(VG_RSCRIPT_MAX + 1);
    if (!buf) {
        fclose(f);
        vg_fail(err, VG_E_INTERNAL, "out of memory reading %s", path);
        return NULL;
    }
    size_t n = fread(buf, 1, VG_RSCRIPT_MAX + 1, f);
    int failed = ferror(f);
    fclose(f);
    if (failed || n == 0 || n > VG_RSCRIPT_MAX) {
        free(buf);
        vg_fail(err, failed ? VG_E_INTERNAL : VG_E_BAD_REQUEST, "Redis script %s is %s", path,
                failed   ? "unreadable"
                : n == 0 ? "empty"
                         : "larger than 65536 bytes");
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int sha1_hex(const char *data, size_t len, char out[41])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
        return VG_ERR;
    for (unsigned int i = 0; i < mdlen; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[40] = '\0';
    return VG_OK;
}

static char *read_in(const char *dir, const char *name, size_t *len, vg_err *err)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
        return vg_fail(err, VG_E_BAD_REQUEST, "scripts_dir is too long"), NULL;
    return read_all(path, len, err);
}

/* The prelude and the script as one text, as `cat` would join the two files. */
static char *read_with_prelude(const char *dir, const char *name, size_t *len, vg_err *err)
{
    size_t plen, blen;
    char *body = read_in(dir, name, &blen, err);
    if (!body)
        return NULL;
    char *prelude = read_in(dir, VG_RSCRIPT_PRELUDE, &plen, err);
    char *all = prelude ? realloc(prelude, plen + blen + 1) : NULL;
    if (!all) {
        if (prelude)
            vg_fail(err, VG_E_INTERNAL, "out of memory reading %s", name);
        free(prelude);
        free(body);
        return NULL;
    }
    memcpy(all + plen, body, blen + 1);
    free(body);
    *len = plen + blen;
    return all;
}

vg_rscript *vg_rscript_open(const char *dir, const char *name, vg_err *err)
{
    if (!dir || !*dir)
        return vg_fail(err, VG_E_BAD_REQUEST, "scripts_dir is not set (needed for %s)", name), NULL;
    if (!valid_file_name(name))
        return vg_fail(err, VG_E_BAD_REQUEST, "bad Redis script name \"%.64s\"", name), NULL;
    vg_rscript *s = calloc(1, sizeof(*s));
    if (!s)
        return vg_fail(err, VG_E_INTERNAL, "out of memory"), NULL;
    s->name = strdup(name);
    if (!s->name) {
        vg_fail(err, VG_E_INTERNAL, "out of memory");
        vg_rscript_free(s);
        return NULL;
    }
    s->body = read_with_prelude(dir, name, &s->len, err);
    if (!s->body) {
        vg_rscript_free(s);
        return NULL;
    }
    if (sha1_hex(s->body, s->len, s->sha) != VG_OK) {
        vg_fail(err, VG_E_INTERNAL, "cannot compute the SHA1 of %s", name);
        vg_rscript_free(s);
        return NULL;
    }
    return s;
}

void vg_rscript_free(vg_rscript *s)
{
    if (!s)
        return;
    free(s->name);
    free(s->body);
    free(s);
}

const char *vg_rscript_name(const vg_rscript *s)
{
    return s->name;
}

const char *vg_rscript_sha(const vg_rscript *s)
{
    return s->sha;
}

static void loaded_cb(redisAsyncContext *ac, void *r, void *priv)
{
    (void)ac;
    const vg_rscript *s = priv;
    const redisReply *reply = r;
    if (!reply)
        return; /* the connection went away; the next one loads again */
    if (reply->type == REDIS_REPLY_ERROR)
        vg_error("rscript", "SCRIPT LOAD %s refused: %s", s->name, reply->str);
    else if (reply->type != REDIS_REPLY_STRING || strcmp(reply->str, s->sha) != 0)
        vg_error("rscript", "SCRIPT LOAD %s: unexpected answer", s->name);
}

int vg_rscript_load(vg_rscript *s, redisAsyncContext *ac)
{
    if (redisAsyncCommand(ac, loaded_cb, s, "SCRIPT LOAD %b", s->body, s->len) != REDIS_OK)
        return VG_ERR;
    return VG_OK;
}

static void call_done(redisAsyncContext *ac, void *r, void *priv)
{
    rs_call *c = priv;
    const redisReply *reply = r;
    /* A connection being closed takes no new commands, so it gets no retry either. */
    if (reply && reply->type == REDIS_REPLY_ERROR && !c->retried &&
        strncmp(reply->str, "NOSCRIPT", 8) == 0 &&
        !(ac->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING))) {
        c->retried = 1;
        if (vg_rscript_load(c->s, ac) == VG_OK &&
            redisAsyncFormattedCommand(ac, call_done, c, c->cmd, c->len) == REDIS_OK) {
            vg_info("rscript", "Redis had lost %s; loaded it again", c->s->name);
            return;
        }
    }
    if (c->cb)
        c->cb(ac, r, c->priv);
    redisFreeCommand(c->cmd);
    free(c);
}

int vg_rscript_call(vg_rscript *s, redisAsyncContext *ac, redisCallbackFn *cb, void *priv,
                    int nkeys, int argc, const char **argv, const size_t *lens)
{
    if (nkeys < 0 || argc < nkeys || argc > VG_RSCRIPT_MAX_ARGS)
        return VG_ERR;
    const char *full[VG_RSCRIPT_MAX_ARGS + 3];
    size_t full_lens[VG_RSCRIPT_MAX_ARGS + 3];
    char nk[16];
    snprintf(nk, sizeof(nk), "%d", nkeys);
    full[0] = "EVALSHA";
    full[1] = s->sha;
    full[2] = nk;
    for (int i = 0; i < 3; i++)
        full_lens[i] = strlen(full[i]);
    for (int i = 0; i < argc; i++) {
        full[3 + i] = argv[i];
        full_lens[3 + i] = lens ? lens[i] : strlen(argv[i]);
    }
    rs_call *c = calloc(1, sizeof(*c));
    if (!c)
        return VG_ERR;
    int n = redisFormatCommandArgv(&c->cmd, argc + 3, full, full_lens);
    if (n < 0) {
        free(c);
        return VG_ERR;
    }
    c->s = s;
    c->cb = cb;
    c->priv = priv;
    c->len = (size_t)n;
    if (redisAsyncFormattedCommand(ac, call_done, c, c->cmd, c->len) != REDIS_OK) {
        redisFreeCommand(c->cmd);
        free(c);
        return VG_ERR;
    }
    return VG_OK;
}
