/*
 * edgematte.h - edgematte's post-processing in portable C99, for mobile capture apps.
 *
 * The same stages, formulas and defaults as the Python runtime (runtime/edgematte: still.py
 * orders them, settings.py holds the numbers):
 *
 *   prepare     photo -> working image (area resize, long side 640) -> the model's input
 *               (stretch or letterbox; uint8, or int8 as pixel - 128)
 *   [infer]     the app runs the .tflite model (LiteRT); this library never links LiteRT
 *   map         dequantised model output, letterbox removed, peak-normalised when unsure
 *   refine      colour guided filter (He & Sun 2015) fitted at the working size, contrast on
 *               hard edges folded into its coefficients
 *   foreground  two-pass blur-fusion foreground colours (Forte & Pitie 2021)
 *   cut-out     one full-resolution pass writing RGBA (alpha + foreground colours)
 *   compose     cut-out over a colour or an image; the live path's fused per-frame composite
 *   temporal    the live path's 'ema' temporal method (a moving average of the model map)
 *
 * Rules (the shape of zlib's and XNNPACK's APIs):
 *   - Every buffer is the caller's. Images carry explicit strides (camera frames are strided).
 *   - Scratch memory is one caller-allocated workspace: ask its size once (em_*_workspace_size)
 *     for the largest frame you will pass, allocate it, reuse it for every frame. Nothing here
 *     calls malloc, and there is no global or static mutable state: every function is
 *     reentrant and thread-safe as long as two concurrent calls do not share a workspace or an
 *     output.
 *   - Errors are return codes (em_status), never aborts.
 *   - Threads are the app's: pass an em_threads with a "parallel for" over its own pool, or
 *     NULL to run on the calling thread. The results do not depend on the thread count.
 *   - Results match the Python runtime: bit-exact for the integer stages (resize, prepare,
 *     cell classification, compositing), within one uint8 level for the float stages (the
 *     Numba kernels are compiled with fast-math; this library is not).
 */
#ifndef EDGEMATTE_H
#define EDGEMATTE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EM_VERSION_MAJOR 0
#define EM_VERSION_MINOR 1
#define EM_VERSION_PATCH 0
#define EM_VERSION "0.1.0"

/* The library's version as MAJOR * 10000 + MINOR * 100 + PATCH: compare with EM_VERSION_* to
 * check that the header matches the library you linked. */
int em_version(void);

typedef enum em_status {
    EM_OK = 0,
    EM_EINVAL = 1,     /* a NULL pointer, a negative or zero size, a bad setting */
    EM_ESIZE = 2,      /* sizes that do not fit together (strides, channels, shapes) */
    EM_EWORKSPACE = 3  /* the workspace is smaller than em_*_workspace_size asked for */
} em_status;

/* A constant English description of a status ("ok", "invalid argument", ...). */
const char *em_status_string(em_status status);

/* An 8-bit image: `channels` interleaved samples per pixel (1 = alpha/grey, 3 = RGB,
 * 4 = RGBA), `stride` bytes from the start of one row to the start of the next (>= width *
 * channels). The library never takes ownership of `data`. */
typedef struct em_image {
    uint8_t *data;
    int width;
    int height;
    int channels;
    ptrdiff_t stride;
} em_image;

/* Threads. A "parallel for": run task(ctx, i) for every i in [0, n), in any order and on any
 * threads, and return when all have finished. Set `run` to NULL (or pass NULL for the whole
 * struct) to run on the calling thread. */
typedef void (*em_task)(void *ctx, int index);
typedef void (*em_parallel_for)(void *pool, int n, em_task task, void *ctx);
typedef struct em_threads {
    em_parallel_for run;
    void *pool;
} em_threads;

/* ---- Settings (defaults: runtime/edgematte/settings.py; a test holds them equal) ---------- */

/* The refine stage (settings.RefineSettings). */
typedef struct em_refine_settings {
    int radius;        /* guided filter window radius at the working size (default 2) */
    float eps;         /* regulariser, image in 0..1 (1e-4; matting 1e-3) */
    float alpha_gain;  /* contrast where the model's edge is hard (4; 1 disables: matting, live) */
    int hard_window;   /* window of the map's range that measures hardness (9) */
    float hard_lo;     /* range mapped to hardness 0 (0.2) ... */
    float hard_hi;     /* ... and to hardness 1 (0.8) */
} em_refine_settings;

/* The foreground stage (settings.ForegroundSettings). */
typedef struct em_foreground_settings {
    int enabled;                /* estimate foreground colours in the soft band (1) */
    double scale;               /* means computed at this fraction of the working size (0.5) */
    double radius_fraction;     /* wide pass radius / short side (0.07) */
    double fine_radius_fraction;/* fine pass radius / short side (0.0125) */
    float eps;                  /* regulariser of the weighted means (1e-4) */
} em_foreground_settings;

/* Everything the still path reads (settings.StillSettings, minus mirror averaging, the second
 * look, despill and studio mode: for the first two run the model twice yourself and hand
 * em_still_refine the merged map, any size (the Python runtime's looks.py is the recipe); the
 * other two are not in this library yet). */
typedef struct em_still_settings {
    int work_long_side;     /* long side of the working image, never upscaled (640) */
    int normalise_peak;     /* scale an unsure map so its peak is 1 (1; matting 0) */
    float peak_floor;       /* below this peak the map is left alone (0.25) */
    em_refine_settings refine;
    em_foreground_settings foreground;
} em_still_settings;

/* The live path (settings.LiveSettings). */
typedef struct em_live_settings {
    int work_long_side;     /* 256: the preview model's input long side */
    em_refine_settings refine;  /* eps 1e-3, alpha_gain 1 */
    float smoothing;        /* the 'ema' temporal method: previous map's weight (0.5; 0 disables) */
} em_live_settings;

/* Fill `s` with the defaults of a model kind: matting = 0 for segmentation models (u2netp,
 * selfie), 1 for matting models (MODNet). */
void em_still_settings_default(em_still_settings *s, int matting);
void em_live_settings_default(em_live_settings *s);

/* ---- prepare ------------------------------------------------------------------------------ */

/* Size of the working image of a width x height photo: long side `long_side`, aspect kept,
 * never upscaled (each side at least 1). Python: infer.work_size. */
void em_work_size(int width, int height, int long_side, int *work_width, int *work_height);

/* Resize an 8-bit image (1, 3 or 4 channels; same channels in and out) to dst's size, bit-exact
 * to the Python runtime (kernels/resize.py, which reproduces OpenCV's cv2.resize):
 * EM_INTER_AREA (the area average OpenCV uses to shrink) or EM_INTER_LINEAR (bilinear, half-pixel
 * centres, 11-bit fixed-point weights). Workspace: em_resize_workspace_size. */
#define EM_INTER_LINEAR 1
#define EM_INTER_AREA 3
size_t em_resize_workspace_size(int src_width, int src_height, int dst_width, int dst_height, int channels,
                                int interpolation);
em_status em_resize_u8(const em_image *src, em_image *dst, int interpolation, void *workspace,
                       size_t workspace_size);

/* Where the photo sits inside the model's input. */
typedef struct em_letterbox {
    int top;
    int left;
    int height;
    int width;
} em_letterbox;

/* The working image of a photo: `photo` (RGB, 3 channels) resized into `work` (RGB, the size
 * em_work_size gives). With `photo_alpha` (1 channel, the photo's size; NULL when opaque),
 * transparent pixels show white to the model (Python: infer.working_image). */
size_t em_working_workspace_size(int photo_width, int photo_height, int work_width, int work_height);
em_status em_working_image(const em_image *photo, const em_image *photo_alpha, em_image *work,
                           void *workspace, size_t workspace_size, const em_threads *threads);

/* The model's input from the working image (Python: infer.prepare_input): `letterbox` 0 to
 * stretch (u2netp, selfie), 1 to keep the aspect and pad by replicating the edge (MODNet).
 * `input` is the model's input tensor (model_height x model_width x 3, contiguous); `as_int8`
 * 1 writes pixel - 128 (INT8 models whose input has scale 1, zero point -128), 0 writes the
 * pixel. `box` receives where the image sits. */
size_t em_prepare_workspace_size(int work_width, int work_height, int model_width, int model_height);
em_status em_prepare_input(const em_image *work, int model_width, int model_height, int letterbox,
                           int as_int8, uint8_t *input, em_letterbox *box, void *workspace,
                           size_t workspace_size);

/* The model's map: dequantise an int8 or uint8 output ((q - zero_point) * scale; pass
 * `output_float` for float models and `output_q` NULL, or the other way round), cut the
 * letterbox away, and, when `normalise_peak`, scale the map so its peak is 1 if the peak lies
 * in [peak_floor, 1). `map` receives box->height x box->width floats. */
em_status em_model_map(const float *output_float, const int8_t *output_q, int q_unsigned,
                       float scale, int zero_point, int model_width, const em_letterbox *box,
                       int normalise_peak, float peak_floor, float *map);

/* ---- the still path after the model ------------------------------------------------------- */

/* Workspace for em_still_refine with these sizes (photo, working image and map). */
size_t em_still_workspace_size(int photo_width, int photo_height, int work_width, int work_height,
                               int map_width, int map_height, const em_still_settings *s);

/* refine + foreground + cut-out (Python: Session.matte after infer):
 *   photo       RGB (3 channels), full size
 *   photo_alpha the photo's own alpha (1 channel) or NULL; it multiplies the result
 *   work        the working image (em_working_image)
 *   map         map_height x map_width floats in 0..1 (em_model_map), contiguous
 *   rgba        out: the cut-out, photo size, 4 channels (RGB = foreground colours, A = alpha)
 * The foreground colours are estimated only where 0 < alpha < 255 (and alpha-0 pixels of the
 * soft band get the foreground mean), solid transparent areas become (0, 0, 0, 0). */
em_status em_still_refine(const em_image *photo, const em_image *photo_alpha, const em_image *work,
                          const float *map, int map_width, int map_height, const em_still_settings *s,
                          em_image *rgba, void *workspace, size_t workspace_size,
                          const em_threads *threads);

/* ---- compose ------------------------------------------------------------------------------ */

/* out = a F + (1 - a) C, rounded (Python: kernels/composite.composite_colour). `fg` RGB or
 * RGBA (its first 3 channels are used), `alpha` 1 channel, or NULL to take fg's 4th channel;
 * `colour` 3 bytes; `out` RGB (may be `fg` itself). */
em_status em_composite_colour(const em_image *fg, const em_image *alpha, const uint8_t colour[3],
                              em_image *out, const em_threads *threads);

/* out = a F + (1 - a) B with B an image of the same size (composite_image). */
em_status em_composite_image(const em_image *fg, const em_image *alpha, const em_image *bg,
                             em_image *out, const em_threads *threads);

/* ---- the live path ------------------------------------------------------------------------ */

/* Workspace for em_live_frame with these sizes (frame, working image, map). */
size_t em_live_workspace_size(int frame_width, int frame_height, int work_width, int work_height,
                              int map_width, int map_height, const em_live_settings *s);

/* The temporal stage, method 'ema' (settings.TemporalSettings): map = a * state + (1 - a) * map,
 * then state = map (n floats). Call with `has_state` 0 on the first frame (or after a scene cut)
 * to just copy map into state. The Python runtime's default method, 'adaptive' (live/temporal.py
 * and kernels/temporal.py), is not in this library yet. */
void em_temporal_smooth(float *map, float *state, size_t n, float smoothing, int has_state);

/* One preview frame (Python: video.Preview.process after infer and the temporal stage):
 * refine at the working size, then one fused pass that computes the alpha only along the
 * person's outline and composites onto `bg` (RGB, the frame's size). `out` RGB. */
em_status em_live_frame(const em_image *frame, const em_image *work, const float *map, int map_width,
                        int map_height, const em_live_settings *s, const em_image *bg, em_image *out,
                        void *workspace, size_t workspace_size, const em_threads *threads);

#ifdef __cplusplus
}
#endif

#endif /* EDGEMATTE_H */
