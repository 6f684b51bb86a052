/* Version, status strings, threads, workspace arena, sampling grids. */
#include <math.h>
#include <string.h>

#include "em_internal.h"

int em_version(void) { return EM_VERSION_MAJOR * 10000 + EM_VERSION_MINOR * 100 + EM_VERSION_PATCH; }

const char *em_status_string(em_status status) {
    switch (status) {
    case EM_OK:
        return "ok";
    case EM_EINVAL:
        return "invalid argument";
    case EM_ESIZE:
        return "sizes do not fit together";
    case EM_EWORKSPACE:
        return "workspace too small";
    }
    return "unknown status";
}

void em__parallel(const em_threads *threads, int n, em_task task, void *ctx) {
    int i;
    if (n <= 0) return;
    if (threads != NULL && threads->run != NULL && n > 1) {
        threads->run(threads->pool, n, task, ctx);
        return;
    }
    for (i = 0; i < n; i++) task(ctx, i);
}

int em__bands(int h, int *step) {
    int n = h / 8;
    if (n > EM_MAX_BANDS) n = EM_MAX_BANDS;
    if (n < 1) n = 1;
    *step = (h + n - 1) / n;
    return n;
}

void em__arena_init(em_arena *a, void *base, size_t size) {
    uintptr_t p = (uintptr_t)base;
    size_t pad = (size_t)((EM_ALIGN - (p % EM_ALIGN)) % EM_ALIGN);
    a->base = (uint8_t *)base;
    a->size = size;
    a->used = pad <= size ? pad : size;
}

size_t em__need(size_t bytes) { return (bytes + EM_ALIGN - 1) / EM_ALIGN * EM_ALIGN; }

void *em__take(em_arena *a, size_t bytes) {
    size_t n = em__need(bytes);
    void *p;
    if (a->base == NULL || a->used > a->size || n > a->size - a->used) return NULL;
    p = a->base + a->used;
    a->used += n;
    return p;
}

void em__axis_weights(int n_out, int n_in, int32_t *i0, int32_t *i1, float *w) {
    double scale = (double)n_in / (double)n_out;
    int i;
    for (i = 0; i < n_out; i++) {
        double s = ((double)i + 0.5) * scale - 0.5;
        int f, g;
        if (s < 0.0) s = 0.0;
        f = (int)floor(s);
        if (f > n_in - 1) f = n_in - 1;
        g = f + 1 < n_in - 1 ? f + 1 : n_in - 1;
        i0[i] = f;
        i1[i] = g;
        w[i] = (float)(s - (double)f);
    }
}

void em__nearest_cells(int n_out, int n_in, int32_t *cells) {
    double scale = (double)n_in / (double)n_out;
    int i;
    for (i = 0; i < n_out; i++) {
        int c = (int)(((double)i + 0.5) * scale);
        cells[i] = c < n_in - 1 ? c : n_in - 1;
    }
}

void em__cell_starts(int n_out, int n_in, const int32_t *cells, int32_t *starts) {
    int i, j;
    for (j = 0; j <= n_in; j++) starts[j] = n_out;
    for (i = n_out - 1; i >= 0; i--) starts[cells[i]] = i;
    for (j = n_in - 1; j >= 0; j--)
        if (starts[j] > starts[j + 1]) starts[j] = starts[j + 1];
}

int em__round_half_even(double v) {
    double f = floor(v);
    double d = v - f;
    if (d > 0.5) return (int)f + 1;
    if (d < 0.5) return (int)f;
    return ((long)f % 2 == 0) ? (int)f : (int)f + 1;
}
