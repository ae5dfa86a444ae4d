// Speed of ggml's own graph compute for the norm ops, stock vs libnorm-routed, in one process
// (libnorm issue 8, item 5). The glue's runtime switch selects the kernels; the two are
// interleaved (stock batch, libnorm batch, stock batch, ...) and the medians compared.
//
//   ggmlbench [--quick] [--reps N] [--threads 1,2] [--ops norm,rms_norm,rms_norm_mul]
//
// Each graph is a chain of CHAIN nodes of one op (NORM, RMS_NORM, or the fused RMS_NORM+MUL pair
// that llama.cpp runs for every RMSNorm), computed by ggml_graph_compute() on a persistent ggml
// thread pool; time per node = batch time / (calls * CHAIN). The main thread's CPU time
// (CLOCK_THREAD_CPUTIME_ID) is the primary figure: ggml's thread 0 computes its share and waits
// at the node barriers, so with 2 threads it is close to the node's latency, but it does not
// count time the thread was descheduled (another process on a shared 2-core machine). Wall time
// is printed too.
// Shapes: dims 64 and 128 (per-head norms: 32 heads x 1 token), 768, 4096 and 16384 (32 rows),
// and a single row at 4096 (a decode step).
// The floor: per thread count, the same chain of nodes that do almost nothing (GGML_OP_SCALE of
// one row of 16 floats) measures what ggml itself spends per node — the barrier every thread
// passes after every node, and the graph's dispatch — the same for stock and libnorm kernels.
// No kernel can make a node cheaper than that, so stock / floor is the largest speed-up any norm
// kernel could show for that shape ("bound" column).
#include "ggml.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

extern "C" {
void ggml_cpu_libnorm_set_enabled(int on);
uint64_t ggml_cpu_libnorm_count(const char * op, const char * what);
void ggml_cpu_libnorm_reset_counts(void);
}

namespace {

const int CHAIN = 16;

double now(clockid_t c) {
    timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

std::vector<std::string> split(const char * s) {
    std::vector<std::string> out;
    std::string cur;
    for (const char * p = s;; p++) {
        if (*p == ',' || *p == 0) {
            if (!cur.empty()) out.push_back(cur);
            cur.clear();
            if (*p == 0) break;
        } else {
            cur += *p;
        }
    }
    return out;
}

// The graph computing `out`, its tensors placed by ggml's graph allocator (as in llama.cpp).
ggml_cgraph * build_graph(ggml_context * ctx, ggml_tensor * out, ggml_gallocr_t * galloc) {
    ggml_set_output(out);
    ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, out);
    *galloc = ggml_gallocr_new(ggml_backend_cpu_buffer_type());
    if (!ggml_gallocr_alloc_graph(*galloc, gf)) {
        fprintf(stderr, "ggmlbench: graph allocation failed\n");
        exit(1);
    }
    return gf;
}

// Graph computes per timed batch: as many as take about target_ns (after one warm-up compute).
int calls_per_batch(ggml_cgraph * gf, ggml_cplan * plan, double target_ns) {
    ggml_graph_compute(gf, plan);
    const double t0 = now(CLOCK_MONOTONIC);
    int calib = 0;
    while (now(CLOCK_MONOTONIC) - t0 < target_ns / 4) {
        ggml_graph_compute(gf, plan);
        calib++;
    }
    return std::max(1, calib * 4);
}

// Median main-thread CPU ns per node of a chain of CHAIN GGML_OP_SCALE nodes on one row of 16
// floats (thread 0 does the row, the others nothing; every thread passes every node's barrier).
double node_floor(ggml_threadpool * tp, int nt, int reps, double target_ns) {
    ggml_init_params ip = { ggml_tensor_overhead() * (2 * CHAIN + 8) + ggml_graph_overhead(), nullptr, true };
    ggml_context * ctx = ggml_init(ip);
    ggml_tensor * x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 16, 1);
    ggml_set_input(x);
    ggml_tensor * cur = x;
    for (int k = 0; k < CHAIN; k++) cur = ggml_scale(ctx, cur, 0.5f);
    ggml_gallocr_t galloc;
    ggml_cgraph * gf = build_graph(ctx, cur, &galloc);
    for (int i = 0; i < 16; i++) ((float *) x->data)[i] = 1.0f;
    ggml_cplan plan = ggml_graph_plan(gf, nt, tp);
    std::vector<uint8_t> work(plan.work_size + 1);
    plan.work_data = work.data();
    const int calls = calls_per_batch(gf, &plan, target_ns);
    std::vector<double> cpu;
    for (int r = 0; r < reps; r++) {
        ggml_graph_compute(gf, &plan);
        const double c0 = now(CLOCK_THREAD_CPUTIME_ID);
        for (int c = 0; c < calls; c++) ggml_graph_compute(gf, &plan);
        cpu.push_back((now(CLOCK_THREAD_CPUTIME_ID) - c0) / ((double) calls * CHAIN));
    }
    ggml_gallocr_free(galloc);
    ggml_free(ctx);
    return median(cpu);
}

}  // namespace

int main(int argc, char ** argv) {
    int reps = 21;
    double target_ns = 2e6;  // per timed batch
    std::vector<int> threads = { 1, 2 };
    std::vector<std::string> ops = { "norm", "rms_norm", "rms_norm_mul" };
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            reps = 5;
            target_ns = 5e5;
        } else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
            reps = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            threads.clear();
            for (auto & t : split(argv[++i])) threads.push_back(atoi(t.c_str()));
        } else if (!strcmp(argv[i], "--ops") && i + 1 < argc) {
            ops = split(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--quick] [--reps N] [--threads 1,2] [--ops norm,rms_norm,rms_norm_mul]\n",
                    argv[0]);
            return 2;
        }
    }
    ggml_cpu_init();
    struct shape { int64_t dim, rows; const char * what; };
    const shape shapes[] = { { 64, 32, "per-head" }, { 128, 32, "per-head" }, { 768, 32, "" },
                             { 4096, 32, "" }, { 16384, 32, "" }, { 4096, 1, "one row" } };
    printf("ggml graph compute, stock vs libnorm (same binary, runtime switch), chains of %d nodes, "
           "median of %d interleaved batches\n", CHAIN, reps);
    printf("%-13s %6s %5s %3s | %12s %12s %8s %8s | %12s %12s %8s\n", "op", "dim", "rows", "thr", "stock cpu ns",
           "libnorm cpu", "speedup", "bound", "stock wall", "libnorm wall", "speedup");
    int bad = 0;
    for (int nt : threads) {
        ggml_threadpool_params tpp = ggml_threadpool_params_default(nt);
        ggml_threadpool * tp = ggml_threadpool_new(&tpp);
        const double floor_cpu = node_floor(tp, nt, reps, target_ns);
        printf("%-13s %6d %5d %3d | %12.1f %12s %8s %8s |  (ggml's own cost per node: barrier + dispatch)\n",
               "empty-node", 16, 1, nt, floor_cpu, "", "", "");
        for (const std::string & op : ops) {
            for (const shape & s : shapes) {
                // weights in a context of their own; the graph's tensors placed by ggml's graph
                // allocator (as in llama.cpp), which reuses freed buffers: the chain ping-pongs
                // between a few tensors that stay hot in cache (32 rows of 16384 floats: 2 MiB)
                ggml_init_params wp = { (size_t) (s.dim * s.rows + s.dim) * 4 + (1 << 16), nullptr, false };
                ggml_context * wctx = ggml_init(wp);
                ggml_tensor * xsrc = ggml_new_tensor_2d(wctx, GGML_TYPE_F32, s.dim, s.rows);
                ggml_tensor * w = ggml_new_tensor_1d(wctx, GGML_TYPE_F32, s.dim);
                for (int64_t i = 0; i < s.dim * s.rows; i++) ((float *) xsrc->data)[i] = (float) ((i * 7919) % 1000) / 250.0f - 1.7f;
                for (int64_t i = 0; i < s.dim; i++) ((float *) w->data)[i] = 0.5f + (float) (i % 13) / 13.0f;
                ggml_init_params ip = { ggml_tensor_overhead() * (4 * CHAIN + 8) + ggml_graph_overhead(), nullptr, true };
                ggml_context * ctx = ggml_init(ip);
                ggml_tensor * x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, s.dim, s.rows);
                ggml_set_input(x);
                ggml_tensor * cur = x;
                for (int k = 0; k < CHAIN; k++) {
                    if (op == "norm") cur = ggml_norm(ctx, cur, 1e-5f);
                    else if (op == "rms_norm") cur = ggml_rms_norm(ctx, cur, 1e-5f);
                    else cur = ggml_mul(ctx, ggml_rms_norm(ctx, cur, 1e-5f), w);
                }
                ggml_gallocr_t galloc;
                ggml_cgraph * gf = build_graph(ctx, cur, &galloc);
                memcpy(x->data, xsrc->data, ggml_nbytes(x));
                ggml_cplan plan = ggml_graph_plan(gf, nt, tp);
                std::vector<uint8_t> work(plan.work_size + 1);
                plan.work_data = work.data();
                // calibrate the calls per batch on stock
                ggml_cpu_libnorm_set_enabled(0);
                const int calls = calls_per_batch(gf, &plan, target_ns);
                std::vector<double> cpu[2], wall[2];
                ggml_cpu_libnorm_reset_counts();
                for (int r = 0; r < reps; r++) {
                    for (int m = 0; m < 2; m++) {
                        ggml_cpu_libnorm_set_enabled(m);
                        ggml_graph_compute(gf, &plan);  // warm
                        const double c0 = now(CLOCK_THREAD_CPUTIME_ID), w0 = now(CLOCK_MONOTONIC);
                        for (int c = 0; c < calls; c++) ggml_graph_compute(gf, &plan);
                        const double c1 = now(CLOCK_THREAD_CPUTIME_ID), w1 = now(CLOCK_MONOTONIC);
                        cpu[m].push_back((c1 - c0) / ((double) calls * CHAIN));
                        wall[m].push_back((w1 - w0) / ((double) calls * CHAIN));
                    }
                }
                // the libnorm batches must have been served by libnorm, the stock ones not
                const uint64_t served = ggml_cpu_libnorm_count(op.c_str(), "served");
                const uint64_t off = ggml_cpu_libnorm_count(op.c_str(), "off");
                const uint64_t expect = (uint64_t) reps * (calls + 1) * CHAIN;
                if (served != expect || off != expect) {
                    fprintf(stderr, "ggmlbench: %s dim %lld: counters served %llu off %llu, expected %llu each\n",
                            op.c_str(), (long long) s.dim, (unsigned long long) served, (unsigned long long) off,
                            (unsigned long long) expect);
                    bad = 1;
                }
                const double sc = median(cpu[0]), lc = median(cpu[1]), sw = median(wall[0]), lw = median(wall[1]);
                printf("%-13s %6lld %5lld %3d | %12.1f %12.1f %7.2fx %7.1fx | %12.1f %12.1f %7.2fx  %s\n", op.c_str(),
                       (long long) s.dim, (long long) s.rows, nt, sc, lc, sc / lc, sc / floor_cpu, sw, lw, sw / lw,
                       s.what);
                fflush(stdout);
                ggml_gallocr_free(galloc);
                ggml_free(ctx);
                ggml_free(wctx);
            }
        }
        ggml_threadpool_free(tp);
    }
    return bad;
}
