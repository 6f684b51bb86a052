/*
 * litert_runner.h - run one of edgematte's .tflite models on the CPU through LiteRT's C API
 * ("LiteRT Next": environment, model, options, compiled model, tensor buffers), in C99.
 *
 * An example for mobile apps. Android and iOS apps get LiteRT's C API from LiteRT's own
 * packages; on Linux the same API is exported by the libLiteRt.so inside the ai-edge-litert
 * wheel. This module never links against LiteRT: em_model_open() loads the library with
 * dlopen() and looks every function up with dlsym(), so nothing here depends on a path inside
 * a wheel or an app bundle, and the build needs no LiteRT headers (litert_abi.h declares the
 * few types and functions used). Link with -ldl on glibc older than 2.34.
 *
 * Finding the library (in this order):
 *   1. the `litert_lib` argument of em_model_open_lib(), if not NULL;
 *   2. the environment variable EDGEMATTE_LITERT_LIB, if set and not empty;
 *   3. "libLiteRt.so", which dlopen() looks up on the usual search path (on Android: the
 *      app's native library directory).
 * For the wheel, a path is one line of Python:
 *   python -c "import ai_edge_litert, os; \
 *              print(os.path.join(os.path.dirname(ai_edge_litert.__file__), 'libLiteRt.so'))"
 *
 * What it runs: signature 0 of the model, which must have exactly one input and one output,
 * each a ranked tensor with static dimensions (edgematte's models: NHWC images) of uint8, int8
 * or float32 elements, quantised per tensor or not at all. Hardware: the CPU accelerator only
 * (XNNPACK), with a chosen thread count.
 *
 * Rules:
 *   - Errors are return codes (em_lrt_status), never aborts or exits. em_model_open() writes
 *     a message into the caller's `err` buffer; later calls keep theirs in the model
 *     (em_model_last_error).
 *   - No global or static mutable state: everything lives in the em_model. Each em_model
 *     holds its own dlopen() reference, environment and compiled model.
 *   - An em_model is not safe for concurrent use; separate em_models are independent (LiteRT
 *     itself serialises compiled-model creation).
 */
#ifndef EDGEMATTE_LITERT_RUNNER_H
#define EDGEMATTE_LITERT_RUNNER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The environment variable that names libLiteRt.so when no path is passed. */
#define EM_LITERT_LIB_ENV "EDGEMATTE_LITERT_LIB"
/* What is passed to dlopen() when neither an argument nor the variable names a path. */
#define EM_LITERT_LIB_DEFAULT "libLiteRt.so"

/* Largest tensor rank LiteRT describes (LITERT_TENSOR_MAX_RANK). */
#define EM_TENSOR_MAX_RANK 8

typedef enum em_lrt_status {
    EM_LRT_OK = 0,
    EM_LRT_EINVAL = 1,  /* a NULL pointer or a bad argument (e.g. a negative thread count) */
    EM_LRT_ELOAD = 2,   /* dlopen() of libLiteRt.so or dlsym() of one of its functions failed */
    EM_LRT_ELITERT = 3, /* a LiteRt* call returned an error status (the message names it) */
    EM_LRT_EMODEL = 4,  /* the model is outside what this runner supports (see above) */
    EM_LRT_ESIZE = 5,   /* a byte count does not match the tensor's size */
    EM_LRT_ENOMEM = 6   /* malloc() failed */
} em_lrt_status;

/* A constant English description of a status ("ok", "cannot load libLiteRt.so", ...). */
const char *em_lrt_status_string(int status);

typedef enum em_elem_type {
    EM_ELEM_UINT8 = 1,
    EM_ELEM_INT8 = 2,
    EM_ELEM_FLOAT32 = 3
} em_elem_type;

/* A model input or output. */
typedef struct em_tensor_info {
    const char *name;                /* the tensor's name; owned by the em_model */
    int rank;                        /* number of dimensions, 1..EM_TENSOR_MAX_RANK */
    int32_t dims[EM_TENSOR_MAX_RANK]; /* dims[0..rank-1]; for edgematte's models rank 4, NHWC */
    em_elem_type type;
    size_t element_size;             /* bytes per element: 1 or 4 */
    size_t num_bytes;                /* product of dims * element_size: what em_model_run
                                        takes (input) or writes (output) */
    int quantized;                   /* 1 if per-tensor quantised: real = scale * (q - zero_point) */
    float scale;                     /* 0 when not quantised */
    int64_t zero_point;              /* 0 when not quantised */
} em_tensor_info;

/* A loaded model: the library handle, a LiteRT environment, the model, its compiled form on
 * the CPU accelerator and one managed input and output tensor buffer. Opaque. */
typedef struct em_model em_model;

/* Loads libLiteRt.so (from EDGEMATTE_LITERT_LIB, else "libLiteRt.so") and compiles
 * `tflite_path` for the CPU with `num_threads` threads. Same as
 * em_model_open_lib(NULL, tflite_path, num_threads, out, err, errlen). */
int em_model_open(const char *tflite_path, int num_threads, em_model **out, char *err,
                  size_t errlen);

/* Loads LiteRT from `litert_lib` (a path or a soname; NULL: as em_model_open), creates the
 * environment, loads `tflite_path`, compiles it for the CPU accelerator (XNNPACK) and
 * allocates the input and output tensor buffers from the compiled model's buffer
 * requirements.
 *
 * num_threads: >= 1 sets the CPU accelerator's thread count (XNNPACK's thread pool; 1 runs
 * on the calling thread). 0 leaves LiteRT's default, which is also one thread: LiteRT then
 * creates XNNPACK with num_threads 0, i.e. no thread pool. Negative: EM_LRT_EINVAL.
 *
 * On success returns EM_LRT_OK and sets *out (close it with em_model_close). On failure
 * returns an em_lrt_status, sets *out to NULL, releases whatever was created and writes a
 * NUL-terminated message into err[0..errlen) (truncated to fit; `err` may be NULL when
 * errlen is 0). */
int em_model_open_lib(const char *litert_lib, const char *tflite_path, int num_threads,
                      em_model **out, char *err, size_t errlen);

/* Describes the model's input (output). Returns EM_LRT_OK, or EM_LRT_EINVAL on a NULL
 * pointer. The name stays valid until em_model_close. */
int em_model_input_info(const em_model *model, em_tensor_info *info);
int em_model_output_info(const em_model *model, em_tensor_info *info);

/* The thread count the model was compiled with, as passed to em_model_open (0: default). */
int em_model_num_threads(const em_model *model);

/* Whether LiteRT reports every op of the model as taken by the CPU accelerator (XNNPACK):
 * sets *fully to 1 or 0. Ops XNNPACK leaves behind run on LiteRT's built-in kernels. */
int em_model_fully_accelerated(em_model *model, int *fully);

/* Runs the model once: copies `input_size` bytes from `input` into the input tensor buffer,
 * invokes the compiled model and copies the output tensor buffer into `output`.
 * `input_size` must equal the input's num_bytes and `output_size` the output's (else
 * EM_LRT_ESIZE). The bytes are the tensors' raw elements in row-major order (for int8/uint8:
 * quantised values; for float32: native-endian floats). No alignment is required of either
 * host buffer: the data is copied into LiteRT's own (64-byte aligned) buffers. On failure the
 * message is available from em_model_last_error. Not safe to call concurrently on one model. */
int em_model_run(em_model *model, const void *input, size_t input_size, void *output,
                 size_t output_size);

/* The message of the last failed call on this model, or "" if none failed. Owned by the
 * model; valid until the next call on it. */
const char *em_model_last_error(const em_model *model);

/* Releases the tensor buffers, compiled model, options, model, environment and the library
 * reference, in that order. NULL is allowed. */
void em_model_close(em_model *model);

#ifdef __cplusplus
}
#endif

#endif /* EDGEMATTE_LITERT_RUNNER_H */
