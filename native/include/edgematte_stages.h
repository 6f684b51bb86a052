/*
 * edgematte_stages.h - the still and live paths' stages one by one, as the Python runtime names
 * them (refine.py, the kernels/ modules). edgematte.h's em_still_refine and em_live_frame call these in
 * order; use them directly to build another path, or to check each stage against Python.
 *
 * Float images here are contiguous, row-major, channels interleaved: a w x h x c float image is
 * w * h * c floats. Sizes of every scratch buffer are given by the matching *_workspace_size.
 */
#ifndef EDGEMATTE_STAGES_H
#define EDGEMATTE_STAGES_H

#include "edgematte.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Cell states of the working grid (kernels/cutout.py). */
#define EM_SOLID_CLEAR 0
#define EM_MIXED 1
#define EM_SOLID_OPAQUE 255

/* Bilinear resize of a float map (half-pixel centres, edge-clamped; Python:
 * kernels/resize.upsample_map): src sw x sh -> dst dw x dh. No workspace. */
em_status em_resize_map(const float *src, int sw, int sh, float *dst, int dw, int dh);

/* The guided filter's averaged coefficients [a_r, a_g, a_b, b] (w x h x 4 floats) for guide
 * `work` (RGB, read as 0..1) and map `p` (w x h floats in 0..1): per window the map as a
 * linear function of the colour guide (He et al. 2013, eq. 14-15), then the box mean of the
 * window's coefficients (He & Sun 2015). Python: kernels/guided.guided_coefficients. */
size_t em_guided_workspace_size(int w, int h);
em_status em_guided_coefficients(const em_image *work, const float *p, int radius, float eps, float *coef,
                                 void *workspace, size_t workspace_size, const em_threads *threads);

/* Hardness of the model's own transition (kernels/guided.edge_hardness): the map's range (max -
 * min) in a `window` x `window` window clipped at the border, mapped from [lo, hi] to [0, 1]. */
size_t em_hardness_workspace_size(int w, int h);
em_status em_edge_hardness(const float *p, int w, int h, int window, float lo, float hi, float *hardness,
                           void *workspace, size_t workspace_size);

/* Fold a per-pixel contrast k = 1 + (gain - 1) * hardness about 0.5 into the coefficients, in
 * place (kernels/guided.sharpen_hard_edges). */
void em_sharpen_hard_edges(float *coef, const float *hardness, size_t n, float gain);

/* alpha = clip(a . I + b) at the image's size, the coefficients (cw x ch x 4) bilinearly
 * upsampled; times `source_alpha` (1 channel, or NULL) (kernels/guided.apply_upsampled). `alpha`
 * receives 1 channel at the image's size. */
em_status em_apply_upsampled(const em_image *image, const float *coef, int cw, int ch,
                             const em_image *source_alpha, em_image *alpha, const em_threads *threads);

/* Per cell of the working grid: EM_SOLID_OPAQUE / EM_SOLID_CLEAR where the working alpha and its 8
 * neighbours are all 255 / 0, EM_MIXED elsewhere (kernels/cutout.cell_state). */
em_status em_cell_state(const em_image *alpha_work, uint8_t *state);

/* Two-pass blur fusion (Forte & Pitie 2021; kernels/foreground.foreground_means): guide
 * (w x h x 3 floats 0..1) and alpha (w x h floats 0..1) -> means [F~, B~] (w x h x 6 floats). */
size_t em_foreground_workspace_size(int w, int h);
em_status em_foreground_means(const float *guide, const float *alpha, int w, int h, int r_wide, int r_fine,
                              float eps, float *means, void *workspace, size_t workspace_size,
                              const em_threads *threads);

/* The full-resolution cut-out pass (kernels/cutout.cutout_rgba): writes every pixel of `rgba` (4
 * channels, the image's size; nothing is read from it, so the photo needs no copying first: the
 * Python kernel's input copy of the photo is part of this pass here). coef cw x ch x 4; means mw x mh x 6;
 * state cw x ch; source_alpha 1 channel or NULL; `estimate` 0 keeps the photo's colours. */
size_t em_cutout_workspace_size(int width, int height, int cw, int ch, int mw, int mh);
em_status em_cutout_rgba(const em_image *image, em_image *rgba, const float *coef, int cw, int ch,
                         const float *means, int mw, int mh, const uint8_t *state, const em_image *source_alpha,
                         int estimate, void *workspace, size_t workspace_size, const em_threads *threads);

/* The live path's fused pass (kernels/composite.composite_cells): alpha from the coefficients
 * only in mixed cells, the frame over `bg` (RGB, frame size) into `out` (RGB). */
size_t em_composite_cells_workspace_size(int width, int height, int cw); /* frame size, coefficient grid width */
em_status em_composite_cells(const em_image *frame, const float *coef, int cw, int ch, const uint8_t *state,
                             const em_image *bg, em_image *out, void *workspace, size_t workspace_size,
                             const em_threads *threads);

#ifdef __cplusplus
}
#endif

#endif /* EDGEMATTE_STAGES_H */
