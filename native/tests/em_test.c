/* The C library's own tests: exact synthetic cases, API rules (errors not aborts, workspace
 * checks, strides, threads), run natively, under ASan + UBSan, and under qemu for aarch64.
 * Parity with the Python runtime is tested from pytest (tests/test_native.py). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgematte.h"
#include "edgematte_stages.h"

static int failures = 0;
#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                          \
        }                                                                        \
    } while (0)

static uint32_t rng_state = 12345u;
static uint8_t rnd8(void) {
    rng_state = rng_state * 1664525u + 1013904223u;
    return (uint8_t)(rng_state >> 24);
}

static em_image image(uint8_t *data, int w, int h, int c, ptrdiff_t stride) {
    em_image im;
    im.data = data, im.width = w, im.height = h, im.channels = c, im.stride = stride;
    return im;
}

/* A "parallel for" that runs the tasks backwards: results must not depend on the order. */
static void reverse_for(void *pool, int n, em_task task, void *ctx) {
    int i;
    (void)pool;
    for (i = n - 1; i >= 0; i--) task(ctx, i);
}

static void test_version_and_status(void) {
    CHECK(em_version() == EM_VERSION_MAJOR * 10000 + EM_VERSION_MINOR * 100 + EM_VERSION_PATCH);
    CHECK(strcmp(em_status_string(EM_OK), "ok") == 0);
    CHECK(strcmp(em_status_string(EM_EWORKSPACE), "workspace too small") == 0);
}

static void test_settings(void) {
    em_still_settings s, m;
    em_live_settings l;
    em_still_settings_default(&s, 0);
    em_still_settings_default(&m, 1);
    em_live_settings_default(&l);
    CHECK(s.work_long_side == 640 && s.refine.radius == 2 && s.refine.alpha_gain == 4.0f);
    CHECK(m.refine.alpha_gain == 1.0f && m.normalise_peak == 0 && m.refine.eps == 1e-3f);
    CHECK(l.work_long_side == 256 && l.smoothing == 0.5f);
}

static void test_work_size(void) {
    int w, h;
    em_work_size(4000, 3000, 640, &w, &h);
    CHECK(w == 640 && h == 480);
    em_work_size(300, 200, 640, &w, &h); /* never upscaled */
    CHECK(w == 300 && h == 200);
    em_work_size(1, 5000, 640, &w, &h);
    CHECK(w == 1 && h == 640);
}

static void test_resize_identity_and_constant(void) {
    enum { W = 37, H = 23 };
    static uint8_t src[H * W * 3], dst[H * W * 3], small[10 * 7 * 3];
    static uint8_t ws[1 << 16];
    em_image s = image(src, W, H, 3, W * 3), d = image(dst, W, H, 3, W * 3), sm = image(small, 10, 7, 3, 30);
    int i;
    for (i = 0; i < W * H * 3; i++) src[i] = rnd8();
    CHECK(em_resize_u8(&s, &d, EM_INTER_AREA, ws, sizeof ws) == EM_OK);
    CHECK(memcmp(src, dst, sizeof src) == 0); /* same size: a copy */
    memset(src, 77, sizeof src);
    CHECK(em_resize_u8(&s, &sm, EM_INTER_AREA, ws, sizeof ws) == EM_OK);
    for (i = 0; i < 10 * 7 * 3; i++) CHECK(small[i] == 77); /* a constant stays constant */
    CHECK(em_resize_u8(&sm, &s, EM_INTER_LINEAR, ws, sizeof ws) == EM_OK);
    for (i = 0; i < W * H * 3; i++) CHECK(src[i] == 77);
    CHECK(em_resize_u8(&s, &sm, EM_INTER_AREA, ws, 16) == EM_EWORKSPACE);
    CHECK(em_resize_u8(NULL, &sm, EM_INTER_AREA, ws, sizeof ws) == EM_EINVAL);
    CHECK(em_resize_u8(&s, &sm, 99, ws, sizeof ws) == EM_EINVAL);
}

static void test_composite_exact_and_strided(void) {
    enum { W = 9, H = 5, STRIDE = 40 };
    static uint8_t fg[H * STRIDE], al[H * 16], out[H * W * 3];
    const uint8_t white[3] = {255, 255, 255};
    em_image f = image(fg, W, H, 3, STRIDE), a = image(al, W, H, 1, 16), o = image(out, W, H, 3, W * 3);
    int x, y, c;
    for (y = 0; y < H; y++)
        for (x = 0; x < STRIDE; x++) fg[y * STRIDE + x] = rnd8();
    for (y = 0; y < H; y++)
        for (x = 0; x < 16; x++) al[y * 16 + x] = rnd8();
    CHECK(em_composite_colour(&f, &a, white, &o, NULL) == EM_OK);
    for (y = 0; y < H; y++)
        for (x = 0; x < W; x++)
            for (c = 0; c < 3; c++) {
                int av = al[y * 16 + x], want = (av * fg[y * STRIDE + 3 * x + c] + (255 - av) * 255 + 127) / 255;
                CHECK(out[(y * W + x) * 3 + c] == want);
            }
    f.stride = 2; /* shorter than a row: refused, never read out of bounds */
    CHECK(em_composite_colour(&f, &a, white, &o, NULL) == EM_ESIZE);
}

static void test_guided_reproduces_a_linear_map(void) {
    enum { W = 30, H = 30 };
    static uint8_t work[H * W * 3];
    static float p[H * W], coef[H * W * 4];
    static uint8_t ws[1 << 20];
    em_image wk = image(work, W, H, 3, W * 3);
    int i;
    float worst = 0.0f;
    for (i = 0; i < W * H * 3; i++) work[i] = rnd8();
    for (i = 0; i < W * H; i++) p[i] = 0.2f * work[3 * i] / 255.0f + 0.5f * work[3 * i + 2] / 255.0f + 0.1f;
    CHECK(em_guided_workspace_size(W, H) <= sizeof ws);
    CHECK(em_guided_coefficients(&wk, p, 2, 1e-6f, coef, ws, sizeof ws, NULL) == EM_OK);
    for (i = 0; i < W * H; i++) {
        float q = coef[4 * i] * work[3 * i] / 255.0f + coef[4 * i + 1] * work[3 * i + 1] / 255.0f +
                  coef[4 * i + 2] * work[3 * i + 2] / 255.0f + coef[4 * i + 3];
        float d = fabsf(q - p[i]);
        if (d > worst) worst = d;
    }
    CHECK(worst < 2e-3f);
    CHECK(em_guided_coefficients(&wk, p, 2, 1e-6f, coef, ws, 100, NULL) == EM_EWORKSPACE);
}

/* A whole still refine on a synthetic photo: an opaque disc on a flat backdrop; the map is the
 * disc itself. Checks: the disc is opaque, the far backdrop clear (0,0,0,0), serial == threaded
 * (in any order), a strided photo == a contiguous one, one-pixel photos work. */
static void run_still(const uint8_t *photo, int W, int H, ptrdiff_t stride, uint8_t *rgba, const em_threads *t) {
    em_still_settings s;
    int ww, wh, x, y;
    static float map[80 * 80];
    static uint8_t work[640 * 480 * 3];
    size_t need;
    void *ws;
    em_image ph = image((uint8_t *)photo, W, H, 3, stride), wk, out = image(rgba, W, H, 4, 4 * (ptrdiff_t)W);
    em_still_settings_default(&s, 0);
    em_work_size(W, H, s.work_long_side, &ww, &wh);
    wk = image(work, ww, wh, 3, 3 * (ptrdiff_t)ww);
    need = em_still_workspace_size(W, H, ww, wh, 80, 80, &s);
    if (em_working_workspace_size(W, H, ww, wh) > need) need = em_working_workspace_size(W, H, ww, wh);
    ws = malloc(need);
    CHECK(ws != NULL);
    CHECK(em_working_image(&ph, NULL, &wk, ws, need, t) == EM_OK);
    for (y = 0; y < 80; y++)
        for (x = 0; x < 80; x++) map[y * 80 + x] = ((x - 40) * (x - 40) + (y - 40) * (y - 40) < 400) ? 1.0f : 0.0f;
    CHECK(em_still_refine(&ph, NULL, &wk, map, 80, 80, &s, &out, ws, need, t) == EM_OK);
    CHECK(em_still_refine(&ph, NULL, &wk, map, 80, 80, &s, &out, ws, need - 1000, t) == EM_EWORKSPACE ||
          need < 1000);
    free(ws);
}

static void test_still_refine(void) {
    enum { W = 160, H = 120, STRIDE = 160 * 3 + 13 };
    static uint8_t photo[H * STRIDE], tight[H * W * 3], a[H * W * 4], b[H * W * 4], c[H * W * 4];
    em_threads rev;
    int x, y, k;
    for (y = 0; y < H; y++)
        for (x = 0; x < W; x++) {
            int in = (x - 80) * (x - 80) + (y - 60) * (y - 60) < 1600;
            for (k = 0; k < 3; k++) {
                uint8_t v = in ? (uint8_t)(40 + 30 * k) : 220;
                photo[y * STRIDE + 3 * x + k] = v;
                tight[(y * W + x) * 3 + k] = v;
            }
        }
    rev.run = reverse_for, rev.pool = NULL;
    run_still(photo, W, H, STRIDE, a, NULL);
    run_still(photo, W, H, STRIDE, b, &rev);
    run_still(tight, W, H, 3 * W, c, NULL);
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(memcmp(a, c, sizeof a) == 0);
    CHECK(a[(60 * W + 80) * 4 + 3] == 255);
    CHECK(a[(5 * W + 5) * 4 + 3] == 0 && a[(5 * W + 5) * 4] == 0);
    {
        static uint8_t one[3] = {10, 20, 30}, out[4];
        run_still(one, 1, 1, 3, out, NULL);
    }
}

static void test_errors_not_aborts(void) {
    em_image bad = image(NULL, 0, 0, 3, 0);
    em_letterbox box;
    uint8_t buf[16];
    CHECK(em_working_image(NULL, NULL, NULL, NULL, 0, NULL) == EM_EINVAL);
    CHECK(em_working_image(&bad, NULL, &bad, NULL, 0, NULL) == EM_ESIZE);
    CHECK(em_prepare_input(&bad, 4, 4, 0, 1, buf, &box, NULL, 0) == EM_ESIZE);
    CHECK(em_model_map(NULL, NULL, 0, 1.0f, 0, 4, &box, 0, 0.25f, NULL) == EM_EINVAL);
}

static void test_prepare_letterbox_and_int8(void) {
    enum { W = 64, H = 32 };
    static uint8_t work[H * W * 3], input[32 * 32 * 3], ws[1 << 16];
    em_image wk = image(work, W, H, 3, W * 3);
    em_letterbox box;
    int i;
    memset(work, 200, sizeof work);
    CHECK(em_prepare_input(&wk, 32, 32, 1, 1, input, &box, ws, sizeof ws) == EM_OK);
    CHECK(box.width == 32 && box.height == 16 && box.top == 8 && box.left == 0);
    for (i = 0; i < 32 * 32 * 3; i++) CHECK(input[i] == (200 ^ 0x80)); /* replicated edge, pixel - 128 */
}

/* --digest: a hash of every stage's output on a fixed synthetic photo. Builds for other CPUs
 * (aarch64 under qemu), optimisation levels and SIMD flags must print the same digest: the
 * library's results do not depend on where or how it was compiled. */
static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const uint8_t *b = (const uint8_t *)p;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static int digest(void) {
    enum { W = 523, H = 397 };
    static uint8_t photo[H * W * 3], alpha[H * W], rgba[H * W * 4], input[320 * 320 * 3], work[640 * 480 * 3];
    static float map[320 * 320];
    em_still_settings s;
    em_letterbox box;
    em_image ph, al, wk, out;
    int x, y, c, ww, wh;
    size_t need;
    void *ws;
    uint64_t h = 1469598103934665603ull;
    for (y = 0; y < H; y++)
        for (x = 0; x < W; x++) {
            int in = (x - 260) * (x - 260) / 2 + (y - 200) * (y - 200) < 120 * 120;
            for (c = 0; c < 3; c++) photo[(y * W + x) * 3 + c] = (uint8_t)((in ? 60 + 40 * c : 200 - 20 * c) + (rnd8() & 15));
            alpha[y * W + x] = x < 20 ? 0 : 255;
        }
    em_still_settings_default(&s, 0);
    em_work_size(W, H, s.work_long_side, &ww, &wh);
    ph = image(photo, W, H, 3, 3 * W), al = image(alpha, W, H, 1, W), wk = image(work, ww, wh, 3, 3 * ww);
    out = image(rgba, W, H, 4, 4 * W);
    need = em_still_workspace_size(W, H, ww, wh, 320, 320, &s) + em_working_workspace_size(W, H, ww, wh) +
           em_prepare_workspace_size(ww, wh, 320, 320);
    ws = malloc(need);
    if (ws == NULL) return 1;
    if (em_working_image(&ph, &al, &wk, ws, need, NULL) != EM_OK) return 1;
    h = fnv(h, work, (size_t)ww * wh * 3);
    if (em_prepare_input(&wk, 320, 320, 0, 1, input, &box, ws, need) != EM_OK) return 1;
    h = fnv(h, input, sizeof input);
    for (y = 0; y < 320; y++)
        for (x = 0; x < 320; x++) map[y * 320 + x] = (float)input[(y * 320 + x) * 3] / 255.0f;
    if (em_still_refine(&ph, &al, &wk, map, 320, 320, &s, &out, ws, need, NULL) != EM_OK) return 1;
    h = fnv(h, rgba, sizeof rgba);
    printf("%016llx\n", (unsigned long long)h);
    free(ws);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--digest") == 0) return digest();
    test_version_and_status();
    test_settings();
    test_work_size();
    test_resize_identity_and_constant();
    test_composite_exact_and_strided();
    test_guided_reproduces_a_linear_map();
    test_still_refine();
    test_errors_not_aborts();
    test_prepare_letterbox_and_int8();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("em_test: all checks passed (edgematte %s)\n", EM_VERSION);
    return 0;
}
