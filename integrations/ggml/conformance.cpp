// Conformance of libnorm-routed ggml against stock ggml and an exact oracle (libnorm issue 8,
// item 3). Built by integrations/ggml/build.sh against the patched ggml (one binary: the glue's
// runtime switch ggml_cpu_libnorm_set_enabled() selects libnorm or ggml's stock kernels).
//
// For every routed op (NORM, RMS_NORM, fused RMS_NORM+MUL, and L2_NORM, GROUP_NORM,
// RMS_NORM_BACK when this libnorm has them) over dims 1..130, 768, 4096, 16384, 1-4-D tensors,
// row-strided views, 3-D per-head views, permuted 4-D tensors, in-place ops, eps 0 / 1e-6 / 1e-5,
// and constant, huge and NaN rows, at 1 and 2 threads:
//   - libnorm (patched) vs the oracle (long double): |y - y*| <= 8 FLT_EPSILON max(1, |y*|)
//     (NaN exactly where the oracle is NaN);
//   - libnorm vs stock: |y - y_stock| <= 1e-5 max(1, |y*|) wherever stock itself is within that
//     of the oracle (stock overflows on huge rows and divides 0 by 0 on constant rows with eps 0:
//     those elements are counted and reported, not compared);
//   - the glue's counters: libnorm served every routed node; the fallbacks (element-strided
//     input, per-row broadcast weights of the fused MUL, use_ref, the switch off, an entry point
//     this libnorm lacks) were taken and stock computed them.
// Prints a worst-case table and exits 0 only when every check held.
#include "ggml.h"
#include "ggml-cpu.h"

#include <cfloat>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

extern "C" {
void ggml_cpu_libnorm_set_enabled(int on);
int ggml_cpu_libnorm_get_enabled(void);
uint64_t ggml_cpu_libnorm_count(const char * op, const char * what);
void ggml_cpu_libnorm_reset_counts(void);
int ggml_cpu_libnorm_features(void);
}

namespace {

int g_fail = 0;
long g_cases = 0;

#define CHECK(cond, ...)                                  \
    do {                                                  \
        if (!(cond)) {                                    \
            if (g_fail < 30) {                            \
                fprintf(stderr, "FAIL: " __VA_ARGS__);    \
                fprintf(stderr, "\n");                    \
            }                                             \
            g_fail++;                                     \
        }                                                 \
    } while (0)

struct worst {
    double vs_oracle = 0, vs_stock = 0, stock_vs_oracle = 0;
    long compared = 0, stock_off = 0, nodes = 0;
};
std::map<std::string, worst> g_table;

uint64_t rng_state = 0x9E3779B97F4A7C15ull;
double urand() {  // [0, 1)
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double) (rng_state >> 11) * (1.0 / 9007199254740992.0);
}

enum row_kind { ROW_NORMAL, ROW_CONST, ROW_HUGE, ROW_NAN, ROW_ZERO };

// Fills a row of n floats (element stride 1) of the given kind.
void fill_row(float * p, int64_t n, row_kind k) {
    for (int64_t i = 0; i < n; i++) {
        switch (k) {
        case ROW_NORMAL: p[i] = (float) (urand() * 4.0 - 1.5); break;
        case ROW_CONST: p[i] = 3.25f; break;
        case ROW_HUGE: p[i] = (float) ((urand() * 2.0 - 1.0) * 3e30); break;
        case ROW_NAN: p[i] = (float) urand(); break;
        case ROW_ZERO: p[i] = 0.0f; break;
        }
    }
    if (k == ROW_NAN) {
        p[n / 2] = NAN;
    }
}

row_kind kind_of(int64_t r, bool special) {
    if (!special) {
        return ROW_NORMAL;
    }
    switch (r % 5) {
    case 1: return ROW_CONST;
    case 2: return ROW_HUGE;
    case 3: return ROW_NAN;
    case 4: return ROW_ZERO;
    default: return ROW_NORMAL;
    }
}

// Element pointer of a tensor (any strides).
float * at(const ggml_tensor * t, int64_t i0, int64_t i1, int64_t i2, int64_t i3) {
    return (float *) ((char *) t->data + i0 * t->nb[0] + i1 * t->nb[1] + i2 * t->nb[2] + i3 * t->nb[3]);
}

// Fills a tensor's logical rows (dims 1..3) with rows of the given kinds (row index t flattened).
void fill_tensor(ggml_tensor * t, bool special) {
    std::vector<float> row(t->ne[0]);
    int64_t r = 0;
    for (int64_t i3 = 0; i3 < t->ne[3]; i3++)
        for (int64_t i2 = 0; i2 < t->ne[2]; i2++)
            for (int64_t i1 = 0; i1 < t->ne[1]; i1++, r++) {
                fill_row(row.data(), t->ne[0], kind_of(r, special));
                for (int64_t i0 = 0; i0 < t->ne[0]; i0++) {
                    *at(t, i0, i1, i2, i3) = row[i0];
                }
            }
}

std::vector<float> read_tensor(const ggml_tensor * t) {
    std::vector<float> v;
    for (int64_t i3 = 0; i3 < t->ne[3]; i3++)
        for (int64_t i2 = 0; i2 < t->ne[2]; i2++)
            for (int64_t i1 = 0; i1 < t->ne[1]; i1++)
                for (int64_t i0 = 0; i0 < t->ne[0]; i0++) {
                    v.push_back(*at(t, i0, i1, i2, i3));
                }
    return v;
}

typedef long double ld;

// One test case: a context, the graph, its inputs (restored before every run) and an oracle.
struct test_case {
    std::string op;         // counter name ("norm", "rms_norm", "rms_norm_mul", ...)
    std::string desc;
    ggml_context * ctx = nullptr;
    ggml_cgraph * gf = nullptr;
    ggml_tensor * out = nullptr;
    std::vector<ggml_tensor *> inputs;           // tensors whose data is restored each run
    std::vector<std::vector<char>> saved;        // their bytes (whole buffers)
    std::vector<ld> oracle;                      // per output element, read_tensor order
    std::vector<ld> scale;                       // per element: the error scale beyond max(1,|y|) (RMS_NORM_BACK), or empty
    std::string expect = "served";               // counter the op's node must hit
};

void save_inputs(test_case & tc) {
    tc.saved.clear();
    for (ggml_tensor * t : tc.inputs) {
        const char * p = (const char *) t->data;
        tc.saved.emplace_back(p, p + ggml_nbytes(t));
    }
}

void restore_inputs(test_case & tc) {
    for (size_t k = 0; k < tc.inputs.size(); k++) {
        memcpy(tc.inputs[k]->data, tc.saved[k].data(), tc.saved[k].size());
    }
}

std::vector<float> run(test_case & tc, int threads, bool libnorm, bool use_ref = false) {
    // poison the output first (a row the kernels forget keeps the poison, not the previous run's
    // result), then restore the inputs (in-place ops: the output is the input)
    for (int64_t i3 = 0; i3 < tc.out->ne[3]; i3++)
        for (int64_t i2 = 0; i2 < tc.out->ne[2]; i2++)
            for (int64_t i1 = 0; i1 < tc.out->ne[1]; i1++)
                for (int64_t i0 = 0; i0 < tc.out->ne[0]; i0++) *at(tc.out, i0, i1, i2, i3) = -7.0e33f;
    restore_inputs(tc);
    ggml_cpu_libnorm_set_enabled(libnorm ? 1 : 0);
    ggml_cplan plan = ggml_graph_plan(tc.gf, threads, nullptr);
    std::vector<uint8_t> work(plan.work_size + 1);
    plan.work_data = work.data();
    plan.use_ref = use_ref;
    CHECK(ggml_graph_compute(tc.gf, &plan) == GGML_STATUS_SUCCESS, "%s: compute failed", tc.desc.c_str());
    return read_tensor(tc.out);
}

// Oracles (long double). Rows are read through the tensors' strides.
ld row_norm_oracle(const std::vector<ld> & x, ld eps, std::vector<ld> & y) {
    const size_t n = x.size();
    ld s = 0;
    for (ld v : x) s += v;
    const ld mean = s / n;
    ld q = 0;
    for (ld v : x) q += (v - mean) * (v - mean);
    const ld var = q / n;
    y.resize(n);
    for (size_t i = 0; i < n; i++) {
        const ld d = x[i] - mean;
        y[i] = (d == 0) ? 0 : d / sqrtl(var + eps);
    }
    return var;
}

void compare(test_case & tc, int threads) {
    worst & w = g_table[tc.op];
    const std::vector<float> stock = run(tc, threads, false);
    ggml_cpu_libnorm_reset_counts();
    const std::vector<float> patched = run(tc, threads, true);
    g_cases++;
    const uint64_t hit = ggml_cpu_libnorm_count(tc.op.c_str(), tc.expect.c_str());
    CHECK(hit == 1, "%s (%d threads): counter %s/%s = %" PRIu64 ", expected 1", tc.desc.c_str(), threads,
          tc.op.c_str(), tc.expect.c_str(), hit);
    if (tc.expect == "served") {
        w.nodes++;
    }
    CHECK(stock.size() == tc.oracle.size() && patched.size() == tc.oracle.size(), "%s: sizes", tc.desc.c_str());
    const double tol_oracle = 8.0 * FLT_EPSILON, tol_stock = 1e-5;
    int reported = 0;
    for (size_t i = 0; i < tc.oracle.size() && i < patched.size(); i++) {
        const ld o = tc.oracle[i];
        if (std::isnan((double) o)) {
            // stock L2 turns a NaN row into x / eps (fmaxf drops the NaN): only libnorm's own
            // NaN contract is asserted
            CHECK(tc.expect != "served" || std::isnan(patched[i]), "%s: element %zu should be NaN, is %g", tc.desc.c_str(), i, patched[i]);
            continue;
        }
        const double scale = std::fmax(std::fmax(1.0, std::fabs((double) o)),
                                       i < tc.scale.size() ? (double) tc.scale[i] : 1.0);
        const double ep = std::isfinite(patched[i]) ? (double) (fabsl((ld) patched[i] - o) / scale) : INFINITY;
        const double es = std::isfinite(stock[i]) ? (double) (fabsl((ld) stock[i] - o) / scale) : INFINITY;
        const double eps_ = std::isfinite(patched[i]) && std::isfinite(stock[i])
                                ? std::fabs((double) patched[i] - (double) stock[i]) / scale : INFINITY;
        if (tc.expect == "served" && !(ep <= w.vs_oracle)) w.vs_oracle = ep;
        // libnorm vs the oracle, on libnorm's own contract (fallback cases are stock: only the
        // stock comparison below applies, with the 1e-5 bound, and both ran the same code)
        if (tc.expect == "served") {
            if (!(ep <= tol_oracle) && reported++ < 3) {
                CHECK(false, "%s (%d threads): element %zu: libnorm %.9g, exact %.12Lg (%.3g ulp-rel)",
                      tc.desc.c_str(), threads, i, patched[i], o, ep / FLT_EPSILON);
            } else if (!(ep <= tol_oracle)) {
                g_fail++;
            }
        }
        if (es <= tol_stock) {
            w.compared++;
            if (eps_ > w.vs_stock) w.vs_stock = eps_;
            if (es > w.stock_vs_oracle) w.stock_vs_oracle = es;
            if (!(eps_ <= tol_stock) && reported++ < 3) {
                CHECK(false, "%s (%d threads): element %zu: libnorm %.9g vs stock %.9g", tc.desc.c_str(),
                      threads, i, patched[i], stock[i]);
            }
        } else {
            w.stock_off++;
        }
    }
}

// ---- case builders ----

ggml_context * new_ctx(size_t floats) {
    ggml_init_params p = { floats * sizeof(float) * 3 + 16 * 1024 * 1024, nullptr, false };
    return ggml_init(p);
}

// rows: for per-row ops, the oracle y for one row.
typedef std::function<void(const std::vector<ld> & x, const std::vector<ld> & z, std::vector<ld> & y)> row_fn;

// Oracle over a per-row op: out has src's shape; x (and z) read through their strides.
// A row oracle may set this to the row's per-element error scales (see compare()).
static std::vector<ld> g_rowscale;

void per_row_oracle(test_case & tc, const ggml_tensor * x, const ggml_tensor * z, row_fn f) {
    tc.oracle.clear();
    tc.scale.clear();
    std::vector<ld> xr(x->ne[0]), zr(x->ne[0]), yr;
    for (int64_t i3 = 0; i3 < x->ne[3]; i3++)
        for (int64_t i2 = 0; i2 < x->ne[2]; i2++)
            for (int64_t i1 = 0; i1 < x->ne[1]; i1++) {
                bool nan = false;
                for (int64_t i0 = 0; i0 < x->ne[0]; i0++) {
                    xr[i0] = *at(x, i0, i1, i2, i3);
                    if (z) zr[i0] = *at(z, i0, i1, i2, i3);
                    nan |= std::isnan((double) xr[i0]) || (z && std::isnan((double) zr[i0]));
                }
                if (nan) {
                    for (int64_t i0 = 0; i0 < x->ne[0]; i0++) tc.oracle.push_back(NAN);
                    tc.scale.resize(tc.oracle.size(), 1);
                    continue;
                }
                g_rowscale.clear();
                f(xr, zr, yr);
                tc.oracle.insert(tc.oracle.end(), yr.begin(), yr.end());
                if (g_rowscale.size() == yr.size())
                    tc.scale.insert(tc.scale.end(), g_rowscale.begin(), g_rowscale.end());
                else
                    tc.scale.resize(tc.oracle.size(), 1);
            }
}

enum layout { L_CONTIG, L_ROWSTRIDE, L_HEADS, L_PERMUTED, L_INPLACE, L_ELEMSTRIDE };
const char * layout_name[] = { "contiguous", "row-strided view", "3-D per-head view", "permuted 4-D",
                               "in place", "element-strided (transposed)" };

// The input tensor of a per-row op: shape ne (logical) in the given layout.
ggml_tensor * make_input(ggml_context * ctx, const int64_t ne[4], layout l, std::vector<ggml_tensor *> & bufs) {
    ggml_tensor * t = nullptr;
    switch (l) {
    case L_CONTIG:
    case L_INPLACE:
        t = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, ne[0], ne[1], ne[2], ne[3]);
        bufs.push_back(t);
        return t;
    case L_ROWSTRIDE: {
        ggml_tensor * b = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, ne[0] + 3, ne[1], ne[2], ne[3]);
        bufs.push_back(b);
        return ggml_view_4d(ctx, b, ne[0], ne[1], ne[2], ne[3], b->nb[1], b->nb[2], b->nb[3], 4);
    }
    case L_HEADS: {
        // a fused QKV row per token: [3 * heads * dim, tokens]; q is [dim, heads, tokens]
        ggml_tensor * b = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 3 * ne[0] * ne[1], ne[2] * ne[3]);
        bufs.push_back(b);
        return ggml_view_3d(ctx, b, ne[0], ne[1], ne[2] * ne[3], ne[0] * 4, b->nb[1], ne[0] * ne[1] * 4);
    }
    case L_PERMUTED: {
        ggml_tensor * b = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, ne[0], ne[2], ne[1], ne[3]);
        bufs.push_back(b);
        return ggml_permute(ctx, b, 0, 2, 1, 3);
    }
    case L_ELEMSTRIDE: {
        ggml_tensor * b = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, ne[1], ne[0]);
        bufs.push_back(b);
        return ggml_transpose(ctx, b);
    }
    }
    return t;
}

bool g_have_l2, g_have_group, g_have_back;

void per_row_case(const char * op, const int64_t ne_in[4], layout l, float eps, bool special, int threads) {
    int64_t ne[4] = { ne_in[0], ne_in[1], ne_in[2], ne_in[3] };
    if (l == L_ELEMSTRIDE) { ne[2] = ne[3] = 1; }
    const size_t n = (size_t) (ne[0] + 3) * ne[1] * ne[2] * ne[3] * 3 + 64;
    test_case tc;
    tc.op = op;
    tc.ctx = new_ctx(4 * n);
    char d[256];
    snprintf(d, sizeof d, "%s [%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 "] %s eps=%g%s", op, ne[0], ne[1], ne[2],
             ne[3], layout_name[l], eps, special ? " special rows" : "");
    tc.desc = d;
    std::vector<ggml_tensor *> bufs;
    ggml_tensor * x = make_input(tc.ctx, ne, l, bufs);
    ggml_tensor * z = nullptr;  // dz for the backward op
    ggml_tensor * w = nullptr;
    const std::string o = op;
    const bool inplace = (l == L_INPLACE);
    if (o == "norm") {
        tc.out = inplace ? ggml_norm_inplace(tc.ctx, x, eps) : ggml_norm(tc.ctx, x, eps);
    } else if (o == "rms_norm") {
        tc.out = inplace ? ggml_rms_norm_inplace(tc.ctx, x, eps) : ggml_rms_norm(tc.ctx, x, eps);
    } else if (o == "rms_norm_mul") {
        w = ggml_new_tensor_1d(tc.ctx, GGML_TYPE_F32, ne[0]);
        bufs.push_back(w);
        tc.out = ggml_mul(tc.ctx, ggml_rms_norm(tc.ctx, x, eps), w);
    } else if (o == "l2_norm") {
        tc.out = ggml_l2_norm(tc.ctx, x, eps);
        if (!g_have_l2) tc.expect = "api";
    } else if (o == "rms_norm_back") {
        z = make_input(tc.ctx, ne, l == L_INPLACE ? L_CONTIG : l, bufs);
        tc.out = ggml_rms_norm_back(tc.ctx, z, x, eps);
        if (!g_have_back) tc.expect = "api";
    }
    if (l == L_ELEMSTRIDE) {
        tc.expect = (o == "l2_norm" && !g_have_l2) ? "api" : "strided";
    }
    tc.gf = ggml_new_graph(tc.ctx);
    ggml_build_forward_expand(tc.gf, tc.out);
    for (ggml_tensor * b : bufs) {
        fill_tensor(b, false);
    }
    fill_tensor(x, special);  // through the view: the special rows land in the op's rows
    if (w) {
        for (int64_t i = 0; i < ne[0]; i++) ((float *) w->data)[i] = (float) (0.5 + urand());
    }
    tc.inputs = bufs;
    save_inputs(tc);
    const ld e = eps;
    std::vector<ld> wv;
    if (w) for (int64_t i = 0; i < ne[0]; i++) wv.push_back(((float *) w->data)[i]);
    per_row_oracle(tc, x, z, [&](const std::vector<ld> & xr, const std::vector<ld> & zr, std::vector<ld> & y) {
        const size_t m = xr.size();
        y.assign(m, 0);
        if (o == "norm") {
            row_norm_oracle(xr, e, y);
            return;
        }
        ld ss = 0;
        for (ld v : xr) ss += v * v;
        if (o == "rms_norm" || o == "rms_norm_mul") {
            for (size_t i = 0; i < m; i++) {
                y[i] = xr[i] == 0 ? 0 : xr[i] / sqrtl(ss / m + e);
                if (w) y[i] *= wv[i];
            }
        } else if (o == "l2_norm") {
            const ld nrm = sqrtl(ss) > e ? sqrtl(ss) : e;
            for (size_t i = 0; i < m; i++) y[i] = xr[i] == 0 ? 0 : xr[i] / nrm;
        } else {  // rms_norm_back: dx = (dz + x * (-sum x dz / (sum xx + eps n))) / sqrt(sum xx / n + eps)
            ld sxz = 0;
            for (size_t i = 0; i < m; i++) sxz += xr[i] * zr[i];
            const ld c = -sxz / (ss + e * m);
            for (size_t i = 0; i < m; i++) y[i] = (zr[i] + xr[i] * c) / sqrtl(ss / m + e);
            // dz and x*c cancel (for dim 1 entirely but for eps): any float evaluation is
            // accurate relative to the terms, not to dx. libnorm's contract for RMSNorm backward
            // (include/libnorm.h): the scale max(|dx|, |dz| r, |x| r sum|x dz| / S).
            ld sabs = 0;
            for (size_t i = 0; i < m; i++) sabs += fabsl(xr[i] * zr[i]);
            const ld r = 1 / sqrtl(ss / m + e), S = ss + e * m;
            g_rowscale.resize(m);
            for (size_t i = 0; i < m; i++) {
                const ld a = fabsl(zr[i]) * r, b = S > 0 ? fabsl(xr[i]) * r * sabs / S : 0;
                g_rowscale[i] = a > b ? a : b;
            }
        }
    });
    compare(tc, threads);
    ggml_free(tc.ctx);
}

void group_case(const int64_t ne[4], int groups, float eps, bool special, int threads) {
    test_case tc;
    tc.op = "group_norm";
    tc.ctx = new_ctx((size_t) 4 * ne[0] * ne[1] * ne[2] * ne[3] + 64);
    char d[256];
    snprintf(d, sizeof d, "group_norm [%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 "] groups=%d eps=%g%s", ne[0], ne[1],
             ne[2], ne[3], groups, eps, special ? " special rows" : "");
    tc.desc = d;
    ggml_tensor * x = ggml_new_tensor_4d(tc.ctx, GGML_TYPE_F32, ne[0], ne[1], ne[2], ne[3]);
    tc.out = ggml_group_norm(tc.ctx, x, groups, eps);
    if (!g_have_group) tc.expect = "api";
    tc.gf = ggml_new_graph(tc.ctx);
    ggml_build_forward_expand(tc.gf, tc.out);
    // special: per (batch, channel) plane kinds (a whole group constant needs all its channels)
    fill_tensor(x, false);
    if (special) {
        for (int64_t b = 0; b < ne[3]; b++)
            for (int64_t c = 0; c < ne[2]; c++) {
                row_kind k = kind_of(b, true);
                std::vector<float> plane(ne[0] * ne[1]);
                fill_row(plane.data(), ne[0] * ne[1], k == ROW_NAN && c != 0 ? ROW_NORMAL : k);
                memcpy(at(x, 0, 0, c, b), plane.data(), plane.size() * 4);
            }
    }
    tc.inputs = { x };
    save_inputs(tc);
    // oracle in read_tensor order
    const int64_t C = ne[2], sp = ne[0] * ne[1];
    const int64_t cpg = (C + groups - 1) / groups;
    tc.oracle.assign((size_t) sp * C * ne[3], 0);
    for (int64_t b = 0; b < ne[3]; b++)
        for (int64_t g = 0; g < groups; g++) {
            const int64_t c0 = g * cpg, c1 = std::min<int64_t>(C, c0 + cpg);
            if (c0 >= c1) continue;
            std::vector<ld> xr, y;
            for (int64_t c = c0; c < c1; c++)
                for (int64_t i = 0; i < sp; i++) xr.push_back(((float *) at(x, 0, 0, c, b))[i]);
            bool nan = false;
            for (ld v : xr) nan |= std::isnan((double) v);
            if (nan) y.assign(xr.size(), NAN); else row_norm_oracle(xr, eps, y);
            size_t k = 0;
            for (int64_t c = c0; c < c1; c++)
                for (int64_t i = 0; i < sp; i++) tc.oracle[(size_t) (b * C + c) * sp + i] = y[k++];
        }
    compare(tc, threads);
    ggml_free(tc.ctx);
}

// Fallbacks the counters must show, and stock computing them (compared by compare()).
void fallback_cases(int threads) {
    const int64_t ne[4] = { 37, 5, 1, 1 };
    // element-strided input (nb00 != 4): NORM and L2 have a stock strided path
    per_row_case("norm", ne, L_ELEMSTRIDE, 1e-5f, false, threads);
    per_row_case("l2_norm", ne, L_ELEMSTRIDE, 1e-5f, false, threads);
    // fused RMS_NORM + MUL with a weight per row: broadcast fallback
    {
        test_case tc;
        tc.op = "rms_norm_mul";
        tc.expect = "broadcast";
        tc.desc = "rms_norm_mul [64,4] weight per row";
        tc.ctx = new_ctx(4096);
        ggml_tensor * x = ggml_new_tensor_2d(tc.ctx, GGML_TYPE_F32, 64, 4);
        ggml_tensor * w = ggml_new_tensor_2d(tc.ctx, GGML_TYPE_F32, 64, 4);
        tc.out = ggml_mul(tc.ctx, ggml_rms_norm(tc.ctx, x, 1e-5f), w);
        tc.gf = ggml_new_graph(tc.ctx);
        ggml_build_forward_expand(tc.gf, tc.out);
        fill_tensor(x, false);
        fill_tensor(w, false);
        tc.inputs = { x, w };
        save_inputs(tc);
        per_row_oracle(tc, x, w, [](const std::vector<ld> & xr, const std::vector<ld> & wr, std::vector<ld> & y) {
            ld ss = 0;
            for (ld v : xr) ss += v * v;
            y.resize(xr.size());
            for (size_t i = 0; i < xr.size(); i++) y[i] = xr[i] / sqrtl(ss / xr.size() + 1e-5L) * wr[i];
        });
        compare(tc, threads);
        ggml_free(tc.ctx);
    }
    // use_ref and the switch: stock code, counted as such
    {
        ggml_context * ctx = new_ctx(4096);
        ggml_tensor * x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 64, 4);
        ggml_tensor * w = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 64);
        fill_tensor(x, false);
        fill_tensor(w, false);
        ggml_tensor * y = ggml_mul(ctx, ggml_rms_norm(ctx, x, 1e-5f), w);
        ggml_tensor * y2 = ggml_norm(ctx, x, 1e-5f);
        ggml_cgraph * gf = ggml_new_graph(ctx);
        ggml_build_forward_expand(gf, y);
        ggml_build_forward_expand(gf, y2);
        test_case tc;
        tc.gf = gf;
        tc.out = y;
        tc.desc = "use_ref / switch";
        ggml_cpu_libnorm_reset_counts();
        run(tc, threads, true, true);
        // use_ref turns ggml's fusion off too: the plain RMS_NORM node is the one counted
        CHECK(ggml_cpu_libnorm_count("rms_norm", "ref") == 1 && ggml_cpu_libnorm_count("norm", "ref") == 1 &&
                  ggml_cpu_libnorm_count("rms_norm_mul", "served") == 0,
              "use_ref: expected the stock path (rms_norm ref %" PRIu64 ", norm ref %" PRIu64 ")",
              ggml_cpu_libnorm_count("rms_norm", "ref"), ggml_cpu_libnorm_count("norm", "ref"));
        ggml_cpu_libnorm_reset_counts();
        run(tc, threads, false);
        CHECK(ggml_cpu_libnorm_count("rms_norm_mul", "off") == 1 && ggml_cpu_libnorm_count("norm", "off") == 1 &&
                  ggml_cpu_libnorm_count("norm", "served") == 0,
              "switch off: expected the stock path");
        ggml_cpu_libnorm_reset_counts();
        run(tc, threads, true);
        CHECK(ggml_cpu_libnorm_count("rms_norm_mul", "served") == 1 && ggml_cpu_libnorm_count("norm", "served") == 1,
              "switch on: expected libnorm");
        CHECK(ggml_cpu_libnorm_count("bogus", "served") == UINT64_MAX, "unknown counter name");
        ggml_free(ctx);
    }
}

}  // namespace

int main(int argc, char ** argv) {
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    ggml_cpu_init();
    const int feats = ggml_cpu_libnorm_features();
    g_have_l2 = feats & 2;
    g_have_group = feats & 4;
    g_have_back = feats & 8;
    printf("conformance: libnorm features in this ggml build: outer %s, l2_norm %s, group_norm %s, "
           "rms_norm_back %s\n", feats & 1 ? "yes" : "no (3-D views walked per slice)",
           g_have_l2 ? "routed" : "stock (libnorm lacks it)", g_have_group ? "routed" : "stock (libnorm lacks it)",
           g_have_back ? "routed" : "stock (libnorm lacks it)");
    const char * ops[] = { "norm", "rms_norm", "rms_norm_mul", "l2_norm", "rms_norm_back" };
    const float epss[] = { 0.0f, 1e-6f, 1e-5f };
    for (int threads = 1; threads <= 2; threads++) {
        for (const char * op : ops) {
            // every dim 1..130, 3 rows, cycling eps and layouts
            for (int64_t dim = 1; dim <= (quick ? 20 : 130); dim++) {
                const int64_t ne[4] = { dim, 3, 1, 1 };
                per_row_case(op, ne, (layout) (dim % 2 ? L_CONTIG : L_ROWSTRIDE), epss[dim % 3], false, threads);
            }
            for (int64_t dim : { 768, 4096, 16384 }) {
                const int64_t ne[4] = { dim, dim == 16384 ? 2 : 5, 1, 1 };
                for (float e : epss) per_row_case(op, ne, L_CONTIG, e, false, threads);
                per_row_case(op, ne, L_ROWSTRIDE, 1e-5f, true, threads);
            }
            // special rows (constant, huge, NaN, zero), every eps
            for (int64_t dim : { 1, 7, 64, 65, 128, 768 }) {
                const int64_t ne[4] = { dim, 10, 1, 1 };
                for (float e : epss) per_row_case(op, ne, L_CONTIG, e, true, threads);
            }
            // 1-4-D, views, per-head views, permuted, in place
            const int64_t shapes[][4] = { { 33, 1, 1, 1 }, { 64, 7, 1, 1 }, { 64, 4, 3, 1 }, { 128, 8, 5, 1 },
                                          { 17, 3, 2, 4 }, { 128, 32, 1, 1 }, { 128, 32, 6, 1 }, { 64, 8, 3, 2 },
                                          { 48, 3, 5, 1 }, { 20, 5, 3, 3 } };  // odd row counts: uneven thread chunks
            for (const auto & s : shapes) {
                for (layout l : { L_CONTIG, L_ROWSTRIDE, L_HEADS, L_PERMUTED, L_INPLACE }) {
                    if (l == L_INPLACE && strcmp(op, "norm") && strcmp(op, "rms_norm")) continue;
                    per_row_case(op, s, l, 1e-6f, true, threads);
                }
            }
        }
        const int64_t gshapes[][4] = { { 8, 8, 32, 2 }, { 5, 3, 7, 1 }, { 4, 4, 6, 3 }, { 16, 16, 64, 1 }, { 3, 1, 2, 2 } };
        const int gg[] = { 8, 3, 4, 32, 5 };
        for (int k = 0; k < 5; k++)
            for (float e : epss) group_case(gshapes[k], gg[k], e, k % 2 == 0, threads);
        fallback_cases(threads);
    }
    printf("%-14s %8s %14s %14s %14s %10s %10s\n", "op", "nodes", "max|lib-exact|", "max|lib-stock|",
           "max|stk-exact|", "compared", "stock off");
    printf("%-14s %8s %14s %14s %14s %10s %10s\n", "", "(libnorm)", "/max(1,|y|)", "/max(1,|y|)", "/max(1,|y|)",
           "elements", "(skipped)");
    for (const auto & kv : g_table) {
        const worst & w = kv.second;
        printf("%-14s %8ld %14.3e %14.3e %14.3e %10ld %10ld\n", kv.first.c_str(), w.nodes, w.vs_oracle, w.vs_stock,
               w.stock_vs_oracle, w.compared, w.stock_off);
    }
    printf("bounds: libnorm vs exact <= %.3e (8 FLT_EPSILON), libnorm vs stock <= 1e-5 (where stock is within 1e-5 of exact)\n",
           8.0 * FLT_EPSILON);
    printf("conformance: %ld graph cases at 1 and 2 threads, %d failures\n", g_cases, g_fail);
    return g_fail == 0 ? 0 : 1;
}
