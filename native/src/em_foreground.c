/* The foreground stage: two-pass blur fusion (Forte & Pitie 2021). Mirrors kernels/foreground.py:
 * alpha-weighted box means F~ = box(a F) / (box(a) + eps), B~ = box((1-a) B) / (box(1-a) + eps),
 * streamed per row band; the fusion F = F~ + a (I - a F~ - (1 - a) B~); the second pass blurs the
 * first pass's F (and B~) with the fine radius. */
#include <string.h>

#include "em_internal.h"

typedef struct means_ctx {
    const float *fsrc, *bsrc, *alpha;
    int fstride, bstride; /* floats per pixel of fsrc and bsrc (the first 3 are used) */
    int w, h, r, step;
    float eps;
    float *out;     /* w x h x 6 */
    float *scratch; /* per band: col (w * 8) + pre ((w + 1) * 8) */
} means_ctx;

static void acc(float *col, const means_ctx *k, int y, float sign) {
    int x, c;
    for (x = 0; x < k->w; x++) {
        size_t i = (size_t)y * k->w + x;
        float a = k->alpha[i], na = 1.0f - a;
        const float *f = k->fsrc + i * (size_t)k->fstride, *b = k->bsrc + i * (size_t)k->bstride;
        float *cc = col + 8 * x;
        for (c = 0; c < 3; c++) {
            cc[c] += sign * a * f[c];
            cc[4 + c] += sign * na * b[c];
        }
        cc[3] += sign * a;
        cc[7] += sign * na;
    }
}

static void means_band(void *vctx, int band) {
    means_ctx *k = (means_ctx *)vctx;
    int w = k->w, h = k->h, r = k->r, y0 = band * k->step, y1 = em__mini(h, y0 + k->step), y, x, c, yy;
    float *col = k->scratch + (size_t)band * (size_t)(w * 8 + (w + 1) * 8);
    float *pre = col + (size_t)w * 8;
    if (y0 >= y1) return;
    memset(col, 0, sizeof(float) * (size_t)w * 8);
    memset(pre, 0, sizeof(float) * 8);
    for (yy = em__maxi(0, y0 - r); yy <= em__mini(h - 1, y0 + r); yy++) acc(col, k, yy, 1.0f);
    for (y = y0; y < y1; y++) {
        if (y > y0) {
            if (y + r < h) acc(col, k, y + r, 1.0f);
            if (y - r - 1 >= 0) acc(col, k, y - r - 1, -1.0f);
        }
        for (x = 0; x < w; x++)
            for (c = 0; c < 8; c++) pre[8 * (x + 1) + c] = pre[8 * x + c] + col[8 * x + c];
        for (x = 0; x < w; x++) {
            int xa = em__maxi(0, x - r), xb = em__mini(w - 1, x + r) + 1;
            float fa = pre[8 * xb + 3] - pre[8 * xa + 3], ba = pre[8 * xb + 7] - pre[8 * xa + 7];
            float n = (float)((em__mini(h - 1, y + r) - em__maxi(0, y - r) + 1) * (xb - xa));
            float *o = k->out + 6 * ((size_t)y * w + x);
            for (c = 0; c < 3; c++) {
                o[c] = (pre[8 * xb + c] - pre[8 * xa + c]) / (fa + k->eps * n);
                o[3 + c] = (pre[8 * xb + 4 + c] - pre[8 * xa + 4 + c]) / (ba + k->eps * n);
            }
        }
    }
}

static void local_means(const float *fsrc, int fstride, const float *bsrc, int bstride, const float *alpha, int w,
                        int h, int r, float eps, float *out, float *scratch, const em_threads *threads) {
    means_ctx k;
    int step, bands = em__bands(h, &step);
    k.fsrc = fsrc, k.bsrc = bsrc, k.alpha = alpha, k.fstride = fstride, k.bstride = bstride;
    k.w = w, k.h = h, k.r = r, k.step = step, k.eps = eps, k.out = out, k.scratch = scratch;
    em__parallel(threads, bands, means_band, &k);
}

size_t em_foreground_workspace_size(int w, int h) {
    int step, bands = em__bands(h, &step);
    return EM_ALIGN + em__need(sizeof(float) * (size_t)w * h * 6) + em__need(sizeof(float) * (size_t)w * h * 3) +
           em__need(sizeof(float) * (size_t)bands * (size_t)(w * 8 + (w + 1) * 8));
}

em_status em_foreground_means(const float *guide, const float *alpha, int w, int h, int r_wide, int r_fine,
                              float eps, float *means, void *workspace, size_t workspace_size,
                              const em_threads *threads) {
    em_arena a;
    float *first, *f1, *scratch;
    size_t i, n;
    int c;
    int step, bands;
    if (guide == NULL || alpha == NULL || means == NULL || w < 1 || h < 1 || r_wide < 0 || r_fine < 0)
        return EM_EINVAL;
    bands = em__bands(h, &step);
    em__arena_init(&a, workspace, workspace_size);
    first = (float *)em__take(&a, sizeof(float) * (size_t)w * h * 6);
    f1 = (float *)em__take(&a, sizeof(float) * (size_t)w * h * 3);
    scratch = (float *)em__take(&a, sizeof(float) * (size_t)bands * (size_t)(w * 8 + (w + 1) * 8));
    if (first == NULL || f1 == NULL || scratch == NULL) return EM_EWORKSPACE;
    local_means(guide, 3, guide, 3, alpha, w, h, r_wide, eps, first, scratch, threads);
    n = (size_t)w * h;
    for (i = 0; i < n; i++) { /* fuse: F = F~ + a (I - a F~ - (1 - a) B~), clipped to 0..1 */
        float av = alpha[i];
        for (c = 0; c < 3; c++) {
            float f = first[6 * i + c];
            float v = f + av * (guide[3 * i + c] - av * f - (1.0f - av) * first[6 * i + 3 + c]);
            f1[3 * i + c] = em__clampf(v, 0.0f, 1.0f);
        }
    }
    local_means(f1, 3, first + 3, 6, alpha, w, h, r_fine, eps, means, scratch, threads);
    return EM_OK;
}
