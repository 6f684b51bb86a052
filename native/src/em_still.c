/* The paths, stage by stage, in the order still.py and video.py run them: settings defaults,
 * prepare (working image, model input), the model map, and everything after the model. */
#include <math.h>
#include <string.h>

#include "em_internal.h"

/* ---- settings: runtime/edgematte/settings.py ---------------------------------------------- */

static void refine_default(em_refine_settings *r) {
    r->radius = 2;
    r->eps = 1e-4f;
    r->alpha_gain = 4.0f;
    r->hard_window = 9;
    r->hard_lo = 0.2f;
    r->hard_hi = 0.8f;
}

void em_still_settings_default(em_still_settings *s, int matting) {
    if (s == NULL) return;
    s->work_long_side = 640;
    s->normalise_peak = matting ? 0 : 1;
    s->peak_floor = 0.25f;
    refine_default(&s->refine);
    if (matting) {
        s->refine.eps = 1e-3f;
        s->refine.alpha_gain = 1.0f;
    }
    s->foreground.enabled = 1;
    s->foreground.scale = 0.5;
    s->foreground.radius_fraction = 0.07;
    s->foreground.fine_radius_fraction = 0.0125;
    s->foreground.eps = 1e-4f;
}

void em_live_settings_default(em_live_settings *s) {
    if (s == NULL) return;
    s->work_long_side = 256;
    refine_default(&s->refine);
    s->refine.eps = 1e-3f;
    s->refine.alpha_gain = 1.0f;
    s->smoothing = 0.5f;
}

/* ---- prepare ------------------------------------------------------------------------------ */

void em_work_size(int width, int height, int long_side, int *work_width, int *work_height) {
    int side = width > height ? width : height;
    double scale = (double)long_side / (double)side;
    if (scale > 1.0) scale = 1.0;
    *work_width = em__maxi(1, em__round_half_even((double)width * scale));
    *work_height = em__maxi(1, em__round_half_even((double)height * scale));
}

static int valid_image(const em_image *im, int channels) {
    return im != NULL && im->data != NULL && im->width >= 1 && im->height >= 1 && im->channels == channels &&
           im->stride >= (ptrdiff_t)im->width * channels;
}

size_t em_working_workspace_size(int photo_width, int photo_height, int work_width, int work_height) {
    size_t rgb = em_resize_workspace_size(photo_width, photo_height, work_width, work_height, 3, EM_INTER_AREA);
    size_t alpha = EM_ALIGN + em__need((size_t)work_width * work_height) +
                   em_resize_workspace_size(photo_width, photo_height, work_width, work_height, 1, EM_INTER_AREA);
    return rgb > alpha ? rgb : alpha;
}

em_status em_working_image(const em_image *photo, const em_image *photo_alpha, em_image *work, void *workspace,
                           size_t workspace_size, const em_threads *threads) {
    static const uint8_t white[3] = {255, 255, 255};
    em_status st;
    int y, same;
    if (photo == NULL || work == NULL) return EM_EINVAL;
    if (!valid_image(photo, 3) || !valid_image(work, 3)) return EM_ESIZE;
    if (photo_alpha != NULL &&
        (!valid_image(photo_alpha, 1) || photo_alpha->width != photo->width || photo_alpha->height != photo->height))
        return EM_ESIZE;
    same = work->width == photo->width && work->height == photo->height;
    if (same) {
        for (y = 0; y < photo->height; y++)
            memcpy(work->data + (ptrdiff_t)y * work->stride, photo->data + (ptrdiff_t)y * photo->stride,
                   3 * (size_t)photo->width);
    } else {
        st = em__resize_threads(photo, work, EM_INTER_AREA, workspace, workspace_size, threads);
        if (st != EM_OK) return st;
    }
    if (photo_alpha != NULL) {
        /* transparent source pixels show white to the model: the colour under them is arbitrary */
        em_arena a;
        em_image small;
        const em_image *al = photo_alpha;
        if (!same) {
            size_t rs = em_resize_workspace_size(photo->width, photo->height, work->width, work->height, 1,
                                                 EM_INTER_AREA);
            uint8_t *buf;
            em__arena_init(&a, workspace, workspace_size);
            buf = (uint8_t *)em__take(&a, (size_t)work->width * work->height);
            if (buf == NULL || a.size - a.used < rs) return EM_EWORKSPACE;
            small.data = buf, small.width = work->width, small.height = work->height, small.channels = 1;
            small.stride = work->width;
            st = em__resize_threads(photo_alpha, &small, EM_INTER_AREA, a.base + a.used, a.size - a.used, threads);
            if (st != EM_OK) return st;
            al = &small;
        }
        st = em_composite_colour(work, al, white, work, threads);
        if (st != EM_OK) return st;
    }
    return EM_OK;
}

size_t em_prepare_workspace_size(int work_width, int work_height, int model_width, int model_height) {
    /* the resized image before padding, plus the larger of the two resizes' scratch */
    size_t area = em_resize_workspace_size(work_width, work_height, model_width, model_height, 3, EM_INTER_AREA);
    size_t lin = em_resize_workspace_size(work_width, work_height, model_width, model_height, 3, EM_INTER_LINEAR);
    return EM_ALIGN + em__need((size_t)model_width * model_height * 3) + (area > lin ? area : lin);
}

em_status em_prepare_input(const em_image *work, int model_width, int model_height, int letterbox, int as_int8,
                           uint8_t *input, em_letterbox *box, void *workspace, size_t workspace_size) {
    em_arena a;
    em_image dst;
    int w, h, nw, nh, top, left, x, y, c, interp;
    em_status st;
    if (work == NULL || input == NULL || box == NULL || model_width < 1 || model_height < 1) return EM_EINVAL;
    if (!valid_image(work, 3)) return EM_ESIZE;
    w = work->width, h = work->height;
    if (!letterbox) {
        nw = model_width, nh = model_height, top = 0, left = 0;
        interp = (w >= model_width && h >= model_height) ? EM_INTER_AREA : EM_INTER_LINEAR;
    } else {
        double sx = (double)model_width / (double)w, sy = (double)model_height / (double)h;
        double scale = sx < sy ? sx : sy;
        nw = em__maxi(1, em__round_half_even((double)w * scale));
        nh = em__maxi(1, em__round_half_even((double)h * scale));
        if (nw > model_width) nw = model_width;
        if (nh > model_height) nh = model_height;
        top = (model_height - nh) / 2, left = (model_width - nw) / 2;
        interp = scale < 1.0 ? EM_INTER_AREA : EM_INTER_LINEAR;
    }
    em__arena_init(&a, workspace, workspace_size);
    dst.data = (uint8_t *)em__take(&a, (size_t)nw * nh * 3);
    if (dst.data == NULL) return EM_EWORKSPACE;
    dst.width = nw, dst.height = nh, dst.channels = 3, dst.stride = 3 * (ptrdiff_t)nw;
    if (em_resize_workspace_size(w, h, nw, nh, 3, interp) > a.size - a.used) return EM_EWORKSPACE;
    st = em_resize_u8(work, &dst, interp, a.base + a.used, a.size - a.used);
    if (st != EM_OK) return st;
    /* pad by replicating the edge (cv2.BORDER_REPLICATE), then pixel or pixel - 128 */
    for (y = 0; y < model_height; y++) {
        int sy = em__mini(em__maxi(y - top, 0), nh - 1);
        const uint8_t *srow = dst.data + (ptrdiff_t)sy * dst.stride;
        uint8_t *o = input + (size_t)y * model_width * 3;
        for (x = 0; x < model_width; x++) {
            int sx = em__mini(em__maxi(x - left, 0), nw - 1);
            for (c = 0; c < 3; c++) {
                uint8_t v = srow[3 * sx + c];
                o[3 * x + c] = as_int8 ? (uint8_t)(v ^ 0x80) : v;
            }
        }
    }
    box->top = top, box->left = left, box->height = nh, box->width = nw;
    return EM_OK;
}

em_status em_model_map(const float *output_float, const int8_t *output_q, int q_unsigned, float scale,
                       int zero_point, int model_width, const em_letterbox *box, int normalise_peak,
                       float peak_floor, float *map) {
    int x, y;
    float peak = -1.0f;
    size_t n;
    if (box == NULL || map == NULL || (output_float == NULL) == (output_q == NULL) || box->width < 1 ||
        box->height < 1)
        return EM_EINVAL;
    for (y = 0; y < box->height; y++)
        for (x = 0; x < box->width; x++) {
            size_t i = (size_t)(y + box->top) * model_width + (size_t)(x + box->left);
            float v;
            if (output_float != NULL) {
                v = output_float[i];
            } else {
                int q = q_unsigned ? (int)((const uint8_t *)output_q)[i] : (int)output_q[i];
                v = ((float)q - (float)zero_point) * scale;
            }
            map[(size_t)y * box->width + x] = v;
            if (v > peak) peak = v;
        }
    n = (size_t)box->width * box->height;
    if (normalise_peak && peak >= peak_floor && peak < 1.0f) {
        float k = 1.0f / peak;
        size_t i;
        for (i = 0; i < n; i++) map[i] = map[i] * k;
    }
    return EM_OK;
}

/* ---- the still path after the model ------------------------------------------------------- */

typedef struct fg_plan {
    int fw, fh, r_wide, r_fine;
} fg_plan;

static fg_plan plan_foreground(int ww, int wh, const em_foreground_settings *f) {
    fg_plan p;
    int shortest;
    p.fw = em__maxi(1, (int)((double)ww * f->scale));
    p.fh = em__maxi(1, (int)((double)wh * f->scale));
    shortest = p.fw < p.fh ? p.fw : p.fh;
    p.r_wide = em__maxi(2, em__round_half_even((double)shortest * f->radius_fraction));
    p.r_fine = em__maxi(1, em__round_half_even((double)shortest * f->fine_radius_fraction));
    return p;
}

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

/* The refine stage's buffers (refine.fit), shared by the still and the live path. */
static size_t fit_size(int ww, int wh) {
    size_t n = (size_t)ww * wh;
    return em__need(sizeof(float) * n) + em__need(sizeof(float) * n * 4) + em__need(sizeof(float) * n) +
           2 * em__need(n) + max_sz(em_guided_workspace_size(ww, wh), em_hardness_workspace_size(ww, wh));
}

typedef struct fit_out {
    float *p, *coef, *hardness;
    uint8_t *alpha, *state;
    void *scratch;
    size_t scratch_size;
} fit_out;

static em_status fit(const em_image *work, const float *map, int mw, int mh, const em_refine_settings *r,
                     em_arena *a, fit_out *o, const em_threads *threads) {
    int ww = work->width, wh = work->height;
    size_t n = (size_t)ww * wh;
    em_image al;
    em_status st;
    o->p = (float *)em__take(a, sizeof(float) * n);
    o->coef = (float *)em__take(a, sizeof(float) * n * 4);
    o->hardness = (float *)em__take(a, sizeof(float) * n);
    o->alpha = (uint8_t *)em__take(a, n);
    o->state = (uint8_t *)em__take(a, n);
    o->scratch_size = max_sz(em_guided_workspace_size(ww, wh), em_hardness_workspace_size(ww, wh));
    o->scratch = em__take(a, o->scratch_size);
    if (!o->p || !o->coef || !o->hardness || !o->alpha || !o->state || !o->scratch) return EM_EWORKSPACE;
    st = em_resize_map(map, mw, mh, o->p, ww, wh);
    if (st != EM_OK) return st;
    st = em_guided_coefficients(work, o->p, r->radius, r->eps, o->coef, o->scratch, o->scratch_size, threads);
    if (st != EM_OK) return st;
    if (r->alpha_gain != 1.0f) {
        st = em_edge_hardness(o->p, ww, wh, r->hard_window, r->hard_lo, r->hard_hi, o->hardness, o->scratch,
                              o->scratch_size);
        if (st != EM_OK) return st;
        em_sharpen_hard_edges(o->coef, o->hardness, n, r->alpha_gain);
    }
    al.data = o->alpha, al.width = ww, al.height = wh, al.channels = 1, al.stride = ww;
    st = em_apply_upsampled(work, o->coef, ww, wh, NULL, &al, threads);
    if (st != EM_OK) return st;
    return em_cell_state(&al, o->state);
}

size_t em_still_workspace_size(int photo_width, int photo_height, int work_width, int work_height, int map_width,
                               int map_height, const em_still_settings *s) {
    fg_plan f;
    size_t fn, fg;
    (void)map_width, (void)map_height;
    if (s == NULL || work_width < 1 || work_height < 1) return 0;
    f = plan_foreground(work_width, work_height, &s->foreground);
    fn = (size_t)f.fw * f.fh;
    fg = em__need(fn * 3) + em__need(fn) + em__need(sizeof(float) * fn * 3) + em__need(sizeof(float) * fn) +
         em__need(sizeof(float) * fn * 6) +
         max_sz(em_foreground_workspace_size(f.fw, f.fh),
                em_resize_workspace_size(work_width, work_height, f.fw, f.fh, 3, EM_INTER_AREA));
    return EM_ALIGN + fit_size(work_width, work_height) + fg +
           em_cutout_workspace_size(photo_width, photo_height, work_width, work_height, f.fw, f.fh);
}

em_status em_still_refine(const em_image *photo, const em_image *photo_alpha, const em_image *work, const float *map,
                          int map_width, int map_height, const em_still_settings *s, em_image *rgba, void *workspace,
                          size_t workspace_size, const em_threads *threads) {
    em_arena a;
    fit_out f;
    fg_plan fp;
    em_status st;
    float *means = NULL;
    if (photo == NULL || work == NULL || map == NULL || s == NULL || rgba == NULL) return EM_EINVAL;
    if (!valid_image(photo, 3) || !valid_image(work, 3) || !valid_image(rgba, 4) || map_width < 1 || map_height < 1)
        return EM_ESIZE;
    if (rgba->width != photo->width || rgba->height != photo->height) return EM_ESIZE;
    if (workspace_size < em_still_workspace_size(photo->width, photo->height, work->width, work->height, map_width,
                                                 map_height, s))
        return EM_EWORKSPACE;
    em__arena_init(&a, workspace, workspace_size);
    /* refine */
    st = fit(work, map, map_width, map_height, &s->refine, &a, &f, threads);
    if (st != EM_OK) return st;
    /* foreground: local means at a fraction of the working size */
    fp = plan_foreground(work->width, work->height, &s->foreground);
    if (s->foreground.enabled) {
        size_t fn = (size_t)fp.fw * fp.fh, i;
        em_image fwork, fa8, aw;
        float *fguide, *fa;
        void *scratch;
        size_t scratch_size;
        fwork.data = (uint8_t *)em__take(&a, fn * 3);
        fa8.data = (uint8_t *)em__take(&a, fn);
        fguide = (float *)em__take(&a, sizeof(float) * fn * 3);
        fa = (float *)em__take(&a, sizeof(float) * fn);
        means = (float *)em__take(&a, sizeof(float) * fn * 6);
        scratch_size = max_sz(em_foreground_workspace_size(fp.fw, fp.fh),
                              em_resize_workspace_size(work->width, work->height, fp.fw, fp.fh, 3, EM_INTER_AREA));
        scratch = em__take(&a, scratch_size);
        if (!fwork.data || !fa8.data || !fguide || !fa || !means || !scratch) return EM_EWORKSPACE;
        fwork.width = fp.fw, fwork.height = fp.fh, fwork.channels = 3, fwork.stride = 3 * (ptrdiff_t)fp.fw;
        fa8.width = fp.fw, fa8.height = fp.fh, fa8.channels = 1, fa8.stride = fp.fw;
        aw.data = f.alpha, aw.width = work->width, aw.height = work->height, aw.channels = 1, aw.stride = work->width;
        st = em__resize_threads(work, &fwork, EM_INTER_AREA, scratch, scratch_size, threads);
        if (st == EM_OK) st = em__resize_threads(&aw, &fa8, EM_INTER_AREA, scratch, scratch_size, threads);
        if (st != EM_OK) return st;
        for (i = 0; i < fn * 3; i++) fguide[i] = (float)fwork.data[i] * (1.0f / 255.0f);
        for (i = 0; i < fn; i++) fa[i] = (float)fa8.data[i] * (1.0f / 255.0f);
        st = em_foreground_means(fguide, fa, fp.fw, fp.fh, fp.r_wide, fp.r_fine, s->foreground.eps, means, scratch,
                                 scratch_size, threads);
        if (st != EM_OK) return st;
    }
    /* cut-out: the one full-resolution pass writes every pixel of the RGBA */
    {
        size_t cs = em_cutout_workspace_size(photo->width, photo->height, work->width, work->height, fp.fw, fp.fh);
        void *cut = em__take(&a, cs);
        if (cut == NULL) return EM_EWORKSPACE;
        return em_cutout_rgba(photo, rgba, f.coef, work->width, work->height, means, fp.fw, fp.fh, f.state,
                              photo_alpha, s->foreground.enabled, cut, cs, threads);
    }
}

/* ---- the live path after the model -------------------------------------------------------- */

size_t em_live_workspace_size(int frame_width, int frame_height, int work_width, int work_height, int map_width,
                              int map_height, const em_live_settings *s) {
    (void)map_width, (void)map_height, (void)s;
    return EM_ALIGN + fit_size(work_width, work_height) +
           em_composite_cells_workspace_size(frame_width, frame_height, work_width);
}

em_status em_live_frame(const em_image *frame, const em_image *work, const float *map, int map_width, int map_height,
                        const em_live_settings *s, const em_image *bg, em_image *out, void *workspace,
                        size_t workspace_size, const em_threads *threads) {
    em_arena a;
    fit_out f;
    em_status st;
    size_t cs;
    void *cells;
    if (frame == NULL || work == NULL || map == NULL || s == NULL || bg == NULL || out == NULL) return EM_EINVAL;
    if (!valid_image(frame, 3) || !valid_image(work, 3) || !valid_image(bg, 3) || !valid_image(out, 3))
        return EM_ESIZE;
    em__arena_init(&a, workspace, workspace_size);
    st = fit(work, map, map_width, map_height, &s->refine, &a, &f, threads);
    if (st != EM_OK) return st;
    cs = em_composite_cells_workspace_size(frame->width, frame->height, work->width);
    cells = em__take(&a, cs);
    if (cells == NULL) return EM_EWORKSPACE;
    return em_composite_cells(frame, f.coef, work->width, work->height, f.state, bg, out, cells, cs, threads);
}
