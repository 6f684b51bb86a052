/* The cut-out stage: the working grid's cell states and the one full-resolution pass that writes
 * alpha and foreground colours into the RGBA cut-out. Mirrors kernels/cutout.py. */
#include <string.h>

#include "em_internal.h"

em_status em_cell_state(const em_image *alpha_work, uint8_t *state) {
    int w, h, x, y, j;
    if (alpha_work == NULL || state == NULL || alpha_work->data == NULL) return EM_EINVAL;
    if (alpha_work->channels != 1 || alpha_work->width < 1 || alpha_work->height < 1) return EM_ESIZE;
    w = alpha_work->width, h = alpha_work->height;
    /* per pixel two flags, "255 in the whole 3 x 3 neighbourhood" and "0 in it" (a 3 x 3 erosion
     * with the border replicated, as cv2.erode is called), computed separably: rows, then
     * columns, in the state buffer itself (bit 0: all 255, bit 1: all 0). */
    for (y = 0; y < h; y++) {
        const uint8_t *row = alpha_work->data + (ptrdiff_t)y * alpha_work->stride;
        uint8_t *st = state + (size_t)y * w;
        for (x = 0; x < w; x++) {
            int xa = x > 0 ? x - 1 : 0, xb = x < w - 1 ? x + 1 : w - 1, op = 1, cl = 1;
            for (j = xa; j <= xb; j++) op &= row[j] == 255, cl &= row[j] == 0;
            st[x] = (uint8_t)(op | (cl << 1));
        }
    }
    for (x = 0; x < w; x++) {
        uint8_t up = state[x]; /* the row flags of the row above, read before it is overwritten */
        for (y = 0; y < h; y++) {
            uint8_t here = state[(size_t)y * w + x];
            uint8_t down = y < h - 1 ? state[(size_t)(y + 1) * w + x] : here;
            uint8_t f = (uint8_t)(up & here & down);
            up = here;
            state[(size_t)y * w + x] = (f & 2) ? EM_SOLID_CLEAR : ((f & 1) ? EM_SOLID_OPAQUE : EM_MIXED);
        }
    }
    return EM_OK;
}

/* Sampling tables of the full-resolution passes: bilinear weights onto the coefficient grid and
 * the means grid, and which cell each pixel belongs to. */
typedef struct tables {
    int32_t *y0, *y1, *x0, *x1, *my0, *my1, *mx0, *mx1, *cell_y, *cells_x, *starts;
    float *wy, *wx, *mwy, *mwx;
} tables;

static size_t tables_size(int W, int H, int cw) {
    return 6 * em__need(sizeof(int32_t) * (size_t)H) + 6 * em__need(sizeof(int32_t) * (size_t)W) +
           em__need(sizeof(int32_t) * (size_t)(cw + 1));
}

static int tables_init(tables *t, em_arena *a, int W, int H, int cw, int ch, int mw, int mh) {
    t->y0 = (int32_t *)em__take(a, sizeof(int32_t) * (size_t)H);
    t->y1 = (int32_t *)em__take(a, sizeof(int32_t) * (size_t)H);
    t->wy = (float *)em__take(a, sizeof(float) * (size_t)H);
    t->my0 = (int32_t *)em__take(a, sizeof(int32_t) * (size_t)H);
    t->my1 = (int32_t *)em__take(a, sizeof(int32_t) * (size_t)H);
    t->mwy = (float *)em__take(a, sizeof(float) * (size_t)H);
    t->x0 = (int32_t *)em__take(a, sizeof(int32_t) * (size_t)W);
    t->x1 = (int32_t *)em__take(a, sizeof(int32_t) * (size_t)W);
    t->wx = (float *)em__take(a, sizeof(float) * (size_t)W);
    t->mx0 = (int32_t *)em__take(a, sizeof(int32_t) * (size_t)W);
    t->mx1 = (int32_t *)em__take(a, sizeof(int32_t) * (size_t)W);
    t->mwx = (float *)em__take(a, sizeof(float) * (size_t)W);
    t->starts = (int32_t *)em__take(a, sizeof(int32_t) * (size_t)(cw + 1));
    if (!t->y0 || !t->y1 || !t->wy || !t->my0 || !t->my1 || !t->mwy || !t->x0 || !t->x1 || !t->wx || !t->mx0 ||
        !t->mx1 || !t->mwx || !t->starts)
        return 0;
    em__axis_weights(H, ch, t->y0, t->y1, t->wy);
    em__axis_weights(W, cw, t->x0, t->x1, t->wx);
    em__axis_weights(H, mh, t->my0, t->my1, t->mwy);
    em__axis_weights(W, mw, t->mx0, t->mx1, t->mwx);
    return 1;
}

size_t em_cutout_workspace_size(int width, int height, int cw, int ch, int mw, int mh) {
    /* axis tables (coef and means grids, both axes), cell rows, cell columns and their starts */
    (void)ch, (void)mw, (void)mh;
    return EM_ALIGN + tables_size(width, height, cw) + em__need(sizeof(int32_t) * (size_t)height) +
           em__need(sizeof(int32_t) * (size_t)width);
}

typedef struct cut_ctx {
    const em_image *image, *src_alpha;
    em_image *rgba;
    const float *coef, *means;
    const uint8_t *state;
    int cw, ch, mw, mh, estimate;
    tables t;
} cut_ctx;

static void cut_row(void *vctx, int y) {
    cut_ctx *k = (cut_ctx *)vctx;
    const tables *t = &k->t;
    const uint8_t *row = k->image->data + (ptrdiff_t)y * k->image->stride;
    uint8_t *out = k->rgba->data + (ptrdiff_t)y * k->rgba->stride;
    const uint8_t *sa = k->src_alpha ? k->src_alpha->data + (ptrdiff_t)y * k->src_alpha->stride : NULL;
    const uint8_t *srow = k->state + (size_t)t->cell_y[y] * k->cw;
    const float inv255 = 1.0f / 255.0f, one = 1.0f;
    int cw = k->cw, mw = k->mw, ya = t->y0[y], yb = t->y1[y], mya = t->my0[y], myb = t->my1[y], cx, x, c;
    float fy = t->wy[y], gy = one - fy, mfy = t->mwy[y], mgy = one - mfy;
    for (cx = 0; cx < cw; cx++) {
        int st = srow[cx], xs = t->starts[cx], xe = t->starts[cx + 1];
        if (st == EM_SOLID_OPAQUE) {
            for (x = xs; x < xe; x++) {
                out[4 * x] = row[3 * x];
                out[4 * x + 1] = row[3 * x + 1];
                out[4 * x + 2] = row[3 * x + 2];
                out[4 * x + 3] = sa != NULL ? sa[x] : 255;
            }
            continue;
        }
        if (st == EM_SOLID_CLEAR) {
            memset(out + 4 * xs, 0, 4 * (size_t)(xe - xs));
            continue;
        }
        for (x = xs; x < xe; x++) {
            int xa = t->x0[x], xb = t->x1[x];
            float fx = t->wx[x], gx = one - fx;
            float w00 = gy * gx, w01 = gy * fx, w10 = fy * gx, w11 = fy * fx, q, v, a;
            const float *c00 = k->coef + 4 * ((size_t)ya * cw + xa), *c01 = k->coef + 4 * ((size_t)ya * cw + xb);
            const float *c10 = k->coef + 4 * ((size_t)yb * cw + xa), *c11 = k->coef + 4 * ((size_t)yb * cw + xb);
            uint8_t av;
            q = w00 * c00[3] + w01 * c01[3] + w10 * c10[3] + w11 * c11[3];
            for (c = 0; c < 3; c++) {
                float ac = w00 * c00[c] + w01 * c01[c] + w10 * c10[c] + w11 * c11[c];
                q += ac * ((float)row[3 * x + c] * inv255);
            }
            v = em__clampf(q * 255.0f, 0.0f, 255.0f);
            if (sa != NULL) v = v * (float)sa[x] * inv255;
            av = (uint8_t)(v + 0.5f);
            out[4 * x] = row[3 * x];
            out[4 * x + 1] = row[3 * x + 1];
            out[4 * x + 2] = row[3 * x + 2];
            out[4 * x + 3] = av;
            if (!k->estimate || av == 255) continue;
            a = (float)av * inv255;
            {
                int mxa = t->mx0[x], mxb = t->mx1[x];
                float mfx = t->mwx[x], mgx = one - mfx;
                float m00 = mgy * mgx, m01 = mgy * mfx, m10 = mfy * mgx, m11 = mfy * mfx;
                const float *n00 = k->means + 6 * ((size_t)mya * mw + mxa), *n01 = k->means + 6 * ((size_t)mya * mw + mxb);
                const float *n10 = k->means + 6 * ((size_t)myb * mw + mxa), *n11 = k->means + 6 * ((size_t)myb * mw + mxb);
                for (c = 0; c < 3; c++) {
                    float f = m00 * n00[c] + m01 * n01[c] + m10 * n10[c] + m11 * n11[c], e;
                    if (av == 0) {
                        e = f;
                    } else {
                        float b = m00 * n00[3 + c] + m01 * n01[3 + c] + m10 * n10[3 + c] + m11 * n11[3 + c];
                        e = f + a * ((float)row[3 * x + c] * inv255 - a * f - (one - a) * b);
                    }
                    out[4 * x + c] = (uint8_t)em__clampf(e * 255.0f + 0.5f, 0.0f, 255.0f);
                }
            }
        }
    }
}

em_status em_cutout_rgba(const em_image *image, em_image *rgba, const float *coef, int cw, int ch,
                         const float *means, int mw, int mh, const uint8_t *state, const em_image *source_alpha,
                         int estimate, void *workspace, size_t workspace_size, const em_threads *threads) {
    em_arena a;
    cut_ctx k;
    int W, H;
    if (image == NULL || rgba == NULL || coef == NULL || state == NULL || image->data == NULL || rgba->data == NULL)
        return EM_EINVAL;
    if (estimate && means == NULL) return EM_EINVAL;
    W = image->width, H = image->height;
    if (image->channels != 3 || rgba->channels != 4 || rgba->width != W || rgba->height != H || cw < 1 || ch < 1)
        return EM_ESIZE;
    if (source_alpha != NULL && (source_alpha->channels != 1 || source_alpha->width != W || source_alpha->height != H))
        return EM_ESIZE;
    if (!estimate) mw = 1, mh = 1;
    em__arena_init(&a, workspace, workspace_size);
    if (!tables_init(&k.t, &a, W, H, cw, ch, mw, mh)) return EM_EWORKSPACE;
    k.t.cell_y = (int32_t *)em__take(&a, sizeof(int32_t) * (size_t)H);
    k.t.cells_x = (int32_t *)em__take(&a, sizeof(int32_t) * (size_t)W);
    if (k.t.cell_y == NULL || k.t.cells_x == NULL) return EM_EWORKSPACE;
    em__nearest_cells(H, ch, k.t.cell_y);
    em__nearest_cells(W, cw, k.t.cells_x);
    em__cell_starts(W, cw, k.t.cells_x, k.t.starts);
    k.image = image, k.src_alpha = source_alpha, k.rgba = rgba, k.coef = coef, k.means = means, k.state = state;
    k.cw = cw, k.ch = ch, k.mw = mw, k.mh = mh, k.estimate = estimate;
    em__parallel(threads, H, cut_row, &k);
    return EM_OK;
}
