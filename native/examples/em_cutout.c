/* em_cutout: the whole still path in C, the way a mobile app runs it.
 *
 *   em_cutout [--threads N] [--runs N] [--matting] [--letterbox] [--portrait MODEL2] [--litert LIB]
 *             MODEL.tflite IN.ppm|IN.pam OUT.pam
 *
 * Reads a photo (binary PPM "P6", or PAM "P7" with TUPLTYPE RGB or RGB_ALPHA: a format small
 * enough to parse here, so the library and this example need no image library), runs the model
 * through LiteRT's C API (litert_runner.c), refines with the edgematte library and writes the
 * cut-out as a PAM RGB_ALPHA. --matting takes MODNet's settings (no peak normalisation, no edge
 * contrast); --portrait gives the model of the other orientation (MODNet ships both: each photo
 * goes to the one of its own orientation, as the Python runtime does); --letterbox pads instead
 * of stretching (models whose card says resize "letterbox"). Stage times go to stderr: with
 * --runs N the path runs N + 1 times and the medians of the last N are printed (the first run
 * warms the caches and LiteRT's arena, as an app's second photo is). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edgematte.h"
#include "em_pool.h"
#include "litert_runner.h"

typedef struct photo {
    int width, height, has_alpha;
    uint8_t *rgb, *alpha;
} photo;

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int read_token(FILE *f, char *buf, size_t n) {
    int c;
    size_t i = 0;
    do {
        c = fgetc(f);
        if (c == '#')
            while (c != '\n' && c != EOF) c = fgetc(f);
    } while (c == ' ' || c == '\t' || c == '\n' || c == '\r');
    while (c != EOF && c != ' ' && c != '\t' && c != '\n' && c != '\r' && i + 1 < n) {
        buf[i++] = (char)c;
        c = fgetc(f);
    }
    buf[i] = 0;
    return i > 0;
}

static int read_photo(const char *path, photo *p, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    char tok[64];
    int depth = 3, maxval = 255;
    size_t n, i;
    uint8_t *px;
    memset(p, 0, sizeof *p);
    if (f == NULL) return snprintf(err, errlen, "%s: cannot open", path), 1;
    if (!read_token(f, tok, sizeof tok)) goto bad;
    if (strcmp(tok, "P6") == 0) {
        char w[32], h[32], m[32];
        if (!read_token(f, w, sizeof w) || !read_token(f, h, sizeof h) || !read_token(f, m, sizeof m)) goto bad;
        p->width = atoi(w), p->height = atoi(h), maxval = atoi(m);
    } else if (strcmp(tok, "P7") == 0) {
        for (;;) {
            if (!read_token(f, tok, sizeof tok)) goto bad;
            if (strcmp(tok, "ENDHDR") == 0) break;
            if (strcmp(tok, "WIDTH") == 0 && read_token(f, tok, sizeof tok)) p->width = atoi(tok);
            else if (strcmp(tok, "HEIGHT") == 0 && read_token(f, tok, sizeof tok)) p->height = atoi(tok);
            else if (strcmp(tok, "DEPTH") == 0 && read_token(f, tok, sizeof tok)) depth = atoi(tok);
            else if (strcmp(tok, "MAXVAL") == 0 && read_token(f, tok, sizeof tok)) maxval = atoi(tok);
            else if (strcmp(tok, "TUPLTYPE") == 0 && read_token(f, tok, sizeof tok)) continue;
        }
    } else {
        goto bad;
    }
    if (p->width < 1 || p->height < 1 || maxval != 255 || (depth != 3 && depth != 4)) goto bad;
    n = (size_t)p->width * p->height;
    px = (uint8_t *)malloc(n * (size_t)depth);
    p->rgb = (uint8_t *)malloc(n * 3);
    if (depth == 4) p->alpha = (uint8_t *)malloc(n);
    if (px == NULL || p->rgb == NULL || (depth == 4 && p->alpha == NULL) || fread(px, (size_t)depth, n, f) != n) {
        free(px);
        goto bad;
    }
    for (i = 0; i < n; i++) {
        memcpy(p->rgb + 3 * i, px + (size_t)depth * i, 3);
        if (depth == 4) p->alpha[i] = px[4 * i + 3];
    }
    p->has_alpha = depth == 4;
    free(px);
    fclose(f);
    return 0;
bad:
    fclose(f);
    free(p->rgb), free(p->alpha);
    return snprintf(err, errlen, "%s: not a binary PPM (P6) or PAM (P7, RGB or RGB_ALPHA) with maxval 255", path), 1;
}

static int write_pam(const char *path, const uint8_t *rgba, int w, int h) {
    FILE *f = fopen(path, "wb");
    size_t n = (size_t)w * h * 4;
    int ok;
    if (f == NULL) return 1;
    fprintf(f, "P7\nWIDTH %d\nHEIGHT %d\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n", w, h);
    ok = fwrite(rgba, 1, n, f) == n;
    return fclose(f) != 0 || !ok;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int usage(void) {
    fprintf(stderr, "usage: em_cutout [--threads N] [--runs N] [--matting] [--letterbox] [--portrait MODEL2] [--litert LIB] "
                    "MODEL.tflite IN.ppm|IN.pam OUT.pam\n");
    return 2;
}

int main(int argc, char **argv) {
    const char *model_path = NULL, *portrait = NULL, *in_path = NULL, *out_path = NULL, *lib = NULL;
    int threads = 1, runs = 0, run, matting = 0, letterbox = 0, i, ww, wh, mw, mh, status = 1;
    double times[3][101];
    char err[512];
    photo ph;
    em_model *model = NULL, *chosen;
    em_tensor_info in, out;
    em_still_settings s;
    em_pool *pool = NULL;
    em_threads t;
    em_image photo_img, alpha_img, work_img, rgba_img;
    em_letterbox box;
    uint8_t *work = NULL, *input = NULL, *rgba = NULL, *output = NULL;
    float *map = NULL, *finput = NULL;
    void *ws = NULL;
    size_t ws_size;
    double t0, t_prep, t_invoke, t_refine;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--matting") == 0) matting = 1;
        else if (strcmp(argv[i], "--letterbox") == 0) letterbox = 1;
        else if (strcmp(argv[i], "--portrait") == 0 && i + 1 < argc) portrait = argv[++i];
        else if (strcmp(argv[i], "--litert") == 0 && i + 1 < argc) lib = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1] == '-') return usage();
        else if (!model_path) model_path = argv[i];
        else if (!in_path) in_path = argv[i];
        else if (!out_path) out_path = argv[i];
        else return usage();
    }
    if (!model_path || !in_path || !out_path || threads < 1 || runs < 0 || runs > 100) return usage();
    if (read_photo(in_path, &ph, err, sizeof err)) {
        fprintf(stderr, "em_cutout: %s\n", err);
        return 2;
    }
    /* the model of the photo's orientation */
    chosen = NULL;
    if (em_model_open_lib(lib, model_path, threads, &model, err, sizeof err) != EM_LRT_OK) {
        fprintf(stderr, "em_cutout: %s\n", err);
        goto done;
    }
    em_model_input_info(model, &in);
    chosen = model;
    if (portrait != NULL && ph.width != ph.height && (ph.height > ph.width) != (in.dims[1] > in.dims[2])) {
        em_model *other = NULL;
        if (em_model_open_lib(lib, portrait, threads, &other, err, sizeof err) != EM_LRT_OK) {
            fprintf(stderr, "em_cutout: %s\n", err);
            goto done;
        }
        em_model_close(model);
        model = other;
        chosen = model;
        em_model_input_info(model, &in);
    }
    em_model_output_info(chosen, &out);
    mh = in.dims[1], mw = in.dims[2];
    if (in.rank != 4 || in.dims[3] != 3 || out.dims[1] != mh || out.dims[2] != mw) {
        fprintf(stderr, "em_cutout: %s: expected an NHWC RGB input and an NHW1 output of the same size\n", model_path);
        goto done;
    }
    if (in.type != EM_ELEM_FLOAT32 && !(in.scale == 1.0f && in.zero_point == (in.type == EM_ELEM_INT8 ? -128 : 0))) {
        fprintf(stderr, "em_cutout: %s: a quantised input must take raw pixels (scale 1)\n", model_path);
        goto done;
    }
    if (threads > 1) {
        pool = em_pool_create(threads);
        em_pool_threads(pool, &t);
    }
    em_still_settings_default(&s, matting);
    em_work_size(ph.width, ph.height, s.work_long_side, &ww, &wh);
    work = (uint8_t *)malloc((size_t)ww * wh * 3);
    input = (uint8_t *)malloc((size_t)mw * mh * 3);
    finput = (float *)malloc(sizeof(float) * (size_t)mw * mh * 3);
    output = (uint8_t *)malloc(out.num_bytes);
    map = (float *)malloc(sizeof(float) * (size_t)mw * mh);
    rgba = (uint8_t *)malloc((size_t)ph.width * ph.height * 4);
    ws_size = em_still_workspace_size(ph.width, ph.height, ww, wh, mw, mh, &s);
    if (em_working_workspace_size(ph.width, ph.height, ww, wh) > ws_size)
        ws_size = em_working_workspace_size(ph.width, ph.height, ww, wh);
    if (em_prepare_workspace_size(ww, wh, mw, mh) > ws_size) ws_size = em_prepare_workspace_size(ww, wh, mw, mh);
    ws = malloc(ws_size);
    if (!work || !input || !finput || !output || !map || !rgba || !ws) {
        fprintf(stderr, "em_cutout: out of memory\n");
        goto done;
    }
    photo_img.data = ph.rgb, photo_img.width = ph.width, photo_img.height = ph.height, photo_img.channels = 3;
    photo_img.stride = 3 * (ptrdiff_t)ph.width;
    alpha_img.data = ph.alpha, alpha_img.width = ph.width, alpha_img.height = ph.height, alpha_img.channels = 1;
    alpha_img.stride = ph.width;
    work_img.data = work, work_img.width = ww, work_img.height = wh, work_img.channels = 3;
    work_img.stride = 3 * (ptrdiff_t)ww;
    rgba_img.data = rgba, rgba_img.width = ph.width, rgba_img.height = ph.height, rgba_img.channels = 4;
    rgba_img.stride = 4 * (ptrdiff_t)ph.width;

    for (run = 0; run <= runs; run++) {
        t0 = now_ms();
        if (em_working_image(&photo_img, ph.has_alpha ? &alpha_img : NULL, &work_img, ws, ws_size, pool ? &t : NULL) ||
            em_prepare_input(&work_img, mw, mh, letterbox, in.type == EM_ELEM_INT8, input, &box, ws, ws_size)) {
            fprintf(stderr, "em_cutout: prepare failed\n");
            goto done;
        }
        t_prep = now_ms();
        if (in.type == EM_ELEM_FLOAT32) {
            size_t k;
            for (k = 0; k < (size_t)mw * mh * 3; k++) finput[k] = (float)input[k];
        }
        if (em_model_run(chosen, in.type == EM_ELEM_FLOAT32 ? (void *)finput : (void *)input, in.num_bytes, output,
                         out.num_bytes) != EM_LRT_OK) {
            fprintf(stderr, "em_cutout: %s\n", em_model_last_error(chosen));
            goto done;
        }
        t_invoke = now_ms();
        if (em_model_map(out.type == EM_ELEM_FLOAT32 ? (const float *)output : NULL,
                         out.type == EM_ELEM_FLOAT32 ? NULL : (const int8_t *)output, out.type == EM_ELEM_UINT8,
                         out.scale, (int)out.zero_point, mw, &box, s.normalise_peak, s.peak_floor, map) ||
            em_still_refine(&photo_img, ph.has_alpha ? &alpha_img : NULL, &work_img, map, box.width, box.height, &s,
                            &rgba_img, ws, ws_size, pool ? &t : NULL)) {
            fprintf(stderr, "em_cutout: refine failed\n");
            goto done;
        }
        t_refine = now_ms();
        times[0][run] = t_prep - t0, times[1][run] = t_invoke - t_prep, times[2][run] = t_refine - t_invoke;
    }
    if (runs > 0) {
        t0 = 0.0, t_prep = median(times[0] + 1, runs), t_invoke = t_prep + median(times[1] + 1, runs);
        t_refine = t_invoke + median(times[2] + 1, runs);
    }
    if (write_pam(out_path, rgba, ph.width, ph.height)) {
        fprintf(stderr, "em_cutout: %s: cannot write\n", out_path);
        goto done;
    }
    fprintf(stderr, "em_cutout: %dx%d, model %dx%d, prepare %.1f ms, invoke %.1f ms, refine %.1f ms\n", ph.width,
            ph.height, mw, mh, t_prep - t0, t_invoke - t_prep, t_refine - t_invoke);
    status = 0;
done:
    em_model_close(model);
    em_pool_destroy(pool);
    free(work), free(input), free(finput), free(output), free(map), free(rgba), free(ws);
    free(ph.rgb), free(ph.alpha);
    return status;
}
