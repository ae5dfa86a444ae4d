// libnorm routing for ggml's CPU norm ops: NORM, RMS_NORM, fused RMS_NORM + MUL, and (with a
// libnorm that has them, detected when ggml is configured) L2_NORM, GROUP_NORM, RMS_NORM_BACK.
// Part of libnorm's integrations/ggml; integrations/ggml/build.sh copies it into
// ggml/src/ggml-cpu/. See ggml-cpu-libnorm.h for the contract of the hooks and the exports.
//
// Thread split: ggml calls every thread with (ith, nth) and each must write only its share. The
// glue hands (ith, nth) to libnorm, which cuts the rows into nth contiguous chunks (ggml's stock
// kernels interleave rows instead; either covers every row exactly once). Tensors whose rows do
// not form one uniformly strided run (a ggml_view_3d of per-head rows, a permuted 4-D tensor) are
// one call with libnorm's `outer` level when available, otherwise walked slice by slice over the
// same contiguous chunk of the flattened row sequence.

#include "ggml-cpu-libnorm.h"

#include "ggml-cpu-impl.h"
#include "ggml-impl.h"

#include <libnorm.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace {

enum op_id { OP_NORM, OP_RMS, OP_RMS_MUL, OP_RMS_BACK, OP_GROUP, OP_L2, OP_COUNT };
enum what_id { W_SERVED, W_OFF, W_REF, W_TYPE, W_STRIDED, W_BROADCAST, W_LAYOUT, W_API, W_ERROR,
               W_COUNT };

const char * const op_names[OP_COUNT] = { "norm", "rms_norm", "rms_norm_mul", "rms_norm_back",
                                          "group_norm", "l2_norm" };
const char * const what_names[W_COUNT] = { "served", "off", "ref", "type", "strided", "broadcast",
                                           "layout", "api", "error" };

std::atomic<uint64_t> counts[OP_COUNT][W_COUNT];

// -1: not read yet (GGML_LIBNORM is read on first use); 0 off; 1 on
std::atomic<int> enabled{-1};

bool is_enabled() {
    int e = enabled.load(std::memory_order_relaxed);
    if (e < 0) {
        const char * env = getenv("GGML_LIBNORM");
        e = (env != nullptr && strcmp(env, "0") == 0) ? 0 : 1;
        enabled.store(e, std::memory_order_relaxed);
    }
    return e == 1;
}

// Counts once per node (thread 0) and returns `served`.
bool note(const ggml_compute_params * params, op_id op, what_id w) {
    if (params->ith == 0) {
        counts[op][w].fetch_add(1, std::memory_order_relaxed);
    }
    return w == W_SERVED;
}

// Common gate: switch, use_ref.
bool gate(const ggml_compute_params * params, op_id op, what_id * why) {
    if (!is_enabled()) { *why = W_OFF; return false; }
    if (params->use_ref) { *why = W_REF; return false; }
    (void) op;
    return true;
}

// A float operand of shape ne[4] (the op's shape) with byte strides nb[4].
struct operand {
    char * data;
    size_t nb[4];
};

operand of(const ggml_tensor * t) {
    return operand{ (char *) t->data, { t->nb[0], t->nb[1], t->nb[2], t->nb[3] } };
}

// Rows of ne[0] contiguous floats, float-aligned, row strides in whole floats and >= ne[0]
// where more than one row exists along that dimension.
bool rows_ok(const operand & a, const int64_t ne[4]) {
    if (a.nb[0] != sizeof(float) || ((uintptr_t) a.data % sizeof(float)) != 0) {
        return false;
    }
    for (int k = 1; k < 4; k++) {
        if (a.nb[k] % sizeof(float) != 0) {
            return false;
        }
    }
    return ne[1] <= 1 || a.nb[1] >= (size_t) ne[0] * sizeof(float);
}

// Byte extent [lo, hi) of an operand.
void extent(const operand & a, const int64_t ne[4], uintptr_t * lo, uintptr_t * hi) {
    size_t last = (size_t) ne[0] * sizeof(float);
    for (int k = 1; k < 4; k++) {
        last += (size_t) (ne[k] - 1) * a.nb[k];
    }
    *lo = (uintptr_t) a.data;
    *hi = (uintptr_t) a.data + last;
}

bool disjoint(const operand & a, const operand & b, const int64_t ne[4]) {
    uintptr_t alo, ahi, blo, bhi;
    extent(a, ne, &alo, &ahi);
    extent(b, ne, &blo, &bhi);
    return ahi <= blo || bhi <= alo;
}

bool same_layout(const operand & a, const operand & b) {
    return a.data == b.data && a.nb[1] == b.nb[1] && a.nb[2] == b.nb[2] && a.nb[3] == b.nb[3];
}

// Output y may be exactly in place over x, or disjoint from it.
bool io_ok(const operand & y, const operand & x, const int64_t ne[4]) {
    return same_layout(y, x) || disjoint(y, x, ne);
}

// The flattened row sequence t = i1 + ne1*(i2 + ne2*i3) at a uniform byte stride? Sets *stride
// (bytes; 0 when there is only one row).
bool uniform(const operand & a, const int64_t ne[4], size_t * stride) {
    size_t s = 0, span = 1;
    bool have = false;
    for (int k = 1; k < 4; k++) {
        if (ne[k] <= 1) {
            continue;
        }
        if (!have) {
            s = a.nb[k];
            have = true;
        } else if (a.nb[k] != s * span) {
            return false;
        }
        span *= (size_t) ne[k];
    }
    *stride = s;
    return true;
}

// A per-row call: rows [of one run] with row strides (floats) and, when available, outer level.
struct row_call {
    size_t rows, outer;               // outer 0/1: plain
    size_t xs, ys, xos, yos;          // floats
    unsigned ith, nth;
};

libnorm_opts make_opts(const row_call & c) {
    libnorm_opts o = LIBNORM_OPTS_INIT;
    o.x_stride = c.xs;
    o.y_stride = c.ys;
    o.ith = c.ith;
    o.nth = c.nth;
#ifdef GGML_LIBNORM_HAS_OUTER
    o.outer = c.outer;
    o.x_outer_stride = c.xos;
    o.y_outer_stride = c.yos;
#endif
    return o;
}

// Runs kernel(y, x, z, call) over the whole op for thread ith of nth, following the layouts
// above. x and z (optional second input with x's layout, RMS backward's dz) are inputs, y the
// output. Returns the decision for this node: W_SERVED, or W_ERROR when libnorm rejected a
// whole-tensor call (every thread gets the same status, so every thread falls back).
template <typename K>
what_id run_rows(const ggml_compute_params * params, const int64_t ne[4], const operand & y,
                 const operand & x, K kernel) {
    const unsigned ith = (unsigned) params->ith, nth = (unsigned) params->nth;
    const size_t R = (size_t) ne[1] * (size_t) ne[2] * (size_t) ne[3];
    size_t xs = 0, ys = 0;

    // 1. one uniformly strided run of R rows: one call
    if (uniform(x, ne, &xs) && uniform(y, ne, &ys)) {
        row_call c = { R, 0, xs / 4, ys / 4, 0, 0, ith, nth };
        if (R == 1) { c.xs = c.ys = 0; }
        return kernel((float *) y.data, (const float *) x.data, c) == LIBNORM_OK ? W_SERVED : W_ERROR;
    }
#ifdef GGML_LIBNORM_HAS_OUTER
    // 2. rows along ne1, groups along ne2 (and ne3 when it continues ne2's stride): one call
    if ((ne[3] == 1 || (x.nb[3] == x.nb[2] * (size_t) ne[2] && y.nb[3] == y.nb[2] * (size_t) ne[2]))) {
        const size_t inner = (size_t) ne[1];
        row_call c = { inner, (size_t) ne[2] * (size_t) ne[3],
                       inner > 1 ? x.nb[1] / 4 : 0, inner > 1 ? y.nb[1] / 4 : 0,
                       x.nb[2] / 4, y.nb[2] / 4, ith, nth };
        return kernel((float *) y.data, (const float *) x.data, c) == LIBNORM_OK ? W_SERVED : W_ERROR;
    }
#endif
    // 3. walk the (i2, i3) slices over this thread's contiguous chunk of the R rows (the same
    // chunk libnorm's own split would give it); each call computes one slice's sub-range.
    size_t r0 = 0, r1 = R;
    if (nth > 1) {
        const size_t q = R / nth, rem = R % nth;
        r0 = ith * q + (ith < rem ? ith : rem);
        r1 = r0 + q + (ith < rem ? 1 : 0);
    }
    const size_t n1 = (size_t) ne[1], n2 = (size_t) ne[2];
    size_t t = r0;
    while (t < r1) {
        const size_t i1 = t % n1, i23 = t / n1, i2 = i23 % n2, i3 = i23 / n2;
        const size_t n = (n1 - i1) < (r1 - t) ? (n1 - i1) : (r1 - t);
        const float * xp = (const float *) (x.data + i1 * x.nb[1] + i2 * x.nb[2] + i3 * x.nb[3]);
        float * yp = (float *) (y.data + i1 * y.nb[1] + i2 * y.nb[2] + i3 * y.nb[3]);
        row_call c = { n, 0, n > 1 ? x.nb[1] / 4 : 0, n > 1 ? y.nb[1] / 4 : 0, 0, 0, 0, 1 };
        const int st = kernel(yp, xp, c);
        if (st != LIBNORM_OK) {
            // the metadata checks above make this unreachable; other threads may already have
            // written their share, so no consistent fallback exists
            GGML_ABORT("libnorm rejected a slice the glue validated: %s", libnorm_strerror(st));
        }
        t += n;
    }
    return W_SERVED;
}

bool is_f32(const ggml_tensor * t) { return t->type == GGML_TYPE_F32; }

float op_eps(const ggml_tensor * t, int index) {
    float eps;
    memcpy(&eps, (const char *) t->op_params + index * sizeof(int32_t), sizeof(float));
    return eps;
}

bool eps_ok(float eps) { return std::isfinite(eps) && eps >= 0.0f; }

}  // namespace

extern "C" {

bool ggml_cpu_libnorm_norm(const ggml_compute_params * params, ggml_tensor * dst) {
    what_id why;
    if (!gate(params, OP_NORM, &why)) {
        return note(params, OP_NORM, why);
    }
    const ggml_tensor * src0 = dst->src[0];
    if (!is_f32(src0) || !is_f32(dst)) {
        return note(params, OP_NORM, W_TYPE);
    }
    if (src0->nb[0] != sizeof(float) || dst->nb[0] != sizeof(float)) {
        return note(params, OP_NORM, W_STRIDED);
    }
    const float eps = op_eps(dst, 0);
    const operand x = of(src0), y = of(dst);
    if (!eps_ok(eps) || !rows_ok(x, src0->ne) || !rows_ok(y, src0->ne) || !io_ok(y, x, src0->ne)) {
        return note(params, OP_NORM, W_LAYOUT);
    }
    const size_t dim = (size_t) src0->ne[0];
    return note(params, OP_NORM, run_rows(params, src0->ne, y, x,
        [&](float * yp, const float * xp, const row_call & c) {
            const libnorm_opts o = make_opts(c);
            return libnorm_layernorm_f32_ex(yp, xp, nullptr, nullptr, c.rows, dim, eps, &o);
        }));
}

bool ggml_cpu_libnorm_rms_norm(const ggml_compute_params * params, ggml_tensor * dst_rms_norm,
                               ggml_tensor * dst_mul) {
    const op_id op = dst_mul ? OP_RMS_MUL : OP_RMS;
    what_id why;
    if (!gate(params, op, &why)) {
        return note(params, op, why);
    }
    const ggml_tensor * src0 = dst_rms_norm->src[0];
    const ggml_tensor * dst = dst_mul ? dst_mul : dst_rms_norm;
    const ggml_tensor * w = nullptr;
    if (dst_mul) {
        w = (dst_mul->src[0] == dst_rms_norm) ? dst_mul->src[1] : dst_mul->src[0];
    }
    if (!is_f32(src0) || !is_f32(dst) || (w && !is_f32(w))) {
        return note(params, op, W_TYPE);
    }
    if (src0->nb[0] != sizeof(float) || dst->nb[0] != sizeof(float) || (w && w->nb[0] != sizeof(float))) {
        return note(params, op, W_STRIDED);
    }
    // libnorm takes one weight vector for every row: a weight that differs per row (ggml
    // broadcasts src1 with i11 = i01 % ne11 etc.) stays on the stock path
    if (w && (w->ne[0] != src0->ne[0] || w->ne[1] != 1 || w->ne[2] != 1 || w->ne[3] != 1)) {
        return note(params, op, W_BROADCAST);
    }
    const float eps = op_eps(dst_rms_norm, 0);
    const operand x = of(src0), y = of(dst);
    if (!eps_ok(eps) || !rows_ok(x, src0->ne) || !rows_ok(y, src0->ne) || !io_ok(y, x, src0->ne)) {
        return note(params, op, W_LAYOUT);
    }
    const float * wp = nullptr;
    if (w) {
        // the weight row [w, w + dim) must not overlap any output row
        const operand w_row = { (char *) w->data, { sizeof(float), 0, 0, 0 } };
        if (((uintptr_t) w->data % sizeof(float)) != 0 || !disjoint(y, w_row, src0->ne)) {
            return note(params, op, W_LAYOUT);
        }
        wp = (const float *) w->data;
    }
    const size_t dim = (size_t) src0->ne[0];
    return note(params, op, run_rows(params, src0->ne, y, x,
        [&](float * yp, const float * xp, const row_call & c) {
            const libnorm_opts o = make_opts(c);
            return libnorm_rmsnorm_f32_ex(yp, xp, wp, c.rows, dim, eps, &o);
        }));
}

bool ggml_cpu_libnorm_l2_norm(const ggml_compute_params * params, ggml_tensor * dst) {
    what_id why;
    if (!gate(params, OP_L2, &why)) {
        return note(params, OP_L2, why);
    }
#ifndef GGML_LIBNORM_HAS_L2
    (void) dst;
    return note(params, OP_L2, W_API);
#else
    const ggml_tensor * src0 = dst->src[0];
    if (!is_f32(src0) || !is_f32(dst)) {
        return note(params, OP_L2, W_TYPE);
    }
    if (src0->nb[0] != sizeof(float) || dst->nb[0] != sizeof(float)) {
        return note(params, OP_L2, W_STRIDED);
    }
    const float eps = op_eps(dst, 0);
    const operand x = of(src0), y = of(dst);
    if (!eps_ok(eps) || !rows_ok(x, src0->ne) || !rows_ok(y, src0->ne) || !io_ok(y, x, src0->ne)) {
        return note(params, OP_L2, W_LAYOUT);
    }
    const size_t dim = (size_t) src0->ne[0];
    return note(params, OP_L2, run_rows(params, src0->ne, y, x,
        [&](float * yp, const float * xp, const row_call & c) {
            const libnorm_opts o = make_opts(c);
            return libnorm_l2norm_f32_ex(yp, xp, c.rows, dim, eps, &o);
        }));
#endif
}

bool ggml_cpu_libnorm_rms_norm_back(const ggml_compute_params * params, ggml_tensor * dst) {
    what_id why;
    if (!gate(params, OP_RMS_BACK, &why)) {
        return note(params, OP_RMS_BACK, why);
    }
#ifndef GGML_LIBNORM_HAS_RMS_BACK
    (void) dst;
    return note(params, OP_RMS_BACK, W_API);
#else
    const ggml_tensor * dz_t = dst->src[0];  // gradient of the forward output
    const ggml_tensor * x_t = dst->src[1];   // forward input
    if (!is_f32(dz_t) || !is_f32(x_t) || !is_f32(dst)) {
        return note(params, OP_RMS_BACK, W_TYPE);
    }
    if (dz_t->nb[0] != sizeof(float) || x_t->nb[0] != sizeof(float) || dst->nb[0] != sizeof(float)) {
        return note(params, OP_RMS_BACK, W_STRIDED);
    }
    const float eps = op_eps(dst, 0);
    const operand dz = of(dz_t), x = of(x_t), dx = of(dst);
    const int64_t * ne = dz_t->ne;
    // libnorm reads dz with x's strides; dx may be exactly in place over dz, never over x
    if (!eps_ok(eps) || !rows_ok(x, ne) || !rows_ok(dx, ne) ||
        dz.nb[1] != x.nb[1] || dz.nb[2] != x.nb[2] || dz.nb[3] != x.nb[3] ||
        !io_ok(dx, dz, ne) || !disjoint(dx, x, ne) || ((uintptr_t) dz.data % sizeof(float)) != 0) {
        return note(params, OP_RMS_BACK, W_LAYOUT);
    }
    const size_t dim = (size_t) ne[0];
    const ptrdiff_t dz_off = dz.data - x.data;  // dz row = x row + the same byte offset
    return note(params, OP_RMS_BACK, run_rows(params, ne, dx, x,
        [&](float * yp, const float * xp, const row_call & c) {
            const libnorm_opts o = make_opts(c);
            const float * dzp = (const float *) ((const char *) xp + dz_off);
            return libnorm_rmsnorm_back_f32_ex(yp, dzp, xp, c.rows, dim, eps, &o);
        }));
#endif
}

bool ggml_cpu_libnorm_group_norm(const ggml_compute_params * params, ggml_tensor * dst) {
    what_id why;
    if (!gate(params, OP_GROUP, &why)) {
        return note(params, OP_GROUP, why);
    }
#ifndef GGML_LIBNORM_HAS_GROUP
    (void) dst;
    return note(params, OP_GROUP, W_API);
#else
    const ggml_tensor * src0 = dst->src[0];
    if (!is_f32(src0) || !is_f32(dst)) {
        return note(params, OP_GROUP, W_TYPE);
    }
    if (src0->nb[0] != sizeof(float) || dst->nb[0] != sizeof(float)) {
        return note(params, OP_GROUP, W_STRIDED);
    }
    const int32_t groups = ((const int32_t *) dst->op_params)[0];
    const float eps = op_eps(dst, 1);
    const int64_t * ne = src0->ne;
    const operand x = of(src0), y = of(dst);
    // a group is one contiguous run of spatial * channels floats: rows (ne1) and channels (ne2)
    // must be dense; the batch (ne3) may have any float stride
    const size_t spatial = (size_t) ne[0] * (size_t) ne[1];
    const bool dense = (ne[1] == 1 || (x.nb[1] == (size_t) ne[0] * 4 && y.nb[1] == (size_t) ne[0] * 4)) &&
                       (ne[2] == 1 || (x.nb[2] == spatial * 4 && y.nb[2] == spatial * 4));
    if (groups <= 0 || !eps_ok(eps) || !dense || !rows_ok(x, ne) || !rows_ok(y, ne) || !io_ok(y, x, ne) ||
        (ne[3] > 1 && (x.nb[3] < (size_t) ne[2] * spatial * 4 || y.nb[3] < (size_t) ne[2] * spatial * 4))) {
        return note(params, OP_GROUP, W_LAYOUT);
    }
    libnorm_opts o = LIBNORM_OPTS_INIT;
    o.x_stride = spatial;
    o.y_stride = spatial;
    o.x_outer_stride = ne[3] > 1 ? x.nb[3] / 4 : 0;
    o.y_outer_stride = ne[3] > 1 ? y.nb[3] / 4 : 0;
    o.ith = (unsigned) params->ith;
    o.nth = (unsigned) params->nth;
    const int st = libnorm_groupnorm_f32_ex((float *) y.data, (const float *) x.data, nullptr, nullptr,
                                            (size_t) ne[3], (size_t) ne[2], spatial, (size_t) groups,
                                            eps, &o);
    return note(params, OP_GROUP, st == LIBNORM_OK ? W_SERVED : W_ERROR);
#endif
}

void ggml_cpu_libnorm_set_enabled(int on) {
    enabled.store(on ? 1 : 0, std::memory_order_relaxed);
}

int ggml_cpu_libnorm_get_enabled(void) {
    return is_enabled() ? 1 : 0;
}

uint64_t ggml_cpu_libnorm_count(const char * op, const char * what) {
    for (int o = 0; o < OP_COUNT; o++) {
        for (int w = 0; w < W_COUNT; w++) {
            if (op && what && strcmp(op, op_names[o]) == 0 && strcmp(what, what_names[w]) == 0) {
                return counts[o][w].load(std::memory_order_relaxed);
            }
        }
    }
    return UINT64_MAX;
}

void ggml_cpu_libnorm_reset_counts(void) {
    for (int o = 0; o < OP_COUNT; o++) {
        for (int w = 0; w < W_COUNT; w++) {
            counts[o][w].store(0, std::memory_order_relaxed);
        }
    }
}

int ggml_cpu_libnorm_features(void) {
    int f = 0;
#ifdef GGML_LIBNORM_HAS_OUTER
    f |= 1;
#endif
#ifdef GGML_LIBNORM_HAS_L2
    f |= 2;
#endif
#ifdef GGML_LIBNORM_HAS_GROUP
    f |= 4;
#endif
#ifdef GGML_LIBNORM_HAS_RMS_BACK
    f |= 8;
#endif
    return f;
}

}  // extern "C"
