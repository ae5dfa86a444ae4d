/*
 * normbench's options and the sweep they define: the ops, the default lists of dims, rows and
 * threads, the per-head and single-row groups (to add a shape to the default sweep, change a
 * list here: --help quotes the same strings), the DRAM-batch rule, --help, the parsing of the
 * command line into g_opt, and the list of shapes the sweep measures (nb_build_sweep).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nb_internal.h"

const char *const nb_op_names[OP_COUNT] = {"ln", "ln-plain", "rms", "ln-head", "rms-head"};
const char *const nb_op_titles[OP_COUNT] = {"LayerNorm, weight + bias", "LayerNorm, no affine",
                                            "RMSNorm, weight", "LayerNorm per head, weight + bias",
                                            "RMSNorm per head, weight"};
const int nb_op_params[OP_COUNT] = {2, 0, 1, 2, 1}; /* dim-vectors read: w, b */
const char *const nb_group_names[G_COUNT] = {"grid", "head", "single"};

/* the default sweep, and --quick's */
#define DIMS_DEFAULT "64,128,768,1024,2048,4096,8192,16384,65536"
#define ROWS_DEFAULT "1,32,512,dram"
#define DIMS_QUICK "64,1024,4096,65536"
#define ROWS_QUICK "32,dram"
/* the per-head group: head_dim, tokens (rows = heads x tokens), heads, x stride / dim */
#define HEAD_DIMS_DEFAULT "64,128"
#define TOKENS_DEFAULT "1,32,512"
#define TOKENS_QUICK "1,32"
#define HEADS_DEFAULT 32
#define HEAD_STRIDE_DEFAULT 3
/* the single-row group: dims of the rows = 1 calls (and their 32-row batch), 1 thread */
#define SINGLE_DEFAULT "64,4096"
#define SINGLE_BATCH 32
/* the fused group (issue 10) */
#define FUSED_DEFAULT "add-rms,add-ln,gated-rms,rms-bf16,ln-bf16,rms-f16"
#define FUSED_DIMS_DEFAULT "768,4096"
#define FUSED_ROWS_DEFAULT "32,dram"
#define FUSED_DIMS_QUICK "4096"
#define FUSED_ROWS_QUICK "dram"

nb_options g_opt;
shape *g_shapes;
size_t g_nshapes;

static void usage(FILE *f)
{
    fprintf(f,
"usage: normbench [options]\n"
"  Benchmarks libnorm's LayerNorm/RMSNorm: every tier this CPU supports and the dispatched API,\n"
"  against the physical limits and the naive, ggml and oneDNN baselines, in one run.\n"
"\n"
"The sweep has three groups of shapes, each shape run at every --threads count unless said:\n"
"  grid    --op (ln, ln-plain, rms) x --dim x --rows: contiguous rows.\n"
"  head    per-head norms (Qwen3, OLMo 2, Gemma 3 normalise each attention head): ln-head,\n"
"          rms-head x --head-dim x --tokens, rows = --heads x tokens, x's rows --head-stride x\n"
"          dim floats apart (the q of a fused [token][head][q,k,v][head_dim] tensor), y\n"
"          contiguous; through every tier (norm_job xs) and the API (libnorm_opts x_stride).\n"
"  single  decode calls: rows = 1 and the same row inside a %d-row batch, 1 thread, ops ln and\n"
"          rms (those of --op), dims --single; shapes the grid already has are not repeated.\n"
"\n"
"  --op LIST        ops: ln (LayerNorm, weight+bias), ln-plain (LayerNorm, no affine),\n"
"                   rms (RMSNorm, weight), ln-head, rms-head (per head, as above).\n"
"                   Default: all.\n"
"  --dim LIST       row lengths of the grid. Default: " DIMS_DEFAULT ".\n"
"  --rows LIST      rows per call of the grid; 'dram' = a batch whose x is twice the last-level\n"
"                   cache (x and y then stream from DRAM). Default: " ROWS_DEFAULT ".\n"
"  --head-dim LIST  head_dim of the head group. Default: " HEAD_DIMS_DEFAULT ".\n"
"  --tokens LIST    tokens of the head group. Default: " TOKENS_DEFAULT " (--quick: " TOKENS_QUICK ").\n"
"  --heads N        heads of the head group. Default: %d.\n"
"  --head-stride K  x row stride of the head group = K * head_dim floats. Default: %d.\n"
"  --single LIST    dims of the single group, or 'none'. Default: " SINGLE_DEFAULT ".\n"
"  --fused LIST     the fused group (after the sweep; nb_fused.c): add-rms, add-ln (residual\n"
"                   add + norm), gated-rms (RMSNorm * silu(z)), rms-bf16, ln-bf16, rms-f16\n"
"                   (16-bit activations), or 'none'. Default: all. Each against its own\n"
"                   streaming limit (every input read once, every output written once) and\n"
"                   the same work as separate passes; its table says which rows and why.\n"
"  --fused-dim LIST  Default: " FUSED_DIMS_DEFAULT " (--quick: " FUSED_DIMS_QUICK ").\n"
"  --fused-rows LIST Default: " FUSED_ROWS_DEFAULT " (--quick: " FUSED_ROWS_QUICK ").\n"
"  --threads LIST   threads splitting the rows (the benchmark's own pthreads, libnorm_opts\n"
"                   ith/nth); 'max' = all CPUs. Default: 1,2,4,... up to all CPUs.\n"
"  --tier LIST      implementations: scalar,avx2,avx512,neon,api,naive,ggml,onednn.\n"
"                   Default: all available. The floors are always measured.\n"
"  --quick          short time box (5 ms) and, unless given, dims " DIMS_QUICK ",\n"
"                   rows " ROWS_QUICK ", tokens " TOKENS_QUICK ", threads 1,max.\n"
"  --time MS        time box per implementation and shape (default 25 ms).\n"
"  --baseline-isa I best (default: the naive and ggml baselines compiled for the best ISA this\n"
"                   CPU has, like a -march=native build of an engine) or generic (compiled for\n"
"                   baseline x86-64, as on a CPU without AVX2: the fair company of the scalar\n"
"                   tier).\n"
"  --stat S         median (default) or min of the repetitions: the time every column uses.\n"
"                   min is steadier on a machine that other processes share.\n"
"  --llc SIZE       last-level cache size for the DRAM batch (e.g. 32M); default: sysfs, then\n"
"                   sysconf, then 32 MiB (also used when the reported size exceeds 256 MiB,\n"
"                   which some hypervisors report: the whole host's L3).\n"
"  --eps E          epsilon (default 1e-5).\n"
"  --pin            pin thread i to the i-th allowed CPU.\n"
"  --csv FILE, --json FILE   write every result (all statistics, checks, limits, speedups).\n"
"  --plot FILE.png  GB/s against dim per implementation for the grid, the floors drawn in (runs\n"
"                   gnuplot; the script is kept next to the image).\n"
"  --help\n"
"\n"
"Rows of the table: floor-rd (read-only pass over x), floor (the streaming limit: reads x, w, b,\n"
"writes y once: the least any norm moves), floor-2p (the two-pass limit: per row, the floor-rd\n"
"pass then the floor pass), all three with AVX-512/AVX2 intrinsics, non-temporal stores for a\n"
"job whose x and y span 32 MiB or more, as libnorm; every libnorm tier through its internal\n"
"table, api (the dispatched public entry point, libnorm_opts ith/nth), naive (two-pass float),\n"
"ggml (its CPU algorithm: norm node then mul and add nodes, barriers between), onednn (oneDNN\n"
"2.6 layer normalization, one primitive per thread over its rows; it has no RMSNorm, and n/a on\n"
"per-head rows: its one memory descriptor for x and y cannot give a strided x a contiguous y).\n"
"naive and ggml read strided rows as ggml does (through the row stride).\n"
"Every result is checked first: libnorm bit-identical to the scalar tier, baselines within 1e-3\n"
"relative (check column: 'exact' or the max relative difference).\n"
"\n"
"Byte model: a call moves 4*dim*(2*rows + P) bytes, P = 2 (ln, ln-head: w, b), 1 (rms,\n"
"rms-head: w), 0 (ln-plain): x read once, y written once, w and b read once (write-allocate\n"
"traffic and re-reads from cache not counted). Per-head rows count the dim floats each row\n"
"reads, not the stride between rows (x spans rows * stride floats; the rest of each stride is\n"
"never touched; the floors read the same strided rows). GB/s = those bytes / time; floor-rd\n"
"counts x only. The mem column places that working set (divided by the threads) in L1, L2, L3\n"
"or DRAM (above the last-level cache).\n"
"\n"
"The limits (columns lim and %%limit; %%limit = the limit's time / this time, same shape,\n"
"threads and buffers, measured interleaved with the others):\n"
"  stream  the floor row: for jobs from DRAM (mem DRAM), and for rows that stay in registers\n"
"          between reading and writing: dim <= the tier's register rows, avx2 %zu, avx512 %zu,\n"
"          neon %zu, scalar %zu (nb_reg_dim() in nb_limits.c: revise it with the kernels);\n"
"  2pass   the floor-2p row: every other row that fits in cache must be read twice\n"
"          (statistics, then output). floor-2p is a measured kernel that does both passes per\n"
"          row, as a norm does, rather than the sum of the floor-rd and floor times: the sum\n"
"          would re-read x from where the whole job lives (L2, L3) instead of from L1.\n"
"  A tier row uses its own tier's register rows; api, the floors and the baselines use the\n"
"  dispatched tier's. The csv and json files keep pct_floor (against the streaming limit).\n"
"Speedups (vs naive/ggml/oneDNN): baseline time / libnorm time.\n"
"\n"
"The summary prints issue 9's targets per tier (and for the API), met or missed, with the worst\n"
"shape: every shape >= 1.0x oneDNN and geomean >= 1.6x; at 1 and 2 threads, dims 64 and 128\n"
"(every group) >= 60%% (dim 64) / 80%% (dim 128) of the streaming limit, rows in cache (lim\n"
"2pass) >= 90%% of the two-pass limit, from DRAM >= 90%% of the streaming limit; through the API,\n"
"rows = 1: rms dim 64 <= 15 ns, ln dim 64 <= 25 ns, dim 4096 <= 1.15x its ns/row in the\n"
"32-row batch; API overhead over the dispatched tier's kernel <= 5 ns (rows = 1, dim 64).\n",
            SINGLE_BATCH, HEADS_DEFAULT, HEAD_STRIDE_DEFAULT, nb_reg_dim(NORM_TIER_AVX2),
            nb_reg_dim(NORM_TIER_AVX512), nb_reg_dim(NORM_TIER_NEON),
            nb_reg_dim(NORM_TIER_SCALAR));
}

static int parse_list(const char *s, list *l, int allow_dram, int allow_max)
{
    l->n = 0;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (l->n == 64)
            return -1;
        if (allow_dram && (strcmp(tok, "dram") == 0 || strcmp(tok, "llc") == 0)) {
            l->v[l->n++] = ROWS_DRAM;
            continue;
        }
        if (allow_max && (strcmp(tok, "max") == 0 || strcmp(tok, "all") == 0)) {
            l->v[l->n++] = g_ncpu;
            continue;
        }
        char *end;
        errno = 0;
        unsigned long long v = strtoull(tok, &end, 10);
        if (errno || *end || v == 0 || tok[0] == '-')
            return -1;
        l->v[l->n++] = (size_t)v;
    }
    return l->n ? 0 : -1;
}

size_t nb_parse_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v <= 0)
        return 0;
    switch (toupper((unsigned char)*end)) {
    case 'K': v *= 1024; break;
    case 'M': v *= 1024 * 1024; break;
    case 'G': v *= 1024.0 * 1024 * 1024; break;
    default: break;
    }
    return (size_t)v;
}

int nb_tier_wanted(const char *name)
{
    if (!g_opt.tiers[0])
        return 1;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", g_opt.tiers);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ","))
        if (strcmp(tok, name) == 0)
            return 1;
    return 0;
}

typedef struct str_opt {
    const char *name;
    const char **dst;
} str_opt;

/* Whether a is one of the n options of t; *dst: where its value goes. */
static int str_option(const char *a, const str_opt *t, size_t n, const char ***dst)
{
    for (size_t k = 0; k < n; k++)
        if (!strcmp(a, t[k].name)) {
            *dst = t[k].dst;
            return 1;
        }
    return 0;
}

void nb_parse_args(int argc, char **argv)
{
    const char *op_s = NULL, *dim_s = NULL, *rows_s = NULL, *thr_s = NULL;
    const char *hdim_s = NULL, *tok_s = NULL, *heads_s = NULL, *hstr_s = NULL, *single_s = NULL;
    const char *fused_s = NULL, *fdim_s = NULL, *frows_s = NULL;
    /* the options whose value is kept as given (the lists are parsed below) */
    const str_opt strs[] = {{"--op", &op_s},           {"--dim", &dim_s},
                            {"--rows", &rows_s},       {"--threads", &thr_s},
                            {"--head-dim", &hdim_s},   {"--tokens", &tok_s},
                            {"--heads", &heads_s},     {"--head-stride", &hstr_s},
                            {"--single", &single_s},   {"--csv", &g_opt.csv},
                            {"--fused", &fused_s},     {"--fused-dim", &fdim_s},
                            {"--fused-rows", &frows_s},
                            {"--json", &g_opt.json},   {"--plot", &g_opt.plot}};
    const char **dst;
    g_opt.eps = 1e-5f;
    g_opt.time_ms = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV()                                                                             \
    do {                                                                                    \
        if (!v)                                                                             \
            nb_die("%s needs a value (--help)", a);                                         \
        i++;                                                                                \
    } while (0)
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else if (str_option(a, strs, sizeof strs / sizeof strs[0], &dst)) {
            NEEDV();
            *dst = v;
        } else if (!strcmp(a, "--tier")) {
            NEEDV();
            snprintf(g_opt.tiers, sizeof g_opt.tiers, "%s", v);
        } else if (!strcmp(a, "--quick")) {
            g_opt.quick = 1;
        } else if (!strcmp(a, "--stat")) {
            NEEDV();
            if (!strcmp(v, "min"))
                g_stat_min = 1;
            else if (strcmp(v, "median"))
                nb_die("--stat: median or min");
        } else if (!strcmp(a, "--baseline-isa")) {
            NEEDV();
            if (!strcmp(v, "generic"))
                g_opt.generic_baselines = 1;
            else if (strcmp(v, "best"))
                nb_die("--baseline-isa: best or generic");
        } else if (!strcmp(a, "--pin")) {
            g_opt.pin = 1;
        } else if (!strcmp(a, "--time")) {
            NEEDV();
            g_opt.time_ms = atof(v);
            if (!(g_opt.time_ms > 0))
                nb_die("--time: a positive number of milliseconds");
        } else if (!strcmp(a, "--llc")) {
            NEEDV();
            g_opt.llc_override = nb_parse_size(v);
            if (!g_opt.llc_override)
                nb_die("--llc: a size such as 32M");
        } else if (!strcmp(a, "--eps")) {
            NEEDV();
            g_opt.eps = strtof(v, NULL);
            if (!(g_opt.eps >= 0) || !isfinite(g_opt.eps))
                nb_die("--eps: a finite non-negative number");
        } else {
            fprintf(stderr, "normbench: unknown argument '%s'\n\n", a);
            usage(stderr);
            exit(2);
        }
#undef NEEDV
    }
    if (op_s) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", op_s);
        for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
            int k = -1;
            for (int o = 0; o < OP_COUNT; o++)
                if (!strcmp(tok, nb_op_names[o]))
                    k = o;
            if (k < 0)
                nb_die("--op: unknown op '%s' (ln, ln-plain, rms, ln-head, rms-head)", tok);
            g_opt.ops[g_opt.nops++] = k;
        }
    } else {
        for (int o = 0; o < OP_COUNT; o++)
            g_opt.ops[g_opt.nops++] = o;
    }
    g_opt.nfused = 0;
    if (!fused_s || strcmp(fused_s, "none")) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", fused_s ? fused_s : FUSED_DEFAULT);
        for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
            int k = -1;
            for (int o = 0; o < F_COUNT; o++)
                if (!strcmp(tok, nb_fused_names[o]))
                    k = o;
            if (k < 0 || g_opt.nfused == F_COUNT)
                nb_die("--fused: unknown or repeated op '%s' (" FUSED_DEFAULT ", none)", tok);
            g_opt.fused[g_opt.nfused++] = k;
        }
    }
    if (parse_list(fdim_s ? fdim_s : g_opt.quick ? FUSED_DIMS_QUICK : FUSED_DIMS_DEFAULT,
                   &g_opt.fdims, 0, 0))
        nb_die("--fused-dim: a comma list of positive integers");
    if (parse_list(frows_s ? frows_s : g_opt.quick ? FUSED_ROWS_QUICK : FUSED_ROWS_DEFAULT,
                   &g_opt.frows, 1, 0))
        nb_die("--fused-rows: a comma list of positive integers and 'dram'");
    const char *dd = g_opt.quick ? DIMS_QUICK : DIMS_DEFAULT;
    if (parse_list(dim_s ? dim_s : dd, &g_opt.dims, 0, 0))
        nb_die("--dim: a comma list of positive integers");
    if (parse_list(rows_s ? rows_s : g_opt.quick ? ROWS_QUICK : ROWS_DEFAULT, &g_opt.rows, 1, 0))
        nb_die("--rows: a comma list of positive integers and 'dram'");
    if (parse_list(hdim_s ? hdim_s : HEAD_DIMS_DEFAULT, &g_opt.head_dims, 0, 0))
        nb_die("--head-dim: a comma list of positive integers");
    if (parse_list(tok_s ? tok_s : g_opt.quick ? TOKENS_QUICK : TOKENS_DEFAULT, &g_opt.tokens, 0,
                   0))
        nb_die("--tokens: a comma list of positive integers");
    list one;
    if (heads_s && (parse_list(heads_s, &one, 0, 0) || one.n != 1))
        nb_die("--heads: a positive integer");
    g_opt.heads = heads_s ? one.v[0] : HEADS_DEFAULT;
    if (hstr_s && (parse_list(hstr_s, &one, 0, 0) || one.n != 1))
        nb_die("--head-stride: a positive integer");
    g_opt.head_stride = hstr_s ? one.v[0] : HEAD_STRIDE_DEFAULT;
    if (single_s && !strcmp(single_s, "none"))
        g_opt.single.n = 0;
    else if (parse_list(single_s ? single_s : SINGLE_DEFAULT, &g_opt.single, 0, 0))
        nb_die("--single: a comma list of positive integers, or 'none'");
    if (thr_s) {
        if (parse_list(thr_s, &g_opt.thr, 0, 1))
            nb_die("--threads: a comma list of positive integers and 'max'");
    } else if (g_opt.quick) {
        parse_list(g_ncpu > 1 ? "1,max" : "1", &g_opt.thr, 0, 1);
    } else {
        g_opt.thr.n = 0;
        for (size_t t = 1; t < g_ncpu && g_opt.thr.n < 63; t *= 2)
            g_opt.thr.v[g_opt.thr.n++] = t;
        g_opt.thr.v[g_opt.thr.n++] = g_ncpu;
    }
    for (int i = 0; i < g_opt.thr.n; i++)
        if (g_opt.thr.v[i] > g_ncpu)
            nb_die("--threads: at most %u, the CPUs this process may run on (the pool's threads "
                "spin-wait, as an engine's do: more threads than CPUs would measure the "
                "scheduler)", g_ncpu);
    if (g_opt.time_ms == 0)
        g_opt.time_ms = g_opt.quick ? 5 : 25;
    g_box_ns = g_opt.time_ms * 1e6;
}

static int has_op(int op)
{
    for (int i = 0; i < g_opt.nops; i++)
        if (g_opt.ops[i] == op)
            return 1;
    return 0;
}

static int in_list(const list *l, size_t v)
{
    for (int i = 0; i < l->n; i++)
        if (l->v[i] == v)
            return 1;
    return 0;
}

static void add_shape(int op, int group, size_t dim, size_t rows, size_t xs, unsigned thr,
                      int dram)
{
    static size_t cap;
    if (g_nshapes == cap) {
        cap = cap ? 2 * cap : 256;
        g_shapes = realloc(g_shapes, cap * sizeof *g_shapes);
        if (!g_shapes)
            nb_die("out of memory");
    }
    g_shapes[g_nshapes++] = (shape){op, group, dram, dim, rows, xs, thr};
}

void nb_build_sweep(void)
{
    g_nshapes = 0;
    /* the grid */
    for (int oi = 0; oi < g_opt.nops; oi++) {
        int op = g_opt.ops[oi];
        if (nb_op_is_head(op))
            continue;
        for (int di = 0; di < g_opt.dims.n; di++)
            for (int ri = 0; ri < g_opt.rows.n; ri++)
                for (int ti = 0; ti < g_opt.thr.n; ti++) {
                    size_t dim = g_opt.dims.v[di];
                    add_shape(op, G_GRID, dim, nb_rows_for(g_opt.rows.v[ri], dim), dim,
                              (unsigned)g_opt.thr.v[ti], g_opt.rows.v[ri] == ROWS_DRAM);
                }
    }
    /* the per-head norms */
    for (int oi = 0; oi < g_opt.nops; oi++) {
        int op = g_opt.ops[oi];
        if (!nb_op_is_head(op))
            continue;
        for (int di = 0; di < g_opt.head_dims.n; di++)
            for (int ri = 0; ri < g_opt.tokens.n; ri++)
                for (int ti = 0; ti < g_opt.thr.n; ti++) {
                    size_t dim = g_opt.head_dims.v[di];
                    if (g_opt.tokens.v[ri] > SIZE_MAX / g_opt.heads ||
                        dim > SIZE_MAX / 16 / g_opt.head_stride)
                        nb_die("per-head shape too large");
                    add_shape(op, G_HEAD, dim, g_opt.heads * g_opt.tokens.v[ri],
                              g_opt.head_stride * dim, (unsigned)g_opt.thr.v[ti], 0);
                }
    }
    /* the single-row calls and their batch, 1 thread, unless the grid has them */
    const int sops[2] = {OP_LN, OP_RMS};
    for (int oi = 0; oi < 2; oi++) {
        if (!has_op(sops[oi]))
            continue;
        for (int di = 0; di < g_opt.single.n; di++) {
            size_t dim = g_opt.single.v[di];
            int grid = in_list(&g_opt.dims, dim) && in_list(&g_opt.thr, 1);
            if (!(grid && in_list(&g_opt.rows, 1)))
                add_shape(sops[oi], G_SINGLE, dim, 1, dim, 1, 0);
            if (!(grid && in_list(&g_opt.rows, SINGLE_BATCH)))
                add_shape(sops[oi], G_SINGLE, dim, SINGLE_BATCH, dim, 1, 0);
        }
    }
}

size_t nb_rows_for(size_t spec, size_t dim)
{
    if (spec != ROWS_DRAM)
        return spec;
    size_t r = (g_dram_bytes + dim * 4 - 1) / (dim * 4);
    return r ? r : 1;
}
