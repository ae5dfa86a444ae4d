// libnorm routing for ggml's CPU norm ops (part of libnorm's integrations/ggml; copied into
// ggml/src/ggml-cpu/ by integrations/ggml/build.sh, never committed to llama.cpp).
//
// Each hook is called at the top of the stock f32 kernel by EVERY thread (ith of nth). It returns
// true when libnorm computed this thread's share (the stock kernel then returns at once), false
// when the stock kernel must run. The decision is made from the tensors' metadata only, so every
// thread of one node takes the same path.
#pragma once

#include "ggml.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ggml_compute_params;

bool ggml_cpu_libnorm_norm(const struct ggml_compute_params * params, struct ggml_tensor * dst);
// dst_mul == NULL: plain RMS_NORM; otherwise the fused RMS_NORM + MUL (dst_rms_norm is not written)
bool ggml_cpu_libnorm_rms_norm(const struct ggml_compute_params * params,
                               struct ggml_tensor * dst_rms_norm, struct ggml_tensor * dst_mul);
bool ggml_cpu_libnorm_rms_norm_back(const struct ggml_compute_params * params, struct ggml_tensor * dst);
bool ggml_cpu_libnorm_group_norm(const struct ggml_compute_params * params, struct ggml_tensor * dst);
bool ggml_cpu_libnorm_l2_norm(const struct ggml_compute_params * params, struct ggml_tensor * dst);

// ---- public (exported from libggml-cpu; declare them yourself, they are not in ggml's headers) ----
// Runtime switch: 1 routes to libnorm, 0 runs ggml's stock code. Initial value: environment
// variable GGML_LIBNORM ("0" turns libnorm off; unset or anything else: on). Change it only while
// no graph is being computed.
__attribute__((visibility("default"))) void ggml_cpu_libnorm_set_enabled(int on);
__attribute__((visibility("default"))) int  ggml_cpu_libnorm_get_enabled(void);
// Counters, one increment per node (by thread 0): op is "norm", "rms_norm", "rms_norm_mul",
// "rms_norm_back", "group_norm" or "l2_norm"; what is "served" (libnorm computed it) or a
// fallback reason: "off" (switch), "ref" (use_ref), "type" (not f32), "strided" (elements not
// contiguous, nb0 != 4), "broadcast" (fused MUL with per-row weights), "layout" (unaligned or
// overlapping rows, partial overlap of output and input), "api" (this libnorm lacks the entry
// point), "error" (libnorm rejected the call; stock ran). Unknown names give UINT64_MAX.
__attribute__((visibility("default"))) uint64_t ggml_cpu_libnorm_count(const char * op, const char * what);
__attribute__((visibility("default"))) void ggml_cpu_libnorm_reset_counts(void);
// Which optional libnorm 0.3 features this build routes: bit 0 outer (3-D in one call), 1 L2,
// 2 group norm, 3 RMSNorm backward.
__attribute__((visibility("default"))) int ggml_cpu_libnorm_features(void);

#ifdef __cplusplus
}
#endif
