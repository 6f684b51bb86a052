/* em_pool.h - a minimal POSIX-threads pool that provides edgematte's "parallel for". */
#ifndef EM_POOL_H
#define EM_POOL_H

#include "edgematte.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct em_pool em_pool;

/* A pool of `threads` threads, the caller counting as one (threads - 1 are started). NULL when out
 * of memory. */
em_pool *em_pool_create(int threads);
/* The em_parallel_for of a pool: pass it with the pool in an em_threads. */
void em_pool_parallel_for(void *pool, int n, em_task task, void *ctx);
/* Fill `threads` to run on `pool`. */
void em_pool_threads(em_pool *pool, em_threads *threads);
/* Stop and free the pool (not while a parallel for runs). */
void em_pool_destroy(em_pool *pool);

#ifdef __cplusplus
}
#endif

#endif
