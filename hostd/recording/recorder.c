#include "recording/recorder.h"

#include "recording/cast.h"
#include "vg_json.h"
#include "vg_log.h"
#include "vg_redis.h"
#include "vg_rscript.h"
#include "vg_util.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REC_FLUSH_S 1.0
#define REC_CLEAN_S 60.0
#define REC_PIECE 16384          /* bytes escaped at a time */
#define REC_FILE_BUF (64 * 1024) /* stdio buffer of one file */
#define REC_WIDTH 80             /* a serial console has no size; the guest assumes 80x24 */
#define REC_HEIGHT 24
#define REC_ID_MAX 40

typedef struct rec {
    struct rec *next;
    const console *con;
    char id[REC_ID_MAX];
    char vm[65], dev[32], user[65];
    int input;
    int part;
    FILE *f;
    long long size, indexed_size;
    int64_t start_ms, t0_mono;
    hd_cast_carry ocy, icy;
} rec;

static struct ev_loop *loop;
static const rec_config *cfg;
static vg_redis *redis;
static vg_rscript *script;
static rec *recs;
static ev_timer flush_timer, clean_timer;

int hd_rec_valid_id(const char *id)
{
    /* rec-<13..16 digits>-<8 hex> */
    if (!id || strncmp(id, "rec-", 4) != 0)
        return 0;
    const char *p = id + 4;
    size_t d = strspn(p, "0123456789");
    if (d < 1 || d > 16 || p[d] != '-')
        return 0;
    p += d + 1;
    return strlen(p) == 8 && strspn(p, "0123456789abcdef") == 8;
}

static void path_of(const char *id, char *out, size_t size)
{
    snprintf(out, size, "%s/%s.cast", cfg->dir, id);
}

/* ---- the index ---- */

static void index_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    (void)priv;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        vg_warn("recording", "index write failed: %s", reply->str);
}

static void index_put(const char *id, const char *vm, const char *dev, const char *user,
                      int64_t start_ms, int64_t end_ms, long long size, int input, int part,
                      int active)
{
    char start[24], end[24], sz[24], in[4], pt[12];
    snprintf(start, sizeof(start), "%lld", (long long)start_ms);
    snprintf(end, sizeof(end), "%lld", (long long)end_ms);
    snprintf(sz, sizeof(sz), "%lld", size);
    snprintf(in, sizeof(in), "%d", input);
    snprintf(pt, sizeof(pt), "%d", part);
    const char *argv[] = {"put", id,  vm, dev, user, cfg->host_id,
                          start, end, sz, in,  pt,   active ? "1" : "0"};
    if (vg_redis_up(redis))
        vg_redis_eval(redis, script, index_cb, NULL, 0, 12, argv, NULL);
}

static void index_rec(rec *r, int active)
{
    index_put(r->id, r->vm, r->dev, r->user, r->start_ms, vg_now_ms(), r->size, r->input, r->part,
              active);
    r->indexed_size = r->size;
}

static void index_del(const char *id)
{
    const char *argv[] = {"del", id};
    if (vg_redis_up(redis))
        vg_redis_eval(redis, script, index_cb, NULL, 0, 2, argv, NULL);
}

/* ---- writing ---- */

static void end_rec(rec *r, const char *why)
{
    for (rec **pp = &recs; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    if (r->f && fclose(r->f) != 0)
        vg_warn("recording", "%s: %s", r->id, strerror(errno));
    vg_info("recording", "%s of %s/%s (%s) ended after %lld bytes: %s", r->id, r->vm, r->dev,
            r->user, r->size, why);
    index_rec(r, 0);
    free(r);
}

static rec *begin_rec(const console *c, const char *user, int input, int part)
{
    rec *r = calloc(1, sizeof(*r));
    char hex[9], path[1200];
    if (!r || vg_random_hex(hex, 4) != VG_OK) {
        free(r);
        vg_warn("recording", "cannot start a recording of %s: out of memory or randomness",
                hd_console_vm(c));
        return NULL;
    }
    r->con = c;
    r->start_ms = vg_now_ms();
    r->t0_mono = vg_mono_ms();
    r->input = input;
    r->part = part;
    snprintf(r->id, sizeof(r->id), "rec-%lld-%s", (long long)r->start_ms, hex);
    snprintf(r->vm, sizeof(r->vm), "%s", hd_console_vm(c));
    snprintf(r->dev, sizeof(r->dev), "%s", hd_console_dev(c));
    snprintf(r->user, sizeof(r->user), "%s", user);
    path_of(r->id, path, sizeof(path));
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || !(r->f = fdopen(fd, "w"))) {
        vg_warn("recording", "cannot create %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        free(r);
        return NULL;
    }
    setvbuf(r->f, NULL, _IOFBF, REC_FILE_BUF);
    /* The header says what the index says, so the index can be rebuilt from the files. */
    cJSON *h = cJSON_CreateObject(), *env = NULL;
    char title[128], num[24];
    snprintf(title, sizeof(title), "%s/%s", r->vm, r->dev);
    cJSON_AddNumberToObject(h, "version", 2);
    cJSON_AddNumberToObject(h, "width", REC_WIDTH);
    cJSON_AddNumberToObject(h, "height", REC_HEIGHT);
    cJSON_AddNumberToObject(h, "timestamp", (double)(r->start_ms / 1000));
    cJSON_AddStringToObject(h, "title", title);
    if ((env = cJSON_AddObjectToObject(h, "env"))) {
        cJSON_AddStringToObject(env, "TERM", "xterm-256color");
        cJSON_AddStringToObject(env, "VMGATE_VM", r->vm);
        cJSON_AddStringToObject(env, "VMGATE_DEV", r->dev);
        cJSON_AddStringToObject(env, "VMGATE_USER", r->user);
        cJSON_AddStringToObject(env, "VMGATE_INPUT", input ? "1" : "0");
        snprintf(num, sizeof(num), "%d", part);
        cJSON_AddStringToObject(env, "VMGATE_PART", num);
        snprintf(num, sizeof(num), "%lld", (long long)r->start_ms);
        cJSON_AddStringToObject(env, "VMGATE_START_MS", num);
    }
    char *text = cJSON_PrintUnformatted(h);
    cJSON_Delete(h);
    int n = text ? fprintf(r->f, "%s\n", text) : -1;
    free(text);
    if (n < 0) {
        fclose(r->f);
        unlink(path);
        free(r);
        return NULL;
    }
    r->size = n;
    r->next = recs;
    recs = r;
    vg_info("recording", "%s of %s/%s (%s%s) started", r->id, r->vm, r->dev, user,
            input ? ", with input" : "");
    index_rec(r, 1);
    return r;
}

static rec *rec_of(const console *c)
{
    for (rec *r = recs; r; r = r->next)
        if (r->con == c)
            return r;
    return NULL;
}

static void write_event(rec *r, char kind, const unsigned char *p, size_t n)
{
    static char esc[HD_CAST_ESCAPED_MAX(REC_PIECE)];
    hd_cast_carry *cy = kind == 'o' ? &r->ocy : &r->icy;
    double t = (double)(vg_mono_ms() - r->t0_mono) / 1000.0;
    while (n) {
        size_t k = n > REC_PIECE ? REC_PIECE : n;
        size_t len = hd_cast_escape(cy, p, k, esc);
        p += k;
        n -= k;
        if (!len)
            continue;
        int a = fprintf(r->f, "[%.3f, \"%c\", \"", t, kind);
        size_t b = fwrite(esc, 1, len, r->f);
        int c = fputs("\"]\n", r->f);
        if (a < 0 || b < len || c < 0) {
            end_rec(r, "write error");
            return;
        }
        r->size += a + (long long)len + 3;
    }
    if (r->size >= cfg->max_bytes) {
        /* The session goes on in the next part. */
        const console *c = r->con;
        char user[65];
        int input = r->input, part = r->part + 1;
        snprintf(user, sizeof(user), "%s", r->user);
        end_rec(r, "max_bytes reached, continued in a new part");
        begin_rec(c, user, input, part);
    }
}

void hd_rec_on_writer(const console *c, const console_viewer *w)
{
    if (!cfg)
        return;
    rec *r = rec_of(c);
    if (r)
        end_rec(r, w ? "another writer took over" : "the writer left");
    if (w)
        begin_rec(c, w->user, w->rec_input, 1);
}

void hd_rec_on_output(const console *c, const unsigned char *p, size_t n)
{
    rec *r = cfg ? rec_of(c) : NULL;
    if (r)
        write_event(r, 'o', p, n);
}

void hd_rec_on_input(const console *c, const unsigned char *p, size_t n)
{
    rec *r = cfg ? rec_of(c) : NULL;
    if (r && r->input)
        write_event(r, 'i', p, n);
}

static void on_flush(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
    for (rec *r = recs, *next; r; r = next) {
        next = r->next;
        if (fflush(r->f) != 0) {
            end_rec(r, strerror(errno));
            continue;
        }
        if (r->size != r->indexed_size)
            index_rec(r, 1);
    }
}

/* ---- the directory ---- */

typedef struct rec_file {
    char id[REC_ID_MAX];
    time_t mtime;
    long long size;
} rec_file;

static int active(const char *id)
{
    for (rec *r = recs; r; r = r->next)
        if (!strcmp(r->id, id))
            return 1;
    return 0;
}

/* The finished recordings of the directory (active ones are skipped); *n entries. */
static rec_file *scan(size_t *n)
{
    *n = 0;
    DIR *d = opendir(cfg->dir);
    if (!d)
        return NULL;
    rec_file *files = NULL;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || len - 5 >= REC_ID_MAX || strcmp(e->d_name + len - 5, ".cast"))
            continue;
        rec_file f = {0};
        memcpy(f.id, e->d_name, len - 5);
        struct stat st;
        char path[1200];
        path_of(f.id, path, sizeof(path));
        if (!hd_rec_valid_id(f.id) || active(f.id) || stat(path, &st) != 0)
            continue;
        f.mtime = st.st_mtime;
        f.size = (long long)st.st_size;
        if (*n == cap) {
            rec_file *g = realloc(files, (cap = cap ? cap * 2 : 64) * sizeof(*g));
            if (!g)
                break;
            files = g;
        }
        files[(*n)++] = f;
    }
    closedir(d);
    return files;
}

static void delete_file(const char *id, const char *why)
{
    char path[1200];
    path_of(id, path, sizeof(path));
    if (unlink(path) != 0 && errno != ENOENT)
        vg_warn("recording", "cannot delete %s: %s", path, strerror(errno));
    else
        vg_info("recording", "%s deleted: %s", id, why);
    index_del(id);
}

static int by_mtime(const void *a, const void *b)
{
    const rec_file *x = a, *y = b;
    return x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
}

/* Applies keep_s and total_bytes. */
static void clean(void)
{
    size_t n;
    rec_file *files = scan(&n);
    time_t now = time(NULL);
    long long total = 0;
    for (rec *r = recs; r; r = r->next)
        total += r->size;
    if (n) /* files is NULL for an empty directory */
        qsort(files, n, sizeof(*files), by_mtime);
    for (size_t i = 0; i < n; i++)
        total += files[i].size;
    for (size_t i = 0; i < n; i++) {
        if (now - files[i].mtime > cfg->keep_s)
            delete_file(files[i].id, "older than recording_keep_s");
        else if (total > cfg->total_bytes)
            delete_file(files[i].id, "recording_total_bytes reached");
        else
            continue;
        total -= files[i].size;
    }
    free(files);
}

static void on_clean(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
    clean();
}

/* Writes the index entry of a finished file again from its header. */
static void reindex(const rec_file *f)
{
    char path[1200], line[4096];
    path_of(f->id, path, sizeof(path));
    FILE *fp = fopen(path, "re");
    if (!fp)
        return;
    int ok = fgets(line, sizeof(line), fp) != NULL;
    fclose(fp);
    cJSON *h = ok ? vg_json_parse(line, strlen(line), NULL) : NULL;
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(h, "env");
    const char *k[] = {"VMGATE_VM",    "VMGATE_DEV",  "VMGATE_USER",
                       "VMGATE_INPUT", "VMGATE_PART", "VMGATE_START_MS"};
    const char *v[6];
    for (int i = 0; i < 6; i++) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(env, k[i]);
        v[i] = cJSON_IsString(s) ? s->valuestring : NULL;
    }
    if (v[0] && v[1] && v[2] && v[3] && v[4] && v[5] && vg_valid_name(v[0]))
        index_put(f->id, v[0], v[1], v[2], strtoll(v[5], NULL, 10), (int64_t)f->mtime * 1000,
                  f->size, atoi(v[3]), atoi(v[4]), 0);
    else
        vg_warn("recording", "%s has no vmgate header; left out of the index", path);
    cJSON_Delete(h);
}

static void on_connect(vg_redis *r, void *priv)
{
    (void)priv;
    redis = r; /* the first call comes from within vg_redis_new */
    size_t n;
    rec_file *files = scan(&n);
    for (size_t i = 0; i < n; i++)
        reindex(&files[i]);
    for (rec *a = recs; a; a = a->next)
        index_rec(a, 1);
    /* Entries of this host whose file is gone (deleted while Redis was away) go too. */
    cJSON *ids = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(ids, cJSON_CreateString(files[i].id));
    for (rec *a = recs; a; a = a->next)
        cJSON_AddItemToArray(ids, cJSON_CreateString(a->id));
    char *list = cJSON_PrintUnformatted(ids);
    cJSON_Delete(ids);
    const char *argv[] = {"prune", cfg->host_id, list};
    if (list)
        vg_redis_eval(redis, script, index_cb, NULL, 0, 3, argv, NULL);
    free(list);
    free(files);
}

/* ---- reading and deleting ---- */

int hd_rec_open(const char *id, int *fd, long long *size, vg_err *err)
{
    if (!hd_rec_valid_id(id))
        return vg_fail(err, VG_E_BAD_REQUEST, "id is not a recording id");
    for (rec *r = recs; r; r = r->next)
        if (!strcmp(r->id, id))
            fflush(r->f);
    char path[1200];
    path_of(id, path, sizeof(path));
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (*fd < 0 || fstat(*fd, &st) != 0) {
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
        return vg_fail(err, errno == ENOENT ? VG_E_NOT_FOUND : VG_E_INTERNAL, "recording %s: %s",
                       id, strerror(errno));
    }
    *size = (long long)st.st_size;
    return VG_OK;
}

void hd_rec_rpc_delete(rpc_call *call, const cJSON *params)
{
    vg_err err;
    const char *id = NULL;
    if (hd_rpc_string(params, "id", 1, REC_ID_MAX - 1, &id, &err) != VG_OK) {
        hd_rpc_fail(call, &err);
        return;
    }
    if (!hd_rec_valid_id(id)) {
        vg_fail(&err, VG_E_BAD_REQUEST, "params.id is not a recording id");
        hd_rpc_fail(call, &err);
        return;
    }
    if (active(id)) {
        vg_fail(&err, VG_E_CONFLICT, "recording %s is still being written", id);
        hd_rpc_fail(call, &err);
        return;
    }
    delete_file(id, "recording.delete");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    hd_rpc_reply(call, o);
}

/* ---- life ---- */

int hd_rec_start(struct ev_loop *l, const rec_config *c, vg_err *err)
{
    if (mkdir(c->dir, 0700) != 0 && errno != EEXIST)
        return vg_fail(err, VG_E_INTERNAL, "recording_dir %s: %s", c->dir, strerror(errno));
    script = vg_rscript_open(c->scripts_dir, "hostd_recording.lua", err);
    if (!script)
        return VG_ERR;
    loop = l;
    cfg = c;
    vg_redis_config rcfg = {
        .name = "recording",
        .host = c->redis_host,
        .port = c->redis_port,
        .sentinels = c->redis_sentinels,
        .master_name = c->redis_master_name,
        .password = c->password,
        .scripts = &script,
        .nscripts = 1,
        .on_connect = on_connect,
    };
    redis = vg_redis_new(loop, &rcfg, err);
    if (!redis) {
        vg_rscript_free(script);
        script = NULL;
        cfg = NULL;
        return VG_ERR;
    }
    ev_timer_init(&flush_timer, on_flush, REC_FLUSH_S, REC_FLUSH_S);
    ev_timer_init(&clean_timer, on_clean, REC_CLEAN_S, REC_CLEAN_S);
    ev_timer_start(loop, &flush_timer);
    ev_timer_start(loop, &clean_timer);
    clean();
    return VG_OK;
}

void hd_rec_stop(void)
{
    if (!cfg)
        return;
    while (recs)
        end_rec(recs, "hostd stops");
    ev_timer_stop(loop, &flush_timer);
    ev_timer_stop(loop, &clean_timer);
    vg_redis_free(redis);
    redis = NULL;
    vg_rscript_free(script);
    script = NULL;
    cfg = NULL;
}
