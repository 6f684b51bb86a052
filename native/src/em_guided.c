/* The refine stage: map resize, colour guided filter (He & Sun 2015), edge hardness, contrast,
 * and the coefficients applied at any size. Mirrors kernels/guided.py and kernels/box.py. */
#include <string.h>

#include "em_internal.h"

/* ---- the map resize ----------------------------------------------------------------------- */

em_status em_resize_map(const float *src, int sw, int sh, float *dst, int dw, int dh) {
    int x, y;
    if (src == NULL || dst == NULL || sw < 1 || sh < 1 || dw < 1 || dh < 1) return EM_EINVAL;
    for (y = 0; y < dh; y++) {
        double sy = ((double)y + 0.5) * ((double)sh / (double)dh) - 0.5;
        int y0, y1;
        float fy;
        if (sy < 0.0) sy = 0.0;
        y0 = (int)sy;
        if (y0 > sh - 1) y0 = sh - 1;
        y1 = y0 + 1 < sh - 1 ? y0 + 1 : sh - 1;
        fy = (float)(sy - (double)y0);
        for (x = 0; x < dw; x++) {
            double sx = ((double)x + 0.5) * ((double)sw / (double)dw) - 0.5;
            int x0, x1;
            float fx, top, bot;
            if (sx < 0.0) sx = 0.0;
            x0 = (int)sx;
            if (x0 > sw - 1) x0 = sw - 1;
            x1 = x0 + 1 < sw - 1 ? x0 + 1 : sw - 1;
            fx = (float)(sx - (double)x0);
            top = src[(size_t)y0 * sw + x0] * (1.0f - fx) + src[(size_t)y0 * sw + x1] * fx;
            bot = src[(size_t)y1 * sw + x0] * (1.0f - fx) + src[(size_t)y1 * sw + x1] * fx;
            dst[(size_t)y * dw + x] = top * (1.0f - fy) + bot * fy;
        }
    }
    return EM_OK;
}

/* ---- the window fit: 13 moments streamed per band, then a 3x3 solve per pixel ---------------- */

/* Per band the scratch holds the 13 running column sums (w x 13, pixel-interleaved) and their
 * prefix sums ((w + 1) x 13). The arithmetic per element is the Numba kernel's, in the same order
 * (kernels/guided._window_fit). (A structure-of-arrays layout measured 1.5x slower here: 13
 * write streams and stride-3 loads cost more than the vectorised solve gained.) */
#define FIT_FLOATS(w) ((size_t)(w) * 13 + ((size_t)(w) + 1) * 13)

typedef struct fit_ctx {
    const em_image *work;
    const float *p;
    int w, h, r, step;
    float eps;
    float *out;     /* w x h x 4 raw coefficients */
    float *scratch; /* per band: FIT_FLOATS(w) */
} fit_ctx;

/* Add (or subtract) row y's 13 moments to the column sums: x * 1 and x * -1 are exact, so the
 * two loops are the kernel's sign * x without the multiply. */
static void accumulate(float *col, const em_image *work, const float *p, int w, int y, int add) {
    const uint8_t *g = work->data + (ptrdiff_t)y * work->stride;
    const float *pr = p + (size_t)y * w;
    const float inv = 1.0f / 255.0f;
    int x;
    for (x = 0; x < w; x++) {
        float r_ = (float)g[3 * x] * inv, g_ = (float)g[3 * x + 1] * inv, b_ = (float)g[3 * x + 2] * inv;
        float v = pr[x], d[13];
        float *c = col + 13 * x;
        int i;
        d[0] = r_, d[1] = g_, d[2] = b_, d[3] = v, d[4] = r_ * r_, d[5] = r_ * g_, d[6] = r_ * b_;
        d[7] = g_ * g_, d[8] = g_ * b_, d[9] = b_ * b_, d[10] = r_ * v, d[11] = g_ * v, d[12] = b_ * v;
        if (add)
            for (i = 0; i < 13; i++) c[i] += d[i];
        else
            for (i = 0; i < 13; i++) c[i] -= d[i];
    }
}

static void fit_band(void *vctx, int band) {
    fit_ctx *k = (fit_ctx *)vctx;
    int w = k->w, h = k->h, r = k->r;
    int y0 = band * k->step, y1 = em__mini(h, y0 + k->step), y, x, c, yy;
    float *col = k->scratch + (size_t)band * FIT_FLOATS(w);
    float *pre = col + (size_t)w * 13;
    float m[13];
    const float eps = k->eps;
    if (y0 >= y1) return;
    memset(col, 0, sizeof(float) * (size_t)w * 13);
    memset(pre, 0, sizeof(float) * 13);
    for (yy = em__maxi(0, y0 - r); yy <= em__mini(h - 1, y0 + r); yy++) accumulate(col, k->work, k->p, w, yy, 1);
    for (y = y0; y < y1; y++) {
        int ny;
        if (y > y0) {
            if (y + r < h) accumulate(col, k->work, k->p, w, y + r, 1);
            if (y - r - 1 >= 0) accumulate(col, k->work, k->p, w, y - r - 1, 0);
        }
        ny = em__mini(h - 1, y + r) - em__maxi(0, y - r) + 1;
        for (x = 0; x < w; x++)
            for (c = 0; c < 13; c++) pre[13 * (x + 1) + c] = pre[13 * x + c] + col[13 * x + c];
        for (x = 0; x < w; x++) {
            int xa = em__maxi(0, x - r), xb = em__mini(w - 1, x + r) + 1;
            float inv = 1.0f / (float)(ny * (xb - xa));
            float mr, mg, mb, mp, srr, srg, srb, sgg, sgb, sbb, cr, cg, cb;
            float i00, i01, i02, i11, i12, i22, det, idet, ar, ag, ab;
            float *o = k->out + 4 * ((size_t)y * w + x);
            for (c = 0; c < 13; c++) m[c] = (pre[13 * xb + c] - pre[13 * xa + c]) * inv;
            mr = m[0], mg = m[1], mb = m[2], mp = m[3];
            srr = m[4] - mr * mr + eps;
            srg = m[5] - mr * mg;
            srb = m[6] - mr * mb;
            sgg = m[7] - mg * mg + eps;
            sgb = m[8] - mg * mb;
            sbb = m[9] - mb * mb + eps;
            cr = m[10] - mr * mp;
            cg = m[11] - mg * mp;
            cb = m[12] - mb * mp;
            i00 = sgg * sbb - sgb * sgb;
            i01 = srb * sgb - srg * sbb;
            i02 = srg * sgb - srb * sgg;
            i11 = srr * sbb - srb * srb;
            i12 = srb * srg - srr * sgb;
            i22 = srr * sgg - srg * srg;
            det = srr * i00 + srg * i01 + srb * i02;
            idet = 1.0f / det;
            ar = (i00 * cr + i01 * cg + i02 * cb) * idet;
            ag = (i01 * cr + i11 * cg + i12 * cb) * idet;
            ab = (i02 * cr + i12 * cg + i22 * cb) * idet;
            o[0] = ar;
            o[1] = ag;
            o[2] = ab;
            o[3] = mp - ar * mr - ag * mg - ab * mb;
        }
    }
}

/* ---- box mean of a w x h x 4 field over clipped (2r+1)^2 windows (kernels/box.box_mean) ---- */

typedef struct box_ctx {
    const float *src;
    float *out;
    int w, h, r, step;
    float *scratch; /* per band: col (w * 4) + pre ((w + 1) * 4) */
} box_ctx;

static void box_band(void *vctx, int band) {
    box_ctx *k = (box_ctx *)vctx;
    const int C = 4;
    int w = k->w, h = k->h, r = k->r, wc = k->w * C;
    int y0 = band * k->step, y1 = em__mini(h, y0 + k->step), y, x, c, j, yy;
    float *col = k->scratch + (size_t)band * FIT_FLOATS(w);
    float *pre = col + (size_t)wc;
    if (y0 >= y1) return;
    memset(col, 0, sizeof(float) * (size_t)wc);
    memset(pre, 0, sizeof(float) * C);
    for (yy = em__maxi(0, y0 - r); yy <= em__mini(h - 1, y0 + r); yy++)
        for (j = 0; j < wc; j++) col[j] += k->src[(size_t)yy * wc + j];
    for (y = y0; y < y1; y++) {
        int ny;
        if (y > y0) {
            int yin = y + r, yout = y - r - 1;
            if (yin < h)
                for (j = 0; j < wc; j++) col[j] += k->src[(size_t)yin * wc + j];
            if (yout >= 0)
                for (j = 0; j < wc; j++) col[j] -= k->src[(size_t)yout * wc + j];
        }
        ny = em__mini(h - 1, y + r) - em__maxi(0, y - r) + 1;
        for (x = 0; x < w; x++)
            for (c = 0; c < C; c++) pre[(x + 1) * C + c] = pre[x * C + c] + col[x * C + c];
        for (x = 0; x < w; x++) {
            int xa = em__maxi(0, x - r), xb = em__mini(w - 1, x + r) + 1;
            float inv = 1.0f / (float)(ny * (xb - xa));
            for (c = 0; c < C; c++) k->out[(size_t)y * wc + x * C + c] = (pre[xb * C + c] - pre[xa * C + c]) * inv;
        }
    }
}

size_t em_guided_workspace_size(int w, int h) {
    int step, bands = em__bands(h, &step);
    return EM_ALIGN + em__need(sizeof(float) * (size_t)w * h * 4) +
           em__need(sizeof(float) * (size_t)bands * FIT_FLOATS(w));
}

em_status em_guided_coefficients(const em_image *work, const float *p, int radius, float eps, float *coef,
                                 void *workspace, size_t workspace_size, const em_threads *threads) {
    em_arena a;
    fit_ctx f;
    box_ctx b;
    int w, h, step, bands;
    float *raw, *scratch;
    if (work == NULL || p == NULL || coef == NULL || work->data == NULL || radius < 0) return EM_EINVAL;
    if (work->channels != 3 || work->width < 1 || work->height < 1 || work->stride < 3 * (ptrdiff_t)work->width)
        return EM_ESIZE;
    w = work->width, h = work->height;
    bands = em__bands(h, &step);
    em__arena_init(&a, workspace, workspace_size);
    raw = (float *)em__take(&a, sizeof(float) * (size_t)w * h * 4);
    scratch = (float *)em__take(&a, sizeof(float) * (size_t)bands * FIT_FLOATS(w));
    if (raw == NULL || scratch == NULL) return EM_EWORKSPACE;
    f.work = work, f.p = p, f.w = w, f.h = h, f.r = radius, f.step = step, f.eps = eps, f.out = raw;
    f.scratch = scratch;
    em__parallel(threads, bands, fit_band, &f);
    b.src = raw, b.out = coef, b.w = w, b.h = h, b.r = radius, b.step = step, b.scratch = scratch;
    em__parallel(threads, bands, box_band, &b);
    return EM_OK;
}

/* ---- hardness and contrast ---------------------------------------------------------------- */

size_t em_hardness_workspace_size(int w, int h) {
    return EM_ALIGN + 2 * em__need(sizeof(float) * (size_t)w * h) + em__need(sizeof(float) * (size_t)w);
}

em_status em_edge_hardness(const float *p, int w, int h, int window, float lo, float hi, float *hardness,
                           void *workspace, size_t workspace_size) {
    em_arena a;
    float *rmax, *rmin, *cmin;
    int x, y, j, half;
    float span;
    if (p == NULL || hardness == NULL || w < 1 || h < 1 || window < 1 || !(hi > lo)) return EM_EINVAL;
    em__arena_init(&a, workspace, workspace_size);
    rmax = (float *)em__take(&a, sizeof(float) * (size_t)w * h);
    rmin = (float *)em__take(&a, sizeof(float) * (size_t)w * h);
    cmin = (float *)em__take(&a, sizeof(float) * (size_t)w);
    if (rmax == NULL || rmin == NULL || cmin == NULL) return EM_EWORKSPACE;
    /* OpenCV's dilate/erode with a window x window box anchored at its centre, border ignored:
     * the window spans [x - (window-1)/2 ... x - (window-1)/2 + window - 1], clipped to the image.
     * Max and min are exact and separable; the window offset is the outer loop, so the loops over
     * x vectorise (v > m ? v : m is the max instruction's own rule). */
    half = (window - 1) / 2;
    for (y = 0; y < h; y++) {
        const float *row = p + (size_t)y * w;
        float *mx = rmax + (size_t)y * w, *mn = rmin + (size_t)y * w;
        for (x = 0; x < w; x++) mx[x] = mn[x] = row[x];
        for (j = -half; j <= window - 1 - half; j++) {
            int xs = j < 0 ? -j : 0, xe = j > 0 ? w - j : w;
            if (j == 0) continue;
            for (x = xs; x < xe; x++) {
                float v = row[x + j];
                mx[x] = v > mx[x] ? v : mx[x];
                mn[x] = v < mn[x] ? v : mn[x];
            }
        }
    }
    span = hi - lo;
    for (y = 0; y < h; y++) {
        int ya = em__maxi(0, y - half), yb = em__mini(h - 1, y - half + window - 1);
        float *vmax = hardness + (size_t)y * w; /* the column max accumulates in the output row */
        memcpy(vmax, rmax + (size_t)ya * w, sizeof(float) * (size_t)w);
        memcpy(cmin, rmin + (size_t)ya * w, sizeof(float) * (size_t)w);
        for (j = ya + 1; j <= yb; j++) {
            const float *a1 = rmax + (size_t)j * w, *b1 = rmin + (size_t)j * w;
            for (x = 0; x < w; x++) {
                vmax[x] = a1[x] > vmax[x] ? a1[x] : vmax[x];
                cmin[x] = b1[x] < cmin[x] ? b1[x] : cmin[x];
            }
        }
        for (x = 0; x < w; x++) vmax[x] = em__clampf((vmax[x] - cmin[x] - lo) / span, 0.0f, 1.0f);
    }
    return EM_OK;
}

void em_sharpen_hard_edges(float *coef, const float *hardness, size_t n, float gain) {
    size_t i;
    for (i = 0; i < n; i++) {
        float k = 1.0f + (gain - 1.0f) * hardness[i];
        coef[4 * i] *= k;
        coef[4 * i + 1] *= k;
        coef[4 * i + 2] *= k;
        coef[4 * i + 3] = coef[4 * i + 3] * k + 0.5f * (1.0f - k);
    }
}

/* ---- the coefficients applied at any size ------------------------------------------------- */

typedef struct apply_ctx {
    const em_image *image, *src_alpha;
    em_image *alpha;
    const float *coef;
    int cw, ch;
} apply_ctx;

static void apply_row(void *vctx, int y) {
    apply_ctx *k = (apply_ctx *)vctx;
    const em_image *im = k->image;
    int W = im->width, H = im->height, cw = k->cw, ch = k->ch, x, c;
    const uint8_t *row = im->data + (ptrdiff_t)y * im->stride;
    uint8_t *out = k->alpha->data + (ptrdiff_t)y * k->alpha->stride;
    const uint8_t *sa = k->src_alpha ? k->src_alpha->data + (ptrdiff_t)y * k->src_alpha->stride : NULL;
    const float inv255 = 1.0f / 255.0f;
    if (cw == W && ch == H) {
        /* the grid's own size: the bilinear weights are exactly 1 and 0, so this is the same
         * arithmetic without the three zero terms (x * 0 + y = y exactly for finite x) */
        const float *cr = k->coef + 4 * (size_t)y * cw;
        for (x = 0; x < W; x++) {
            const float *c0 = cr + 4 * x;
            float q = 0.0f, v;
            for (c = 0; c < 3; c++) q += c0[c] * ((float)row[3 * x + c] * inv255);
            q += c0[3];
            v = em__clampf(q * 255.0f, 0.0f, 255.0f);
            if (sa != NULL) v = v * (float)sa[x] * inv255;
            out[x] = (uint8_t)(v + 0.5f);
        }
        return;
    }
    double scy = (double)ch / (double)H, scx = (double)cw / (double)W;
    double sy = ((double)y + 0.5) * scy - 0.5;
    int ya, yb;
    float fy, gy;
    if (sy < 0.0) sy = 0.0;
    ya = (int)sy;
    if (ya > ch - 1) ya = ch - 1;
    yb = ya + 1 < ch - 1 ? ya + 1 : ch - 1;
    fy = (float)(sy - (double)ya);
    gy = 1.0f - fy;
    for (x = 0; x < W; x++) {
        double sx = ((double)x + 0.5) * scx - 0.5;
        int xa, xb;
        float fx, gx, w00, w01, w10, w11, q = 0.0f, v;
        const float *c00, *c01, *c10, *c11;
        if (sx < 0.0) sx = 0.0;
        xa = (int)sx;
        if (xa > cw - 1) xa = cw - 1;
        xb = xa + 1 < cw - 1 ? xa + 1 : cw - 1;
        fx = (float)(sx - (double)xa);
        gx = 1.0f - fx;
        w00 = gy * gx, w01 = gy * fx, w10 = fy * gx, w11 = fy * fx;
        c00 = k->coef + 4 * ((size_t)ya * cw + xa);
        c01 = k->coef + 4 * ((size_t)ya * cw + xb);
        c10 = k->coef + 4 * ((size_t)yb * cw + xa);
        c11 = k->coef + 4 * ((size_t)yb * cw + xb);
        for (c = 0; c < 3; c++) {
            float ac = w00 * c00[c] + w01 * c01[c] + w10 * c10[c] + w11 * c11[c];
            q += ac * ((float)row[3 * x + c] * inv255);
        }
        q += w00 * c00[3] + w01 * c01[3] + w10 * c10[3] + w11 * c11[3];
        v = em__clampf(q * 255.0f, 0.0f, 255.0f);
        if (sa != NULL) v = v * (float)sa[x] * inv255;
        out[x] = (uint8_t)(v + 0.5f);
    }
}

em_status em_apply_upsampled(const em_image *image, const float *coef, int cw, int ch,
                             const em_image *source_alpha, em_image *alpha, const em_threads *threads) {
    apply_ctx k;
    if (image == NULL || coef == NULL || alpha == NULL || image->data == NULL || alpha->data == NULL) return EM_EINVAL;
    if (image->channels != 3 || alpha->channels != 1 || alpha->width != image->width ||
        alpha->height != image->height || cw < 1 || ch < 1)
        return EM_ESIZE;
    if (source_alpha != NULL && (source_alpha->channels != 1 || source_alpha->width != image->width ||
                                 source_alpha->height != image->height))
        return EM_ESIZE;
    k.image = image, k.src_alpha = source_alpha, k.alpha = alpha, k.coef = coef, k.cw = cw, k.ch = ch;
    em__parallel(threads, image->height, apply_row, &k);
    return EM_OK;
}
