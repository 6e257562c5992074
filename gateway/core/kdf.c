#include "core/kdf.h"

#include "core/auth.h"

#include <ev.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

struct gw_kdf_job {
    gw_kdf *k;
    gw_kdf_job *next;
    gw_kdf_cb *cb;
    void *priv;
    int fits; /* both strings fit their buffers; a check that did not fit never matches */
    int match;
    char encoded[GW_PWHASH_MAX];
    char password[GW_KDF_PASSWORD_MAX + 1];
};

struct gw_kdf {
    struct ev_loop *loop;
    ev_async done_w;
    int max_jobs;
    int jobs; /* reserved or in flight; the loop's thread alone touches it */
    pthread_t *threads;
    int nthreads;
    /* The only state the threads share with the loop: two lists under one mutex. */
    pthread_mutex_t mu;
    pthread_cond_t more;
    gw_kdf_job *todo, *todo_tail; /* FIFO */
    gw_kdf_job *done;
    int stopping;
};

/* The password is a secret: no copy of it outlives the job. */
static void job_free(gw_kdf_job *j)
{
    explicit_bzero(j->password, sizeof(j->password));
    free(j);
}

static void *worker(void *arg)
{
    gw_kdf *k = arg;
    pthread_mutex_lock(&k->mu);
    for (;;) {
        while (!k->todo && !k->stopping)
            pthread_cond_wait(&k->more, &k->mu);
        if (k->stopping)
            break;
        gw_kdf_job *j = k->todo;
        k->todo = j->next;
        if (!k->todo)
            k->todo_tail = NULL;
        pthread_mutex_unlock(&k->mu);

        j->match = j->fits && gw_auth_verify(j->encoded, j->password);
        explicit_bzero(j->password, sizeof(j->password));

        pthread_mutex_lock(&k->mu);
        j->next = k->done;
        k->done = j;
        pthread_mutex_unlock(&k->mu);
        ev_async_send(k->loop, &k->done_w);
        pthread_mutex_lock(&k->mu);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

/* Reverses a list taken off a LIFO push, so callbacks run in completion order. */
static gw_kdf_job *reversed(gw_kdf_job *j)
{
    gw_kdf_job *r = NULL;
    while (j) {
        gw_kdf_job *next = j->next;
        j->next = r;
        r = j;
        j = next;
    }
    return r;
}

static void deliver(gw_kdf *k, gw_kdf_job *list, int stopped)
{
    while (list) {
        gw_kdf_job *j = list;
        list = j->next;
        k->jobs--;
        j->cb(stopped ? -1 : j->match, j->priv);
        job_free(j);
    }
}

static void done_cb(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)loop;
    (void)revents;
    gw_kdf *k = w->data;
    pthread_mutex_lock(&k->mu);
    gw_kdf_job *list = k->done;
    k->done = NULL;
    pthread_mutex_unlock(&k->mu);
    deliver(k, reversed(list), 0);
}

gw_kdf *gw_kdf_new(struct ev_loop *loop, int threads, int max_jobs, vg_err *err)
{
    if (threads < 1 || max_jobs < threads) {
        vg_fail(err, VG_E_BAD_REQUEST, "a password check pool needs 1+ threads and as many jobs");
        return NULL;
    }
    gw_kdf *k = calloc(1, sizeof(*k));
    if (!k || !(k->threads = calloc((size_t)threads, sizeof(*k->threads)))) {
        free(k);
        vg_fail(err, VG_E_INTERNAL, "out of memory");
        return NULL;
    }
    k->loop = loop;
    k->max_jobs = max_jobs;
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->more, NULL);
    ev_async_init(&k->done_w, done_cb);
    k->done_w.data = k;
    ev_async_start(loop, &k->done_w);
    /* The threads inherit a mask that blocks every signal: SIGTERM and the others go to the
     * loop's thread, whose libev watchers handle them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = 0;
    while (rc == 0 && k->nthreads < threads)
        if ((rc = pthread_create(&k->threads[k->nthreads], NULL, worker, k)) == 0)
            k->nthreads++;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        vg_fail(err, VG_E_INTERNAL, "cannot start a password check thread: %s", strerror(rc));
        gw_kdf_free(k);
        return NULL;
    }
    return k;
}

void gw_kdf_stop(gw_kdf *k)
{
    if (!k || !k->threads)
        return;
    pthread_mutex_lock(&k->mu);
    k->stopping = 1;
    pthread_cond_broadcast(&k->more);
    pthread_mutex_unlock(&k->mu);
    for (int i = 0; i < k->nthreads; i++)
        pthread_join(k->threads[i], NULL);
    free(k->threads);
    k->threads = NULL;
    ev_async_stop(k->loop, &k->done_w);
    /* No thread runs any more: the lists are the loop's alone. */
    gw_kdf_job *done = k->done, *todo = k->todo;
    k->done = k->todo = k->todo_tail = NULL;
    deliver(k, reversed(done), 1);
    deliver(k, todo, 1);
}

void gw_kdf_free(gw_kdf *k)
{
    if (!k)
        return;
    gw_kdf_stop(k);
    /* Checks queued after the stop never ran. */
    gw_kdf_job *todo = k->todo;
    k->todo = k->todo_tail = NULL;
    deliver(k, todo, 1);
    pthread_cond_destroy(&k->more);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

gw_kdf_job *gw_kdf_reserve(gw_kdf *k)
{
    if (k->jobs >= k->max_jobs)
        return NULL;
    gw_kdf_job *j = malloc(sizeof(*j));
    if (!j)
        return NULL;
    j->k = k;
    k->jobs++;
    return j;
}

void gw_kdf_release(gw_kdf_job *j)
{
    if (!j)
        return;
    j->k->jobs--;
    free(j); /* never held a password */
}

static int copy(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size) {
        dst[0] = '\0';
        return 0;
    }
    memcpy(dst, src, n + 1);
    return 1;
}

void gw_kdf_verify(gw_kdf_job *j, const char *encoded, const char *password, gw_kdf_cb *cb,
                   void *priv)
{
    gw_kdf *k = j->k;
    j->cb = cb;
    j->priv = priv;
    j->next = NULL;
    j->match = 0;
    j->fits = copy(j->encoded, sizeof(j->encoded), encoded) &
              copy(j->password, sizeof(j->password), password);
    pthread_mutex_lock(&k->mu);
    if (k->todo_tail)
        k->todo_tail->next = j;
    else
        k->todo = j;
    k->todo_tail = j;
    pthread_cond_signal(&k->more);
    pthread_mutex_unlock(&k->mu);
}
