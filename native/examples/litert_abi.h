/*
 * litert_abi.h - our own declarations of the part of LiteRT's C API ("LiteRT Next") that
 * litert_runner.c uses. Private to litert_runner.c: include it nowhere else.
 *
 * Nothing here is copied from LiteRT. Each type and function below was written from reading
 * the public headers of google-ai-edge/LiteRT (litert/c/...), and each names the header it
 * mirrors. Only what the runner uses is declared: the enums list only the values we need.
 *
 * Checked against tags v2.1.6 and v2.2.0 and a newer HEAD of the LiteRT repository: every
 * function declaration below reads the same in all three, the types have the same layout (see
 * LiteRtLayout for the one spelling change), and every function is exported (as
 * NAME@@VERS_1.0) by the libLiteRt.so shipped in the ai-edge-litert 2.3.0 wheel. Older releases differ: up to
 * v2.1.5 LiteRtCreateModelFromFile took no environment argument (the environment parameter
 * arrived in the v2.1.6 patch release), so this file does not fit a libLiteRt.so older than
 * 2.1.6 -- see EM_LITERT_VERSION_PROBE below for how the runner refuses one.
 *
 * The functions are not declared as prototypes: litert_runner.c loads libLiteRt.so with
 * dlopen and looks each one up with dlsym, so we declare the function *pointer* types, through
 * the EM_LITERT_FUNCTIONS list below.
 */
#ifndef EDGEMATTE_LITERT_ABI_H
#define EDGEMATTE_LITERT_ABI_H

#if defined(ODML_LITERT_LITERT_C_LITERT_COMMON_H_)
#error "litert_abi.h redeclares LiteRT's C types: do not include it with LiteRT's own headers"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- litert/c/litert_common.h -------------------------------------------------------- */

/* Opaque handles (LITERT_DEFINE_HANDLE). Only ever passed back to the library. */
typedef struct LiteRtEnvironmentT *LiteRtEnvironment;
typedef struct LiteRtModelT *LiteRtModel;
typedef struct LiteRtSignatureT *LiteRtSignature;
typedef struct LiteRtTensorT *LiteRtTensor;
typedef struct LiteRtOptionsT *LiteRtOptions;
typedef struct LiteRtOpaqueOptionsT *LiteRtOpaqueOptions;
typedef struct LiteRtCompiledModelT *LiteRtCompiledModel;
typedef struct LiteRtTensorBufferT *LiteRtTensorBuffer;
typedef struct LiteRtTensorBufferRequirementsT *LiteRtTensorBufferRequirements;

/* Status codes: the values we name in messages. Every LiteRt* function that can fail returns
 * one; kLiteRtStatusOk is 0 and anything else is an error. (LiteRtGetStatusString, which
 * names them, is not exported by libLiteRt.so, so litert_runner.c has its own table.) */
typedef enum {
    kLiteRtStatusOk = 0,
    kLiteRtStatusErrorInvalidArgument = 1,
    kLiteRtStatusErrorMemoryAllocationFailure = 2,
    kLiteRtStatusErrorRuntimeFailure = 3,
    kLiteRtStatusErrorMissingInputTensor = 4,
    kLiteRtStatusErrorUnsupported = 5,
    kLiteRtStatusErrorNotFound = 6,
    kLiteRtStatusErrorTimeoutExpired = 7,
    kLiteRtStatusErrorWrongVersion = 8,
    kLiteRtStatusErrorUnknown = 9,
    kLiteRtStatusErrorAlreadyExists = 10,
    kLiteRtStatusCancelled = 100,
    kLiteRtStatusErrorFileIO = 500,
    kLiteRtStatusErrorInvalidFlatbuffer = 501,
    kLiteRtStatusErrorDynamicLoading = 502,
    kLiteRtStatusErrorSerialization = 503,
    kLiteRtStatusErrorCompilation = 504
} LiteRtStatus;

/* LiteRtHwAccelerators: a bit set, passed as LiteRtHwAcceleratorSet (an int). */
enum { kLiteRtHwAcceleratorCpu = 1 << 0 };
typedef int LiteRtHwAcceleratorSet;

typedef enum {
    kLiteRtTensorBufferLockModeRead = 0,
    kLiteRtTensorBufferLockModeWrite = 1
} LiteRtTensorBufferLockMode;

typedef size_t LiteRtParamIndex;

/* ---- litert/c/litert_environment_options.h ------------------------------------------- */

/* A tagged option value. We only ever pass zero options (a NULL array), so the struct stays
 * incomplete here. */
typedef struct LiteRtEnvOption LiteRtEnvOption;

/* ---- litert/c/litert_layout.h --------------------------------------------------------- */

#define EM_LITERT_TENSOR_MAX_RANK 8 /* LITERT_TENSOR_MAX_RANK */

/* v2.1.6 spelled has_strides `bool : 1`; since v2.2.0 it is `unsigned int : 1` so that MSVC
 * packs it with `rank`. GCC and Clang lay both spellings out the same (one 4-byte unit). */
typedef struct {
    unsigned int rank : 7;
    unsigned int has_strides : 1;
    int32_t dimensions[EM_LITERT_TENSOR_MAX_RANK]; /* < 0: dynamic */
    uint32_t strides[EM_LITERT_TENSOR_MAX_RANK];   /* only if has_strides */
} LiteRtLayout;

/* ---- litert/c/litert_model_types.h ---------------------------------------------------- */

/* Element types (the TfLiteType numbers). */
typedef enum {
    kLiteRtElementTypeNone = 0,
    kLiteRtElementTypeFloat32 = 1,
    kLiteRtElementTypeInt32 = 2,
    kLiteRtElementTypeUInt8 = 3,
    kLiteRtElementTypeInt8 = 9,
    kLiteRtElementTypeFloat16 = 10
} LiteRtElementType;

typedef struct {
    LiteRtElementType element_type;
    LiteRtLayout layout;
} LiteRtRankedTensorType;

typedef enum {
    kLiteRtRankedTensorType = 0,
    kLiteRtUnrankedTensorType = 1
} LiteRtTensorTypeId;

typedef struct {
    float scale;
    int64_t zero_point;
} LiteRtQuantizationPerTensor;

typedef enum {
    kLiteRtQuantizationNone = 0,
    kLiteRtQuantizationPerTensor = 1,
    kLiteRtQuantizationPerChannel = 2,
    kLiteRtQuantizationBlockWise = 3
} LiteRtQuantizationTypeId;

/* The sizes LiteRT's headers assert (they hold for GCC and Clang on every ABI we target; the
 * per-tensor struct's int64_t is 8-aligned wherever pointers are 8 bytes). A typo in the
 * mirror above fails the build here instead of corrupting memory at run time. */
typedef char em_litert_assert_layout_size[sizeof(LiteRtLayout) == 68 ? 1 : -1];
typedef char em_litert_assert_layout_dims[offsetof(LiteRtLayout, dimensions) == 4 ? 1 : -1];
typedef char em_litert_assert_layout_strides[offsetof(LiteRtLayout, strides) == 36 ? 1 : -1];
typedef char em_litert_assert_ranked_size[sizeof(LiteRtRankedTensorType) == 72 ? 1 : -1];
typedef char em_litert_assert_ranked_layout[offsetof(LiteRtRankedTensorType, layout) == 4 ? 1
                                                                                        : -1];
#if defined(__SIZEOF_POINTER__) && __SIZEOF_POINTER__ == 8
typedef char em_litert_assert_quant_size[sizeof(LiteRtQuantizationPerTensor) == 16 ? 1 : -1];
typedef char em_litert_assert_quant_zp[offsetof(LiteRtQuantizationPerTensor, zero_point) == 8
                                           ? 1
                                           : -1];
#endif

/* ---- The functions ---------------------------------------------------------------------
 *
 * X(return type, name, (parameters)), grouped by the header that declares them. */
#define EM_LITERT_FUNCTIONS(X)                                                                 \
    /* litert/c/litert_environment.h */                                                      \
    X(LiteRtStatus, LiteRtCreateEnvironment,                                                  \
      (int num_options, const LiteRtEnvOption *options, LiteRtEnvironment *environment))      \
    X(void, LiteRtDestroyEnvironment, (LiteRtEnvironment environment))                        \
    /* litert/c/litert_model.h */                                                            \
    X(LiteRtStatus, LiteRtCreateModelFromFile,                                                \
      (LiteRtEnvironment environment, const char *filename, LiteRtModel *model))              \
    X(void, LiteRtDestroyModel, (LiteRtModel model))                                          \
    X(LiteRtStatus, LiteRtGetNumModelSignatures,                                              \
      (LiteRtModel model, LiteRtParamIndex * num_signatures))                                 \
    X(LiteRtStatus, LiteRtGetModelSignature,                                                  \
      (LiteRtModel model, LiteRtParamIndex signature_index, LiteRtSignature * signature))     \
    X(LiteRtStatus, LiteRtGetNumSignatureInputs,                                              \
      (LiteRtSignature signature, LiteRtParamIndex * num_inputs))                             \
    X(LiteRtStatus, LiteRtGetNumSignatureOutputs,                                             \
      (LiteRtSignature signature, LiteRtParamIndex * num_outputs))                            \
    X(LiteRtStatus, LiteRtGetSignatureInputTensorByIndex,                                     \
      (LiteRtSignature signature, LiteRtParamIndex input_idx, LiteRtTensor * tensor))         \
    X(LiteRtStatus, LiteRtGetSignatureOutputTensorByIndex,                                    \
      (LiteRtSignature signature, LiteRtParamIndex output_idx, LiteRtTensor * tensor))        \
    X(LiteRtStatus, LiteRtGetTensorName, (LiteRtTensor tensor, const char **name))            \
    X(LiteRtStatus, LiteRtGetTensorTypeId, (LiteRtTensor tensor, LiteRtTensorTypeId * type_id)) \
    X(LiteRtStatus, LiteRtGetRankedTensorType,                                                \
      (LiteRtTensor tensor, LiteRtRankedTensorType * ranked_tensor_type))                     \
    /* litert/c/litert_model.h (also litert_model_types.h at HEAD) */                        \
    X(LiteRtStatus, LiteRtGetQuantizationTypeId,                                              \
      (LiteRtTensor tensor, LiteRtQuantizationTypeId * q_type_id))                            \
    X(LiteRtStatus, LiteRtGetPerTensorQuantization,                                           \
      (LiteRtTensor tensor, LiteRtQuantizationPerTensor * per_tensor_quantization))           \
    /* litert/c/litert_options.h */                                                          \
    X(LiteRtStatus, LiteRtCreateOptions, (LiteRtOptions * options))                           \
    X(void, LiteRtDestroyOptions, (LiteRtOptions options))                                    \
    X(LiteRtStatus, LiteRtSetOptionsHardwareAccelerators,                                     \
      (LiteRtOptions options, LiteRtHwAcceleratorSet hardware_accelerators))                  \
    /* Takes ownership of opaque_options (on success). */                                    \
    X(LiteRtStatus, LiteRtAddOpaqueOptions,                                                   \
      (LiteRtOptions options, LiteRtOpaqueOptions opaque_options))                            \
    /* litert/c/litert_opaque_options.h: the payload and its destructor are owned by the     \
     * created item on success (the identifier is copied); all four pointers must be         \
     * non-NULL. */                                                                          \
    X(LiteRtStatus, LiteRtCreateOpaqueOptions,                                                \
      (const char *payload_identifier, void *payload_data,                                    \
       void (*payload_destructor)(void *payload_data), LiteRtOpaqueOptions *options))         \
    X(void, LiteRtDestroyOpaqueOptions, (LiteRtOpaqueOptions options))                        \
    /* litert/c/litert_compiled_model.h */                                                   \
    X(LiteRtStatus, LiteRtCreateCompiledModel,                                                \
      (LiteRtEnvironment environment, LiteRtModel model, LiteRtOptions compilation_options,   \
       LiteRtCompiledModel * compiled_model))                                                 \
    X(void, LiteRtDestroyCompiledModel, (LiteRtCompiledModel compiled_model))                 \
    /* The requirements stay owned by the compiled model. */                                 \
    X(LiteRtStatus, LiteRtGetCompiledModelInputBufferRequirements,                            \
      (LiteRtCompiledModel compiled_model, LiteRtParamIndex signature_index,                  \
       LiteRtParamIndex input_index, LiteRtTensorBufferRequirements * buffer_requirements))   \
    X(LiteRtStatus, LiteRtGetCompiledModelOutputBufferRequirements,                           \
      (LiteRtCompiledModel compiled_model, LiteRtParamIndex signature_index,                  \
       LiteRtParamIndex output_index, LiteRtTensorBufferRequirements * buffer_requirements))  \
    X(LiteRtStatus, LiteRtRunCompiledModel,                                                   \
      (LiteRtCompiledModel compiled_model, LiteRtParamIndex signature_index,                  \
       size_t num_input_buffers, LiteRtTensorBuffer * input_buffers,                          \
       size_t num_output_buffers, LiteRtTensorBuffer * output_buffers))                       \
    X(LiteRtStatus, LiteRtCompiledModelIsFullyAccelerated,                                    \
      (LiteRtCompiledModel compiled_model, bool *fully_accelerated))                          \
    /* litert/c/litert_tensor_buffer.h */                                                    \
    X(LiteRtStatus, LiteRtCreateManagedTensorBufferFromRequirements,                          \
      (LiteRtEnvironment env, const LiteRtRankedTensorType *tensor_type,                      \
       LiteRtTensorBufferRequirements requirements, LiteRtTensorBuffer *buffer))              \
    X(void, LiteRtDestroyTensorBuffer, (LiteRtTensorBuffer buffer))                           \
    X(LiteRtStatus, LiteRtGetTensorBufferPackedSize,                                          \
      (LiteRtTensorBuffer tensor_buffer, size_t * size))                                      \
    X(LiteRtStatus, LiteRtLockTensorBuffer,                                                   \
      (LiteRtTensorBuffer tensor_buffer, void **host_mem_addr,                                \
       LiteRtTensorBufferLockMode lock_mode))                                                 \
    X(LiteRtStatus, LiteRtUnlockTensorBuffer, (LiteRtTensorBuffer buffer))

/* ---- Version probe ----------------------------------------------------------------------
 *
 * libLiteRt.so exports no version function, and a library older than 2.1.6 still exports a
 * LiteRtCreateModelFromFile, with two parameters instead of three: calling it through the
 * pointer type above would pass the environment as the file name. LiteRtCreateModelFromAllocation
 * (litert/c/litert_model.h) was first exported in the same release, after the environment
 * parameter was added, so the runner requires that symbol to exist. It is looked up, never
 * called, and so not declared. */
#define EM_LITERT_VERSION_PROBE "LiteRtCreateModelFromAllocation"

/* ---- CPU options (litert/c/options/litert_cpu_options.h and .cc) ----------------------
 *
 * LiteRT's CPU options builder (LrtCreateCpuOptions, LrtSetCpuOptionsNumThread,
 * LrtGetOpaqueCpuOptionsData, LrtGetCpuOptionsIdentifier) is compiled into the app, not
 * exported by libLiteRt.so. What it produces is plain data that the exported
 * LiteRtCreateOpaqueOptions accepts: an opaque-options item whose identifier is "xnnpack"
 * (LrtGetCpuOptionsIdentifier()) and whose payload is a NUL-terminated TOML text, one
 * `key = value` line per setting that was set, e.g. "num_threads = 2\n". The CPU (XNNPACK)
 * accelerator finds that item at compile time, parses it, and hands num_threads to
 * TfLiteXNNPackDelegateCreate, which builds a pthreadpool of that size when it is > 1.
 * Same identifier and format at v2.2.0 and HEAD. */
#define EM_LITERT_CPU_OPTIONS_IDENTIFIER "xnnpack"
#define EM_LITERT_CPU_OPTIONS_NUM_THREADS_KEY "num_threads"

#endif /* EDGEMATTE_LITERT_ABI_H */
