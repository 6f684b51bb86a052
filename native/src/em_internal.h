/* Internal helpers shared by the library's sources: never part of the public API. */
#ifndef EM_INTERNAL_H
#define EM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "edgematte.h"
#include "edgematte_stages.h"

#define EM_MAX_BANDS 64 /* row bands of the streaming box filters (the Numba kernels' split) */
#define EM_ALIGN 64     /* workspace blocks start on cache lines (and SIMD-friendly) */

/* Run task(ctx, i) for i in [0, n) on the app's threads, or here. */
void em__parallel(const em_threads *threads, int n, em_task task, void *ctx);

/* Number of row bands and their height for an image of h rows (the Numba kernels' split:
 * max(1, min(64, h / 8)) bands of ceil(h / bands) rows). */
int em__bands(int h, int *step);

/* A bump allocator over the caller's workspace: em__take returns an aligned block or NULL when
 * the workspace is too small (sizes are computed with the same calls, so a NULL is a bug or a
 * workspace from another size). */
typedef struct em_arena {
    uint8_t *base;
    size_t size;
    size_t used;
} em_arena;

void em__arena_init(em_arena *a, void *base, size_t size);
void *em__take(em_arena *a, size_t bytes);
/* The bytes em__take(bytes) consumes, alignment included (to sum workspace sizes). */
size_t em__need(size_t bytes);

/* Bilinear sampling grid with half-pixel centres, edge-clamped (Python: kernels/sampling.py
 * axis_weights): out index i samples (1 - w[i]) src[i0[i]] + w[i] src[i1[i]]. */
void em__axis_weights(int n_out, int n_in, int32_t *i0, int32_t *i1, float *w);
/* The working-grid cell whose centre is nearest each full-size pixel (nearest_cells), and each
 * cell's first full-size index plus n_out at the end (cell_starts). */
void em__nearest_cells(int n_out, int n_in, int32_t *cells);
void em__cell_starts(int n_out, int n_in, const int32_t *cells, int32_t *starts);

static inline float em__clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }
static inline int em__mini(int a, int b) { return a < b ? a : b; }
static inline int em__maxi(int a, int b) { return a > b ? a : b; }

/* em_resize_u8 on the app's threads (the working image of a 12 MP photo is worth splitting). */
em_status em__resize_threads(const em_image *src, em_image *dst, int interpolation, void *workspace,
                             size_t workspace_size, const em_threads *threads);

/* Python's round() of a non-negative double: half to even (banker's rounding). */
int em__round_half_even(double v);

#endif
