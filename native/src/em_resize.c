/* uint8 resizes bit-exact to the Python runtime's kernels/resize.py (which reproduces OpenCV 5.0's
 * cv2.resize INTER_AREA and INTER_LINEAR on the CPU). The definition, in short (resize.py's
 * docstring has it in full): per axis inv_scale = dst / src and scale = 1 / inv_scale in double;
 * an axis is integer when |scale - rint(scale)| < DBL_EPSILON.
 *   - same size: a copy;
 *   - AREA, shrinking both axes by integer factors: box sums, (s + 2) >> 2 for 2 x 2 (not for 2
 *     channels), else rint(float32(s) * (1.f / area));
 *   - AREA, shrinking otherwise: OpenCV's area tables (double maths, float32 weights), float32
 *     products and sums in table order, rint;
 *   - AREA enlarging an axis: LINEAR with "area" coordinates;
 *   - LINEAR: 2 x 2 integer shrink = the box; else 11-bit fixed point.
 * Only IEEE float32 and integer operations, in a fixed order: build with -ffp-contract=off and
 * without -ffast-math, and every platform gives the same bits. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "em_internal.h"

#define COEF_BITS 11
#define COEF_SCALE (1 << COEF_BITS)
#define MAX_RESIZE_BANDS 32

typedef struct axis_scale {
    double inv_scale, scale;
    int iscale, is_integer;
} axis_scale;

static axis_scale scales(int src_len, int dst_len) {
    axis_scale s;
    s.inv_scale = (double)dst_len / (double)src_len;
    s.scale = 1.0 / s.inv_scale;
    s.iscale = (int)lrint(s.scale); /* round half to even, as Python's round() and cvRound */
    s.is_integer = fabs(s.scale - (double)s.iscale) < DBL_EPSILON;
    return s;
}

static int resize_bands(int dh) {
    int n = dh / 8;
    if (n > MAX_RESIZE_BANDS) n = MAX_RESIZE_BANDS;
    return n < 1 ? 1 : n;
}

/* ---- the plan: which path, and the workspace it needs ------------------------------------- */

enum path { P_COPY, P_BOX, P_AREA, P_LINEAR };

typedef struct plan {
    int path, area_mode, ix, iy, shift2;
    axis_scale sx, sy;
} plan;

static plan make_plan(int W, int H, int dw, int dh, int C, int interpolation) {
    plan p;
    memset(&p, 0, sizeof p);
    p.sx = scales(W, dw);
    p.sy = scales(H, dh);
    if (W == dw && H == dh) {
        p.path = P_COPY;
    } else if (interpolation == EM_INTER_AREA && p.sx.scale >= 1.0 && p.sy.scale >= 1.0) {
        p.path = (p.sx.is_integer && p.sy.is_integer) ? P_BOX : P_AREA;
    } else if (interpolation == EM_INTER_LINEAR && p.sx.is_integer && p.sy.is_integer && p.sx.iscale == 2 &&
               p.sy.iscale == 2) {
        p.path = P_BOX;
    } else {
        p.path = P_LINEAR;
        p.area_mode = interpolation == EM_INTER_AREA;
    }
    if (p.path == P_BOX) {
        p.ix = p.sx.iscale;
        p.iy = p.sy.iscale;
        if (p.ix * dw != W || p.iy * dh != H) p.path = P_AREA; /* is_integer implies it; checked */
        p.shift2 = p.ix == 2 && p.iy == 2 && C != 2;
    }
    return p;
}

size_t em_resize_workspace_size(int src_width, int src_height, int dst_width, int dst_height, int channels,
                                int interpolation) {
    plan p;
    int bands = resize_bands(dst_height);
    size_t n = (size_t)dst_width * (size_t)channels;
    if (src_width < 1 || src_height < 1 || dst_width < 1 || dst_height < 1 || channels < 1) return 0;
    p = make_plan(src_width, src_height, dst_width, dst_height, channels, interpolation);
    switch (p.path) {
    case P_COPY:
        return 0;
    case P_BOX:
        return EM_ALIGN + (size_t)bands * em__need(sizeof(int32_t) * n);
    case P_AREA:
        return EM_ALIGN + em__need(sizeof(int32_t) * (size_t)(dst_width + 1)) +
               2 * em__need(sizeof(int32_t) * (size_t)(2 * src_width + 2)) +
               em__need(sizeof(int32_t) * (size_t)(dst_height + 1)) +
               2 * em__need(sizeof(int32_t) * (size_t)(2 * src_height + 2)) + (size_t)bands * em__need(sizeof(float) * n);
    default:
        return EM_ALIGN + 4 * em__need(sizeof(int32_t) * (size_t)dst_width) +
               4 * em__need(sizeof(int32_t) * (size_t)dst_height) + (size_t)bands * 2 * em__need(sizeof(int32_t) * n);
    }
}

/* ---- area tables (OpenCV's computeResizeAreaTab) ------------------------------------------ */

static void area_table(int src_len, int dst_len, double scale, int32_t *start, int32_t *src, float *wt) {
    int k = 0, d, s;
    for (d = 0; d < dst_len; d++) {
        double fs1 = (double)d * scale, fs2 = fs1 + scale;
        double cell = scale < (double)src_len - fs1 ? scale : (double)src_len - fs1;
        int s2 = (int)floor(fs2), s1;
        if (s2 > src_len - 1) s2 = src_len - 1;
        s1 = (int)ceil(fs1);
        if (s1 > s2) s1 = s2;
        start[d] = k;
        if ((double)s1 - fs1 > 1e-3) {
            src[k] = s1 - 1;
            wt[k] = (float)(((double)s1 - fs1) / cell);
            k++;
        }
        for (s = s1; s < s2; s++) {
            src[k] = s;
            wt[k] = (float)(1.0 / cell);
            k++;
        }
        if (fs2 - (double)s2 > 1e-3) {
            double t = fs2 - (double)s2;
            if (t > 1.0) t = 1.0;
            if (t > cell) t = cell;
            src[k] = s2;
            wt[k] = (float)(t / cell);
            k++;
        }
    }
    start[dst_len] = k;
}

/* ---- linear tables ------------------------------------------------------------------------ */

static void linear_axis(int dst_len, const axis_scale *a, int area_mode, int32_t *s_out, float *f_out) {
    int d;
    for (d = 0; d < dst_len; d++) {
        float f;
        double s;
        if (!area_mode) {
            f = (float)(((double)d + 0.5) * a->scale - 0.5);
            s = floor((double)f);
            f = f - (float)s;
        } else {
            s = floor((double)d * a->scale);
            f = (float)(((double)d + 1.0) - (s + 1.0) * a->inv_scale);
            f = f <= 0.0f ? 0.0f : f - floorf(f);
        }
        s_out[d] = (int32_t)s;
        f_out[d] = f;
    }
}

/* ---- kernels ------------------------------------------------------------------------------ */

typedef struct rs_ctx {
    const em_image *src;
    em_image *dst;
    const plan *p;
    int C, bands, step;
    uint8_t *scratch;
    size_t scratch_stride;
    /* area tables */
    const int32_t *xstart, *xsrc, *ystart, *ysrc;
    const float *xwt, *ywt;
    /* linear tables */
    const int32_t *xofs, *xw0, *xw1, *yofs, *yw0, *yw1;
    int xmax;
} rs_ctx;

static void box_band(void *vctx, int b) {
    rs_ctx *k = (rs_ctx *)vctx;
    int C = k->C, dw = k->dst->width, ix = k->p->ix, iy = k->p->iy, n = dw * C, dy, yy, dx, xx, c, i;
    int32_t *acc = (int32_t *)(k->scratch + (size_t)b * k->scratch_stride);
    float inv = 1.0f / (float)(ix * iy);
    for (dy = b * k->step; dy < em__mini(k->dst->height, (b + 1) * k->step); dy++) {
        uint8_t *o = k->dst->data + (ptrdiff_t)dy * k->dst->stride;
        memset(acc, 0, sizeof(int32_t) * (size_t)n);
        for (yy = dy * iy; yy < dy * iy + iy; yy++) {
            const uint8_t *row = k->src->data + (ptrdiff_t)yy * k->src->stride;
            for (dx = 0; dx < dw; dx++)
                for (xx = 0; xx < ix; xx++)
                    for (c = 0; c < C; c++) acc[dx * C + c] += row[(dx * ix + xx) * C + c];
        }
        if (k->p->shift2) {
            for (i = 0; i < n; i++) o[i] = (uint8_t)((acc[i] + 2) >> 2);
        } else {
            for (i = 0; i < n; i++) {
                long v = lrintf((float)acc[i] * inv);
                o[i] = (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v));
            }
        }
    }
}

static void area_band(void *vctx, int b) {
    rs_ctx *k = (rs_ctx *)vctx;
    int C = k->C, dw = k->dst->width, n = dw * C, dy, j, dx, c, kk, i;
    float *acc = (float *)(k->scratch + (size_t)b * k->scratch_stride);
    for (dy = b * k->step; dy < em__mini(k->dst->height, (b + 1) * k->step); dy++) {
        uint8_t *o = k->dst->data + (ptrdiff_t)dy * k->dst->stride;
        int j0 = k->ystart[dy];
        for (j = j0; j < k->ystart[dy + 1]; j++) {
            const uint8_t *row = k->src->data + (ptrdiff_t)k->ysrc[j] * k->src->stride;
            float beta = k->ywt[j];
            int first = j == j0;
            if (C == 3) { /* the common case, channels unrolled: the same operations in the same order */
                for (dx = 0; dx < dw; dx++) {
                    float t0 = 0.0f, t1 = 0.0f, t2 = 0.0f;
                    float *o3 = acc + 3 * dx;
                    for (kk = k->xstart[dx]; kk < k->xstart[dx + 1]; kk++) {
                        const uint8_t *px = row + 3 * k->xsrc[kk];
                        float wgt = k->xwt[kk];
                        t0 = t0 + (float)px[0] * wgt;
                        t1 = t1 + (float)px[1] * wgt;
                        t2 = t2 + (float)px[2] * wgt;
                    }
                    if (first) {
                        o3[0] = beta * t0, o3[1] = beta * t1, o3[2] = beta * t2;
                    } else {
                        o3[0] = o3[0] + beta * t0, o3[1] = o3[1] + beta * t1, o3[2] = o3[2] + beta * t2;
                    }
                }
                continue;
            }
            for (dx = 0; dx < dw; dx++)
                for (c = 0; c < C; c++) {
                    float t = 0.0f;
                    for (kk = k->xstart[dx]; kk < k->xstart[dx + 1]; kk++) t = t + (float)row[k->xsrc[kk] * C + c] * k->xwt[kk];
                    acc[dx * C + c] = first ? beta * t : acc[dx * C + c] + beta * t;
                }
        }
        for (i = 0; i < n; i++) {
            long v = lrintf(acc[i]);
            o[i] = (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v));
        }
    }
}

static void row_pass(const rs_ctx *k, int r, int32_t *h) {
    const uint8_t *row = k->src->data + (ptrdiff_t)r * k->src->stride;
    int C = k->C, dw = k->dst->width, dx, c;
    for (dx = 0; dx < dw; dx++) {
        int s0 = k->xofs[dx] * C;
        if (dx < k->xmax) {
            int32_t a0 = k->xw0[dx], a1 = k->xw1[dx];
            for (c = 0; c < C; c++) h[dx * C + c] = (int32_t)row[s0 + c] * a0 + (int32_t)row[s0 + C + c] * a1;
        } else {
            for (c = 0; c < C; c++) h[dx * C + c] = (int32_t)row[s0 + c] * COEF_SCALE;
        }
    }
}

static void linear_band(void *vctx, int b) {
    rs_ctx *k = (rs_ctx *)vctx;
    int H = k->src->height, n = k->dst->width * k->C, dy, i, ra = -1, rb = -1;
    int32_t *ha = (int32_t *)(k->scratch + (size_t)b * k->scratch_stride), *hb = ha + n;
    for (dy = b * k->step; dy < em__mini(k->dst->height, (b + 1) * k->step); dy++) {
        int r0 = em__mini(em__maxi(k->yofs[dy], 0), H - 1), r1 = em__mini(em__maxi(k->yofs[dy] + 1, 0), H - 1);
        const int32_t *h0, *h1;
        int32_t b0 = k->yw0[dy], b1 = k->yw1[dy];
        uint8_t *o = k->dst->data + (ptrdiff_t)dy * k->dst->stride;
        if (r0 != ra && r0 != rb) {
            if (rb == r1) {
                row_pass(k, r0, ha);
                ra = r0;
            } else {
                row_pass(k, r0, hb);
                rb = r0;
            }
        }
        if (r1 != ra && r1 != rb) {
            if (ra == r0) {
                row_pass(k, r1, hb);
                rb = r1;
            } else {
                row_pass(k, r1, ha);
                ra = r1;
            }
        }
        h0 = ra == r0 ? ha : hb;
        h1 = ra == r1 ? ha : hb;
        for (i = 0; i < n; i++) {
            int32_t v = (((b0 * (h0[i] >> 4)) >> 16) + ((b1 * (h1[i] >> 4)) >> 16) + 2) >> 2;
            o[i] = (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v));
        }
    }
}

em_status em_resize_u8(const em_image *src, em_image *dst, int interpolation, void *workspace, size_t workspace_size) {
    return em__resize_threads(src, dst, interpolation, workspace, workspace_size, NULL);
}

em_status em__resize_threads(const em_image *src, em_image *dst, int interpolation, void *workspace,
                             size_t workspace_size, const em_threads *threads) {
    em_arena a;
    rs_ctx k;
    plan p;
    int W, H, dw, dh, C, y, i;
    size_t n;
    if (src == NULL || dst == NULL || src->data == NULL || dst->data == NULL) return EM_EINVAL;
    if (interpolation != EM_INTER_AREA && interpolation != EM_INTER_LINEAR) return EM_EINVAL;
    W = src->width, H = src->height, dw = dst->width, dh = dst->height, C = src->channels;
    if (W < 1 || H < 1 || dw < 1 || dh < 1 || C < 1 || C > 4 || dst->channels != C ||
        src->stride < (ptrdiff_t)W * C || dst->stride < (ptrdiff_t)dw * C)
        return EM_ESIZE;
    if (workspace_size < em_resize_workspace_size(W, H, dw, dh, C, interpolation)) return EM_EWORKSPACE;
    p = make_plan(W, H, dw, dh, C, interpolation);
    if (p.path == P_COPY) {
        for (y = 0; y < H; y++)
            memcpy(dst->data + (ptrdiff_t)y * dst->stride, src->data + (ptrdiff_t)y * src->stride, (size_t)W * C);
        return EM_OK;
    }
    memset(&k, 0, sizeof k);
    em__arena_init(&a, workspace, workspace_size);
    n = (size_t)dw * C;
    k.src = src, k.dst = dst, k.p = &p, k.C = C, k.bands = resize_bands(dh);
    k.step = (dh + k.bands - 1) / k.bands;
    if (p.path == P_BOX) {
        k.scratch_stride = em__need(sizeof(int32_t) * n);
        k.scratch = (uint8_t *)em__take(&a, k.scratch_stride * (size_t)k.bands);
        if (k.scratch == NULL) return EM_EWORKSPACE;
        em__parallel(threads, k.bands, box_band, &k);
        return EM_OK;
    }
    if (p.path == P_AREA) {
        int32_t *xs = (int32_t *)em__take(&a, sizeof(int32_t) * (size_t)(dw + 1));
        int32_t *xi = (int32_t *)em__take(&a, sizeof(int32_t) * (size_t)(2 * W + 2));
        float *xw = (float *)em__take(&a, sizeof(float) * (size_t)(2 * W + 2));
        int32_t *ys = (int32_t *)em__take(&a, sizeof(int32_t) * (size_t)(dh + 1));
        int32_t *yi = (int32_t *)em__take(&a, sizeof(int32_t) * (size_t)(2 * H + 2));
        float *yw = (float *)em__take(&a, sizeof(float) * (size_t)(2 * H + 2));
        k.scratch_stride = em__need(sizeof(float) * n);
        k.scratch = (uint8_t *)em__take(&a, k.scratch_stride * (size_t)k.bands);
        if (!xs || !xi || !xw || !ys || !yi || !yw || !k.scratch) return EM_EWORKSPACE;
        area_table(W, dw, p.sx.scale, xs, xi, xw);
        area_table(H, dh, p.sy.scale, ys, yi, yw);
        k.xstart = xs, k.xsrc = xi, k.xwt = xw, k.ystart = ys, k.ysrc = yi, k.ywt = yw;
        em__parallel(threads, k.bands, area_band, &k);
        return EM_OK;
    }
    {
        int32_t *xofs = (int32_t *)em__take(&a, sizeof(int32_t) * (size_t)dw);
        int32_t *xw0 = (int32_t *)em__take(&a, sizeof(int32_t) * (size_t)dw);
        int32_t *xw1 = (int32_t *)em__take(&a, sizeof(int32_t) * (size_t)dw);
        int32_t *yofs = (int32_t *)em__take(&a, sizeof(int32_t) * (size_t)dh);
        int32_t *yw0 = (int32_t *)em__take(&a, sizeof(int32_t) * (size_t)dh);
        int32_t *yw1 = (int32_t *)em__take(&a, sizeof(int32_t) * (size_t)dh);
        float *fx = (float *)em__take(&a, sizeof(float) * (size_t)dw);
        float *fy = (float *)em__take(&a, sizeof(float) * (size_t)dh);
        k.scratch_stride = 2 * em__need(sizeof(int32_t) * n);
        k.scratch = (uint8_t *)em__take(&a, k.scratch_stride * (size_t)k.bands);
        if (!xofs || !xw0 || !xw1 || !yofs || !yw0 || !yw1 || !fx || !fy || !k.scratch) return EM_EWORKSPACE;
        linear_axis(dw, &p.sx, p.area_mode, xofs, fx);
        linear_axis(dh, &p.sy, p.area_mode, yofs, fy);
        k.xmax = dw;
        for (i = 0; i < dw; i++) {
            if (xofs[i] < 0) xofs[i] = 0, fx[i] = 0.0f;
            if (k.xmax == dw && xofs[i] + 1 >= W) k.xmax = i;
            if (xofs[i] >= W - 1) xofs[i] = W - 1, fx[i] = 0.0f;
        }
        for (i = 0; i < dw; i++) {
            float f = fx[i];
            xw0[i] = (int16_t)lrintf((1.0f - f) * (float)COEF_SCALE);
            xw1[i] = (int16_t)lrintf(f * (float)COEF_SCALE);
        }
        for (i = 0; i < dh; i++) {
            float f = fy[i];
            yw0[i] = (int16_t)lrintf((1.0f - f) * (float)COEF_SCALE);
            yw1[i] = (int16_t)lrintf(f * (float)COEF_SCALE);
        }
        k.xofs = xofs, k.xw0 = xw0, k.xw1 = xw1, k.yofs = yofs, k.yw0 = yw0, k.yw1 = yw1;
        em__parallel(threads, k.bands, linear_band, &k);
    }
    return EM_OK;
}
