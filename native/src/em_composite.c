/* The compose stage: a cut-out over a colour or an image, and the live path's fused pass.
 * Mirrors kernels/composite.py: out = (a F + (255 - a) B + 127) / 255 in integers. */
#include <string.h>

#include "em_internal.h"

typedef struct comp_ctx {
    const em_image *fg, *alpha, *bg;
    em_image *out;
    const uint8_t *colour;
} comp_ctx;

static void comp_row(void *vctx, int y) {
    comp_ctx *k = (comp_ctx *)vctx;
    const uint8_t *f = k->fg->data + (ptrdiff_t)y * k->fg->stride;
    const uint8_t *al = k->alpha ? k->alpha->data + (ptrdiff_t)y * k->alpha->stride : f + 3;
    const uint8_t *b = k->bg ? k->bg->data + (ptrdiff_t)y * k->bg->stride : NULL;
    uint8_t *o = k->out->data + (ptrdiff_t)y * k->out->stride;
    int fc = k->fg->channels, ac = k->alpha ? 1 : 4, x, c;
    for (x = 0; x < k->fg->width; x++) {
        int32_t a = al[ac * x];
        for (c = 0; c < 3; c++) {
            int32_t back = b ? b[3 * x + c] : k->colour[c];
            o[3 * x + c] = (uint8_t)((a * (int32_t)f[fc * x + c] + (255 - a) * back + 127) / 255);
        }
    }
}

static em_status check_comp(const em_image *fg, const em_image *alpha, const em_image *out) {
    if (fg == NULL || out == NULL || fg->data == NULL || out->data == NULL) return EM_EINVAL;
    if ((fg->channels != 3 && fg->channels != 4) || out->channels != 3 || out->width != fg->width ||
        out->height != fg->height)
        return EM_ESIZE;
    if (alpha == NULL && fg->channels != 4) return EM_ESIZE;
    if (alpha != NULL && (alpha->channels != 1 || alpha->width != fg->width || alpha->height != fg->height ||
                          alpha->data == NULL || alpha->stride < alpha->width))
        return EM_ESIZE;
    if (fg->stride < (ptrdiff_t)fg->width * fg->channels || out->stride < 3 * (ptrdiff_t)out->width) return EM_ESIZE;
    return EM_OK;
}

em_status em_composite_colour(const em_image *fg, const em_image *alpha, const uint8_t colour[3], em_image *out,
                              const em_threads *threads) {
    comp_ctx k;
    em_status st = check_comp(fg, alpha, out);
    if (st != EM_OK) return st;
    if (colour == NULL) return EM_EINVAL;
    k.fg = fg, k.alpha = alpha, k.bg = NULL, k.out = out, k.colour = colour;
    em__parallel(threads, fg->height, comp_row, &k);
    return EM_OK;
}

em_status em_composite_image(const em_image *fg, const em_image *alpha, const em_image *bg, em_image *out,
                             const em_threads *threads) {
    comp_ctx k;
    em_status st = check_comp(fg, alpha, out);
    if (st != EM_OK) return st;
    if (bg == NULL || bg->data == NULL) return EM_EINVAL;
    if (bg->channels != 3 || bg->width != fg->width || bg->height != fg->height) return EM_ESIZE;
    k.fg = fg, k.alpha = alpha, k.bg = bg, k.out = out, k.colour = NULL;
    em__parallel(threads, fg->height, comp_row, &k);
    return EM_OK;
}

/* ---- the live path's fused pass ----------------------------------------------------------- */

typedef struct cells_ctx {
    const em_image *frame, *bg;
    em_image *out;
    const float *coef;
    const uint8_t *state;
    int cw, ch;
    const int32_t *y0, *y1, *x0, *x1, *cell_y, *starts;
    const float *wy, *wx;
} cells_ctx;

static void cells_row(void *vctx, int y) {
    cells_ctx *k = (cells_ctx *)vctx;
    const uint8_t *fr = k->frame->data + (ptrdiff_t)y * k->frame->stride;
    const uint8_t *bg = k->bg->data + (ptrdiff_t)y * k->bg->stride;
    uint8_t *o = k->out->data + (ptrdiff_t)y * k->out->stride;
    const uint8_t *srow = k->state + (size_t)k->cell_y[y] * k->cw;
    const float inv255 = 1.0f / 255.0f, one = 1.0f;
    int cw = k->cw, ya = k->y0[y], yb = k->y1[y], cx, x, c;
    float fy = k->wy[y], gy = one - fy;
    for (cx = 0; cx < cw; cx++) {
        int st = srow[cx], xs = k->starts[cx], xe = k->starts[cx + 1];
        if (st == EM_SOLID_OPAQUE || st == EM_SOLID_CLEAR) {
            memcpy(o + 3 * xs, (st == EM_SOLID_OPAQUE ? fr : bg) + 3 * xs, 3 * (size_t)(xe - xs));
            continue;
        }
        for (x = xs; x < xe; x++) {
            int xa = k->x0[x], xb = k->x1[x];
            float fx = k->wx[x], gx = one - fx, w00 = gy * gx, w01 = gy * fx, w10 = fy * gx, w11 = fy * fx, q;
            const float *c00 = k->coef + 4 * ((size_t)ya * cw + xa), *c01 = k->coef + 4 * ((size_t)ya * cw + xb);
            const float *c10 = k->coef + 4 * ((size_t)yb * cw + xa), *c11 = k->coef + 4 * ((size_t)yb * cw + xb);
            q = w00 * c00[3] + w01 * c01[3] + w10 * c10[3] + w11 * c11[3];
            for (c = 0; c < 3; c++) {
                float ac = w00 * c00[c] + w01 * c01[c] + w10 * c10[c] + w11 * c11[c];
                q += ac * ((float)fr[3 * x + c] * inv255);
            }
            q = em__clampf(q, 0.0f, one);
            for (c = 0; c < 3; c++) o[3 * x + c] = (uint8_t)(q * (float)fr[3 * x + c] + (one - q) * (float)bg[3 * x + c] + 0.5f);
        }
    }
}

size_t em_composite_cells_workspace_size(int width, int height, int cw) {
    return EM_ALIGN + 4 * em__need(sizeof(int32_t) * (size_t)height) + 4 * em__need(sizeof(int32_t) * (size_t)width) +
           em__need(sizeof(int32_t) * (size_t)(cw + 1));
}

em_status em_composite_cells(const em_image *frame, const float *coef, int cw, int ch, const uint8_t *state,
                             const em_image *bg, em_image *out, void *workspace, size_t workspace_size,
                             const em_threads *threads) {
    em_arena a;
    cells_ctx k;
    int32_t *y0, *y1, *x0, *x1, *cy, *cx, *starts;
    float *wy, *wx;
    int W, H;
    if (frame == NULL || coef == NULL || state == NULL || bg == NULL || out == NULL) return EM_EINVAL;
    W = frame->width, H = frame->height;
    if (frame->channels != 3 || bg->channels != 3 || out->channels != 3 || bg->width != W || bg->height != H ||
        out->width != W || out->height != H || cw < 1 || ch < 1)
        return EM_ESIZE;
    em__arena_init(&a, workspace, workspace_size);
    y0 = (int32_t *)em__take(&a, sizeof(int32_t) * (size_t)H);
    y1 = (int32_t *)em__take(&a, sizeof(int32_t) * (size_t)H);
    wy = (float *)em__take(&a, sizeof(float) * (size_t)H);
    cy = (int32_t *)em__take(&a, sizeof(int32_t) * (size_t)H);
    x0 = (int32_t *)em__take(&a, sizeof(int32_t) * (size_t)W);
    x1 = (int32_t *)em__take(&a, sizeof(int32_t) * (size_t)W);
    wx = (float *)em__take(&a, sizeof(float) * (size_t)W);
    cx = (int32_t *)em__take(&a, sizeof(int32_t) * (size_t)W);
    starts = (int32_t *)em__take(&a, sizeof(int32_t) * (size_t)(cw + 1));
    if (!y0 || !y1 || !wy || !cy || !x0 || !x1 || !wx || !cx || !starts) return EM_EWORKSPACE;
    em__axis_weights(H, ch, y0, y1, wy);
    em__axis_weights(W, cw, x0, x1, wx);
    em__nearest_cells(H, ch, cy);
    em__nearest_cells(W, cw, cx);
    em__cell_starts(W, cw, cx, starts);
    k.frame = frame, k.bg = bg, k.out = out, k.coef = coef, k.state = state, k.cw = cw, k.ch = ch;
    k.y0 = y0, k.y1 = y1, k.x0 = x0, k.x1 = x1, k.cell_y = cy, k.starts = starts, k.wy = wy, k.wx = wx;
    em__parallel(threads, H, cells_row, &k);
    return EM_OK;
}

void em_temporal_smooth(float *map, float *state, size_t n, float smoothing, int has_state) {
    size_t i;
    if (has_state && smoothing > 0.0f)
        for (i = 0; i < n; i++) map[i] = smoothing * state[i] + (1.0f - smoothing) * map[i];
    memcpy(state, map, sizeof(float) * n);
}
