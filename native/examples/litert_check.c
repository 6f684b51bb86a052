/*
 * litert_check.c - run a .tflite model once on raw bytes through litert_runner.
 *
 *   litert_check LIB MODEL THREADS INPUT.bin OUTPUT.bin [RUNS]
 *
 * LIB: path of libLiteRt.so ("" or "-": $EDGEMATTE_LITERT_LIB, else "libLiteRt.so").
 * THREADS: CPU thread count (0: LiteRT's default, one thread).
 * INPUT.bin: exactly the input tensor's bytes; OUTPUT.bin receives the output tensor's bytes.
 * RUNS: timed runs after one warm-up run (default 5); every run must give the same bytes.
 *
 * Prints the time em_model_open took, the input/output description, whether XNNPACK took every
 * op, the process's thread count (Linux; XNNPACK's pool adds THREADS - 1 workers) and the
 * median time of em_model_run (copy in, invoke, copy out) to stderr.
 * Exit status: 0, or 1 on any error.
 *
 * Build: cc -std=c99 -Wall -Wextra -Werror -O2 litert_check.c litert_runner.c -ldl
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "litert_runner.h"

static const char *type_name(em_elem_type t) {
    switch (t) {
    case EM_ELEM_UINT8: return "uint8";
    case EM_ELEM_INT8: return "int8";
    case EM_ELEM_FLOAT32: return "float32";
    }
    return "?";
}

static void print_info(const char *role, const em_tensor_info *info) {
    int i;
    fprintf(stderr, "%s '%s': ", role, info->name);
    for (i = 0; i < info->rank; i++) fprintf(stderr, "%s%d", i ? "x" : "", (int)info->dims[i]);
    fprintf(stderr, " %s, %zu bytes", type_name(info->type), info->num_bytes);
    if (info->quantized)
        fprintf(stderr, ", scale %.9g zero point %lld", (double)info->scale,
                (long long)info->zero_point);
    fprintf(stderr, "\n");
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Reads the whole file into a malloc'd buffer; returns NULL on error. */
static unsigned char *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long len;
    if (f == NULL) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = (unsigned char *)malloc(len > 0 ? (size_t)len : 1);
        if (buf != NULL && fread(buf, 1, (size_t)len, f) != (size_t)len) {
            free(buf);
            buf = NULL;
        }
        *size = (size_t)len;
    }
    fclose(f);
    return buf;
}

static int write_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    int ok;
    if (f == NULL) return 0;
    ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

/* The "Threads:" line of /proc/self/status, or -1 where there is none. */
static int process_threads(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    if (f == NULL) return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "Threads:", 8) == 0) n = atoi(line + 8);
    fclose(f);
    return n;
}

int main(int argc, char **argv) {
    const char *lib;
    char err[512];
    em_model *m = NULL;
    em_tensor_info in, out;
    unsigned char *input = NULL, *output = NULL, *first = NULL;
    size_t input_size = 0;
    double *times = NULL;
    double t_open;
    int threads, runs = 5, fully = -1, rc, i, status = 1;

    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: %s LIB MODEL THREADS INPUT.bin OUTPUT.bin [RUNS]\n", argv[0]);
        return 1;
    }
    lib = (strcmp(argv[1], "") == 0 || strcmp(argv[1], "-") == 0) ? NULL : argv[1];
    threads = atoi(argv[3]);
    if (argc == 7) runs = atoi(argv[6]);
    if (runs < 1) runs = 1;

    t_open = now_ms();
    rc = em_model_open_lib(lib, argv[2], threads, &m, err, sizeof err);
    if (rc != EM_LRT_OK) {
        fprintf(stderr, "em_model_open: %s: %s\n", em_lrt_status_string(rc), err);
        return 1;
    }
    fprintf(stderr, "em_model_open: %.1f ms (load, environment, model, compile, buffers)\n",
            now_ms() - t_open);
    em_model_input_info(m, &in);
    em_model_output_info(m, &out);
    print_info("input ", &in);
    print_info("output", &out);
    if (em_model_fully_accelerated(m, &fully) != EM_LRT_OK)
        fprintf(stderr, "fully accelerated: ? (%s)\n", em_model_last_error(m));
    else
        fprintf(stderr, "fully accelerated (all ops on XNNPACK): %s\n", fully ? "yes" : "no");

    input = read_file(argv[4], &input_size);
    if (input == NULL) {
        fprintf(stderr, "cannot read %s\n", argv[4]);
        goto done;
    }
    if (input_size != in.num_bytes) {
        fprintf(stderr, "%s has %zu bytes, the input takes %zu\n", argv[4], input_size,
                in.num_bytes);
        goto done;
    }
    output = (unsigned char *)malloc(out.num_bytes);
    first = (unsigned char *)malloc(out.num_bytes);
    times = (double *)malloc((size_t)runs * sizeof *times);
    if (output == NULL || first == NULL || times == NULL) {
        fprintf(stderr, "out of memory\n");
        goto done;
    }

    for (i = -1; i < runs; i++) { /* i == -1: warm-up */
        double t0 = now_ms();
        rc = em_model_run(m, input, input_size, output, out.num_bytes);
        if (rc != EM_LRT_OK) {
            fprintf(stderr, "em_model_run: %s: %s\n", em_lrt_status_string(rc),
                    em_model_last_error(m));
            goto done;
        }
        if (i < 0) {
            memcpy(first, output, out.num_bytes);
            continue;
        }
        times[i] = now_ms() - t0;
        if (memcmp(first, output, out.num_bytes) != 0) {
            fprintf(stderr, "run %d gave different output bytes than the first run\n", i);
            goto done;
        }
    }
    fprintf(stderr, "threads requested: %d; process threads now: %d\n",
            em_model_num_threads(m), process_threads());
    qsort(times, (size_t)runs, sizeof *times, cmp_double);
    fprintf(stderr, "em_model_run: median %.2f ms of %d runs (min %.2f, max %.2f)\n",
            runs % 2 ? times[runs / 2] : 0.5 * (times[runs / 2 - 1] + times[runs / 2]), runs,
            times[0], times[runs - 1]);

    if (!write_file(argv[5], output, out.num_bytes)) {
        fprintf(stderr, "cannot write %s\n", argv[5]);
        goto done;
    }
    status = 0;
done:
    free(times);
    free(first);
    free(output);
    free(input);
    em_model_close(m);
    return status;
}
