/* A minimal thread pool with the library's "parallel for" (em_parallel_for), over POSIX threads.
 * An example of what an app plugs into em_threads (an Android or iOS app would use its own
 * executor instead); the benchmarks and the example program use it. Worker w of n runs the
 * indices w, w + n, w + 2n, ...: rows of an image interleave, so uneven rows spread evenly. */
#define _POSIX_C_SOURCE 200809L
#include "em_pool.h"

#include <pthread.h>
#include <stdlib.h>

struct em_pool {
    int n;
    pthread_t *threads;
    pthread_mutex_t lock;
    pthread_cond_t start, done;
    unsigned long generation;
    int pending, stop;
    em_task task;
    void *ctx;
    int count;
};

typedef struct worker_arg {
    em_pool *pool;
    int index;
} worker_arg;

static void run_share(em_pool *p, int w, em_task task, void *ctx, int count) {
    int i;
    for (i = w; i < count; i += p->n) task(ctx, i);
}

static void *worker(void *varg) {
    worker_arg *arg = (worker_arg *)varg;
    em_pool *p = arg->pool;
    int w = arg->index;
    unsigned long seen = 0;
    free(arg);
    for (;;) {
        em_task task;
        void *ctx;
        int count;
        pthread_mutex_lock(&p->lock);
        while (p->generation == seen && !p->stop) pthread_cond_wait(&p->start, &p->lock);
        if (p->stop) {
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
        seen = p->generation;
        task = p->task, ctx = p->ctx, count = p->count;
        pthread_mutex_unlock(&p->lock);
        run_share(p, w, task, ctx, count);
        pthread_mutex_lock(&p->lock);
        if (--p->pending == 0) pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->lock);
    }
}

em_pool *em_pool_create(int threads) {
    em_pool *p;
    int i;
    if (threads < 1) threads = 1;
    p = (em_pool *)calloc(1, sizeof *p);
    if (p == NULL) return NULL;
    p->n = threads;
    p->threads = (pthread_t *)calloc((size_t)threads, sizeof(pthread_t));
    if (p->threads == NULL) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->start, NULL);
    pthread_cond_init(&p->done, NULL);
    for (i = 1; i < threads; i++) { /* the caller is worker 0 */
        worker_arg *arg = (worker_arg *)malloc(sizeof *arg);
        if (arg == NULL || (arg->pool = p, arg->index = i, pthread_create(&p->threads[i], NULL, worker, arg)) != 0) {
            free(arg);
            p->n = i; /* run with the threads we have */
            break;
        }
    }
    return p;
}

void em_pool_parallel_for(void *pool, int n, em_task task, void *ctx) {
    em_pool *p = (em_pool *)pool;
    if (p == NULL || p->n == 1 || n < 2) {
        int i;
        for (i = 0; i < n; i++) task(ctx, i);
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->task = task, p->ctx = ctx, p->count = n, p->pending = p->n - 1;
    p->generation++;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->lock);
    run_share(p, 0, task, ctx, n);
    pthread_mutex_lock(&p->lock);
    while (p->pending > 0) pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

void em_pool_threads(em_pool *pool, em_threads *threads) {
    threads->run = em_pool_parallel_for;
    threads->pool = pool;
}

void em_pool_destroy(em_pool *p) {
    int i;
    if (p == NULL) return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->lock);
    for (i = 1; i < p->n; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->start);
    pthread_cond_destroy(&p->done);
    free(p->threads);
    free(p);
}
