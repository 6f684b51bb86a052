/*
 * litert_runner.c - see litert_runner.h. C99 + POSIX dlopen/dlsym.
 */
#define _POSIX_C_SOURCE 200809L

#include "litert_runner.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "litert_abi.h"

/* ---- The resolved API: one function pointer per entry of EM_LITERT_FUNCTIONS ---------- */

#define EM_X(ret, name, params) typedef ret(*name##_fn) params;
EM_LITERT_FUNCTIONS(EM_X)
#undef EM_X

typedef struct em_litert_api {
#define EM_X(ret, name, params) name##_fn name;
    EM_LITERT_FUNCTIONS(EM_X)
#undef EM_X
} em_litert_api;

/* dlsym returns a void *; POSIX guarantees it converts to a function pointer. We copy the
 * bits with memcpy (no cast between object and function pointers, so -pedantic stays quiet). */
typedef char em_assert_fnptr_size[sizeof(void *) == sizeof(LiteRtRunCompiledModel_fn) ? 1 : -1];

struct em_model {
    void *lib; /* dlopen() handle */
    em_litert_api api;
    LiteRtEnvironment env;
    LiteRtModel model;
    LiteRtOptions options; /* kept until the compiled model is gone, as LiteRT's C++ API does */
    LiteRtCompiledModel compiled;
    LiteRtTensorBuffer in_buf;
    LiteRtTensorBuffer out_buf;
    LiteRtRankedTensorType in_type;
    LiteRtRankedTensorType out_type;
    em_tensor_info in_info;
    em_tensor_info out_info;
    int num_threads;
    char err[512];
};

const char *em_lrt_status_string(int status) {
    switch (status) {
    case EM_LRT_OK: return "ok";
    case EM_LRT_EINVAL: return "invalid argument";
    case EM_LRT_ELOAD: return "cannot load libLiteRt.so or one of its functions";
    case EM_LRT_ELITERT: return "a LiteRT call failed";
    case EM_LRT_EMODEL: return "model not supported by this runner";
    case EM_LRT_ESIZE: return "byte count does not match the tensor";
    case EM_LRT_ENOMEM: return "out of memory";
    default: return "unknown status";
    }
}

/* LiteRtGetStatusString is not exported by libLiteRt.so: our own names for the codes. */
static const char *litert_status_name(LiteRtStatus s) {
    switch (s) {
    case kLiteRtStatusOk: return "Ok";
    case kLiteRtStatusErrorInvalidArgument: return "ErrorInvalidArgument";
    case kLiteRtStatusErrorMemoryAllocationFailure: return "ErrorMemoryAllocationFailure";
    case kLiteRtStatusErrorRuntimeFailure: return "ErrorRuntimeFailure";
    case kLiteRtStatusErrorMissingInputTensor: return "ErrorMissingInputTensor";
    case kLiteRtStatusErrorUnsupported: return "ErrorUnsupported";
    case kLiteRtStatusErrorNotFound: return "ErrorNotFound";
    case kLiteRtStatusErrorTimeoutExpired: return "ErrorTimeoutExpired";
    case kLiteRtStatusErrorWrongVersion: return "ErrorWrongVersion";
    case kLiteRtStatusErrorUnknown: return "ErrorUnknown";
    case kLiteRtStatusErrorAlreadyExists: return "ErrorAlreadyExists";
    case kLiteRtStatusCancelled: return "Cancelled";
    case kLiteRtStatusErrorFileIO: return "ErrorFileIO";
    case kLiteRtStatusErrorInvalidFlatbuffer: return "ErrorInvalidFlatbuffer";
    case kLiteRtStatusErrorDynamicLoading: return "ErrorDynamicLoading";
    case kLiteRtStatusErrorSerialization: return "ErrorSerialization";
    case kLiteRtStatusErrorCompilation: return "ErrorCompilation";
    default: return "other";
    }
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail(em_model *m, int status, const char *fmt, ...);

static int fail(em_model *m, int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->err, sizeof m->err, fmt, ap);
    va_end(ap);
    return status;
}

/* Evaluates a LiteRt* call; on an error status, records which call failed and returns
 * EM_LRT_ELITERT from the enclosing function. */
#define LRT_CHECK(m, call)                                                                    \
    do {                                                                                      \
        LiteRtStatus lrt_status_ = (call);                                                    \
        if (lrt_status_ != kLiteRtStatusOk)                                                   \
            return fail((m), EM_LRT_ELITERT, "%s failed: LiteRT status %d (%s)", #call,       \
                        (int)lrt_status_, litert_status_name(lrt_status_));                   \
    } while (0)

static int load_api(em_model *m, const char *litert_lib) {
    const char *path = litert_lib;
    void *sym;
    if (path == NULL || path[0] == '\0') {
        path = getenv(EM_LITERT_LIB_ENV);
        if (path == NULL || path[0] == '\0') path = EM_LITERT_LIB_DEFAULT;
    }
    m->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (m->lib == NULL) {
        const char *why = dlerror();
        return fail(m, EM_LRT_ELOAD, "dlopen(\"%s\") failed: %s", path, why ? why : "?");
    }
    /* Plain dlsym finds the default version of each symbol (NAME@@VERS_1.0 in the wheel);
     * dlvsym would pin it but is a GNU extension that iOS lacks. */
#define EM_X(ret, name, params)                                                                \
    sym = dlsym(m->lib, #name);                                                               \
    if (sym == NULL)                                                                          \
        return fail(m, EM_LRT_ELOAD, "%s does not export %s (not LiteRT >= 2.1.6?)", path,   \
                    #name);                                                                   \
    memcpy(&m->api.name, &sym, sizeof m->api.name);
    EM_LITERT_FUNCTIONS(EM_X)
#undef EM_X
    if (dlsym(m->lib, EM_LITERT_VERSION_PROBE) == NULL)
        return fail(m, EM_LRT_ELOAD,
                    "%s does not export %s: it is older than LiteRT 2.1.6, whose "
                    "LiteRtCreateModelFromFile takes no environment; this runner needs >= 2.1.6",
                    path, EM_LITERT_VERSION_PROBE);
    return EM_LRT_OK;
}

/* Fills `info` and `type` from a signature tensor; checks it is something we can run. */
static int describe_tensor(em_model *m, LiteRtTensor t, const char *role, em_tensor_info *info,
                           LiteRtRankedTensorType *type) {
    LiteRtTensorTypeId type_id;
    LiteRtQuantizationTypeId q_id;
    const char *name = NULL;
    size_t n = 1;
    int i;

    memset(info, 0, sizeof *info);
    memset(type, 0, sizeof *type);
    if (m->api.LiteRtGetTensorName(t, &name) != kLiteRtStatusOk || name == NULL) name = "";
    info->name = name;

    LRT_CHECK(m, m->api.LiteRtGetTensorTypeId(t, &type_id));
    if (type_id != kLiteRtRankedTensorType)
        return fail(m, EM_LRT_EMODEL, "%s '%s' has no fixed rank", role, name);
    LRT_CHECK(m, m->api.LiteRtGetRankedTensorType(t, type));

    info->rank = (int)type->layout.rank;
    if (info->rank < 1 || info->rank > EM_TENSOR_MAX_RANK)
        return fail(m, EM_LRT_EMODEL, "%s '%s' has rank %d", role, name, info->rank);
    if (type->layout.has_strides)
        return fail(m, EM_LRT_EMODEL, "%s '%s' is strided", role, name);
    switch (type->element_type) {
    case kLiteRtElementTypeUInt8: info->type = EM_ELEM_UINT8; info->element_size = 1; break;
    case kLiteRtElementTypeInt8: info->type = EM_ELEM_INT8; info->element_size = 1; break;
    case kLiteRtElementTypeFloat32: info->type = EM_ELEM_FLOAT32; info->element_size = 4; break;
    default:
        return fail(m, EM_LRT_EMODEL,
                    "%s '%s' has element type %d (LiteRtElementType); supported: uint8, int8, "
                    "float32",
                    role, name, (int)type->element_type);
    }
    for (i = 0; i < info->rank; i++) {
        int32_t d = type->layout.dimensions[i];
        if (d <= 0)
            return fail(m, EM_LRT_EMODEL, "%s '%s' has a dynamic dimension %d", role, name, i);
        if (n > ((size_t)-1) / (size_t)d / info->element_size)
            return fail(m, EM_LRT_EMODEL, "%s '%s' is too large", role, name);
        n *= (size_t)d;
        info->dims[i] = d;
    }
    info->num_bytes = n * info->element_size;

    LRT_CHECK(m, m->api.LiteRtGetQuantizationTypeId(t, &q_id));
    if (q_id == kLiteRtQuantizationPerTensor) {
        LiteRtQuantizationPerTensor q;
        LRT_CHECK(m, m->api.LiteRtGetPerTensorQuantization(t, &q));
        info->quantized = 1;
        info->scale = q.scale;
        info->zero_point = q.zero_point;
    } else if (q_id != kLiteRtQuantizationNone) {
        return fail(m, EM_LRT_EMODEL, "%s '%s' has quantisation type %d; supported: none, "
                    "per tensor", role, name, (int)q_id);
    }
    return EM_LRT_OK;
}

/* CPU options the way LrtGetOpaqueCpuOptionsData builds them (see litert_abi.h): an opaque
 * item "xnnpack" whose payload is the TOML line "num_threads = N\n". */
static int add_cpu_threads(em_model *m, int num_threads) {
    char *payload;
    LiteRtOpaqueOptions opaque = NULL;
    LiteRtStatus s;
    const size_t cap = 64;

    payload = (char *)malloc(cap);
    if (payload == NULL) return fail(m, EM_LRT_ENOMEM, "out of memory for the CPU options");
    snprintf(payload, cap, "%s = %d\n", EM_LITERT_CPU_OPTIONS_NUM_THREADS_KEY, num_threads);
    /* On success the item owns the payload and frees it with `free` when destroyed. */
    s = m->api.LiteRtCreateOpaqueOptions(EM_LITERT_CPU_OPTIONS_IDENTIFIER, payload, free,
                                         &opaque);
    if (s != kLiteRtStatusOk) {
        free(payload);
        return fail(m, EM_LRT_ELITERT, "LiteRtCreateOpaqueOptions(\"%s\") failed: %d (%s)",
                    EM_LITERT_CPU_OPTIONS_IDENTIFIER, (int)s, litert_status_name(s));
    }
    s = m->api.LiteRtAddOpaqueOptions(m->options, opaque); /* takes ownership on success */
    if (s != kLiteRtStatusOk) {
        m->api.LiteRtDestroyOpaqueOptions(opaque);
        return fail(m, EM_LRT_ELITERT, "LiteRtAddOpaqueOptions failed: %d (%s)", (int)s,
                    litert_status_name(s));
    }
    return EM_LRT_OK;
}

/* A managed host buffer sized and aligned by the compiled model's requirements. */
static int make_buffer(em_model *m, int is_input, const LiteRtRankedTensorType *type,
                       const em_tensor_info *info, LiteRtTensorBuffer *buf) {
    LiteRtTensorBufferRequirements req = NULL; /* owned by the compiled model */
    size_t packed = 0;
    if (is_input)
        LRT_CHECK(m, m->api.LiteRtGetCompiledModelInputBufferRequirements(m->compiled, 0, 0,
                                                                            &req));
    else
        LRT_CHECK(m, m->api.LiteRtGetCompiledModelOutputBufferRequirements(m->compiled, 0, 0,
                                                                             &req));
    LRT_CHECK(m, m->api.LiteRtCreateManagedTensorBufferFromRequirements(m->env, type, req,
                                                                          buf));
    LRT_CHECK(m, m->api.LiteRtGetTensorBufferPackedSize(*buf, &packed));
    if (packed != info->num_bytes)
        return fail(m, EM_LRT_ESIZE, "%s buffer holds %zu bytes, the tensor needs %zu",
                    is_input ? "input" : "output", packed, info->num_bytes);
    return EM_LRT_OK;
}

static int open_steps(em_model *m, const char *litert_lib, const char *tflite_path,
                      int num_threads) {
    LiteRtParamIndex n_sig = 0, n_in = 0, n_out = 0;
    LiteRtSignature sig = NULL;
    LiteRtTensor t = NULL;
    int rc;

    if ((rc = load_api(m, litert_lib)) != EM_LRT_OK) return rc;
    LRT_CHECK(m, m->api.LiteRtCreateEnvironment(0, NULL, &m->env));
    {
        LiteRtStatus s = m->api.LiteRtCreateModelFromFile(m->env, tflite_path, &m->model);
        if (s != kLiteRtStatusOk)
            return fail(m, EM_LRT_ELITERT, "LiteRtCreateModelFromFile(\"%s\") failed: %d (%s)",
                        tflite_path, (int)s, litert_status_name(s));
    }

    LRT_CHECK(m, m->api.LiteRtGetNumModelSignatures(m->model, &n_sig));
    if (n_sig < 1) return fail(m, EM_LRT_EMODEL, "the model has no signature");
    LRT_CHECK(m, m->api.LiteRtGetModelSignature(m->model, 0, &sig));
    LRT_CHECK(m, m->api.LiteRtGetNumSignatureInputs(sig, &n_in));
    LRT_CHECK(m, m->api.LiteRtGetNumSignatureOutputs(sig, &n_out));
    if (n_in != 1 || n_out != 1)
        return fail(m, EM_LRT_EMODEL, "signature 0 has %zu inputs and %zu outputs; the runner "
                    "takes exactly one of each", (size_t)n_in, (size_t)n_out);
    LRT_CHECK(m, m->api.LiteRtGetSignatureInputTensorByIndex(sig, 0, &t));
    if ((rc = describe_tensor(m, t, "input", &m->in_info, &m->in_type)) != EM_LRT_OK) return rc;
    LRT_CHECK(m, m->api.LiteRtGetSignatureOutputTensorByIndex(sig, 0, &t));
    if ((rc = describe_tensor(m, t, "output", &m->out_info, &m->out_type)) != EM_LRT_OK)
        return rc;

    LRT_CHECK(m, m->api.LiteRtCreateOptions(&m->options));
    LRT_CHECK(m, m->api.LiteRtSetOptionsHardwareAccelerators(m->options,
                                                             kLiteRtHwAcceleratorCpu));
    if (num_threads > 0 && (rc = add_cpu_threads(m, num_threads)) != EM_LRT_OK) return rc;
    LRT_CHECK(m, m->api.LiteRtCreateCompiledModel(m->env, m->model, m->options, &m->compiled));

    if ((rc = make_buffer(m, 1, &m->in_type, &m->in_info, &m->in_buf)) != EM_LRT_OK) return rc;
    if ((rc = make_buffer(m, 0, &m->out_type, &m->out_info, &m->out_buf)) != EM_LRT_OK)
        return rc;
    return EM_LRT_OK;
}

static void copy_message(char *dst, size_t dstlen, const char *src) {
    size_t n;
    if (dst == NULL || dstlen == 0) return;
    n = strlen(src);
    if (n >= dstlen) n = dstlen - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int em_model_open_lib(const char *litert_lib, const char *tflite_path, int num_threads,
                      em_model **out, char *err, size_t errlen) {
    em_model *m;
    int rc;

    copy_message(err, errlen, "");
    if (out == NULL) {
        copy_message(err, errlen, "em_model_open: `out` is NULL");
        return EM_LRT_EINVAL;
    }
    *out = NULL;
    if (tflite_path == NULL || num_threads < 0) {
        copy_message(err, errlen, tflite_path == NULL ? "em_model_open: `tflite_path` is NULL"
                                                      : "em_model_open: num_threads < 0");
        return EM_LRT_EINVAL;
    }
    m = (em_model *)calloc(1, sizeof *m);
    if (m == NULL) {
        copy_message(err, errlen, "em_model_open: out of memory");
        return EM_LRT_ENOMEM;
    }
    m->num_threads = num_threads;
    rc = open_steps(m, litert_lib, tflite_path, num_threads);
    if (rc != EM_LRT_OK) {
        copy_message(err, errlen, m->err);
        em_model_close(m);
        return rc;
    }
    *out = m;
    return EM_LRT_OK;
}

int em_model_open(const char *tflite_path, int num_threads, em_model **out, char *err,
                  size_t errlen) {
    return em_model_open_lib(NULL, tflite_path, num_threads, out, err, errlen);
}

int em_model_input_info(const em_model *model, em_tensor_info *info) {
    if (model == NULL || info == NULL) return EM_LRT_EINVAL;
    *info = model->in_info;
    return EM_LRT_OK;
}

int em_model_output_info(const em_model *model, em_tensor_info *info) {
    if (model == NULL || info == NULL) return EM_LRT_EINVAL;
    *info = model->out_info;
    return EM_LRT_OK;
}

int em_model_num_threads(const em_model *model) { return model ? model->num_threads : 0; }

int em_model_fully_accelerated(em_model *model, int *fully) {
    bool b = false;
    if (model == NULL || fully == NULL) return EM_LRT_EINVAL;
    model->err[0] = '\0';
    LRT_CHECK(model, model->api.LiteRtCompiledModelIsFullyAccelerated(model->compiled, &b));
    *fully = b ? 1 : 0;
    return EM_LRT_OK;
}

int em_model_run(em_model *model, const void *input, size_t input_size, void *output,
                 size_t output_size) {
    void *host = NULL;
    LiteRtStatus s;
    if (model == NULL) return EM_LRT_EINVAL;
    model->err[0] = '\0';
    if (input == NULL || output == NULL)
        return fail(model, EM_LRT_EINVAL, "em_model_run: NULL input or output");
    if (input_size != model->in_info.num_bytes || output_size != model->out_info.num_bytes)
        return fail(model, EM_LRT_ESIZE,
                    "em_model_run: got %zu input / %zu output bytes, the model takes %zu / %zu",
                    input_size, output_size, model->in_info.num_bytes, model->out_info.num_bytes);

    LRT_CHECK(model, model->api.LiteRtLockTensorBuffer(model->in_buf, &host,
                                                       kLiteRtTensorBufferLockModeWrite));
    memcpy(host, input, input_size);
    LRT_CHECK(model, model->api.LiteRtUnlockTensorBuffer(model->in_buf));

    LRT_CHECK(model, model->api.LiteRtRunCompiledModel(model->compiled, 0, 1, &model->in_buf, 1,
                                                       &model->out_buf));

    LRT_CHECK(model, model->api.LiteRtLockTensorBuffer(model->out_buf, &host,
                                                       kLiteRtTensorBufferLockModeRead));
    memcpy(output, host, output_size);
    s = model->api.LiteRtUnlockTensorBuffer(model->out_buf);
    if (s != kLiteRtStatusOk)
        return fail(model, EM_LRT_ELITERT, "LiteRtUnlockTensorBuffer(output) failed: %d (%s)",
                    (int)s, litert_status_name(s));
    return EM_LRT_OK;
}

const char *em_model_last_error(const em_model *model) {
    return model ? model->err : "em_model_last_error: NULL model";
}

void em_model_close(em_model *m) {
    if (m == NULL) return;
    if (m->lib != NULL) {
        /* Every handle below was created through m->api, so the pointers are resolved. */
        if (m->in_buf) m->api.LiteRtDestroyTensorBuffer(m->in_buf);
        if (m->out_buf) m->api.LiteRtDestroyTensorBuffer(m->out_buf);
        if (m->compiled) m->api.LiteRtDestroyCompiledModel(m->compiled);
        if (m->options) m->api.LiteRtDestroyOptions(m->options);
        if (m->model) m->api.LiteRtDestroyModel(m->model);
        if (m->env) m->api.LiteRtDestroyEnvironment(m->env);
        dlclose(m->lib);
    }
    free(m);
}
