/*
 * normbench's options and the sweep they define: the ops, the default lists of dims, rows and
 * threads (to add a shape to the default sweep, change a list here: --help quotes the same
 * strings), the DRAM-batch rule, --help and the parsing of the command line into g_opt.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nb_internal.h"

const char *const nb_op_names[OP_COUNT] = {"ln", "ln-plain", "rms"};
const char *const nb_op_titles[OP_COUNT] = {"LayerNorm, weight + bias", "LayerNorm, no affine",
                                            "RMSNorm, weight"};
const int nb_op_params[OP_COUNT] = {2, 0, 1}; /* dim-vectors read: w, b */

/* the default sweep, and --quick's */
#define DIMS_DEFAULT "64,128,768,1024,2048,4096,8192,16384,65536"
#define ROWS_DEFAULT "1,32,512,dram"
#define DIMS_QUICK "64,1024,4096,65536"
#define ROWS_QUICK "32,dram"

nb_options g_opt;

static void usage(FILE *f)
{
    fprintf(f,
"usage: normbench [options]\n"
"  Benchmarks libnorm's LayerNorm/RMSNorm: every tier this CPU supports and the dispatched API,\n"
"  against the memory floor and the naive, ggml and oneDNN baselines, in one run.\n"
"\n"
"  --op LIST        ops: ln (LayerNorm, weight+bias), ln-plain (LayerNorm, no affine),\n"
"                   rms (RMSNorm, weight). Default: all.\n"
"  --dim LIST       row lengths. Default: " DIMS_DEFAULT ".\n"
"  --rows LIST      rows per call; 'dram' = a batch whose x is twice the last-level cache\n"
"                   (x and y then stream from DRAM). Default: " ROWS_DEFAULT ".\n"
"  --threads LIST   threads splitting the rows (the benchmark's own pthreads, libnorm_opts\n"
"                   ith/nth); 'max' = all CPUs. Default: 1,2,4,... up to all CPUs.\n"
"  --tier LIST      implementations: scalar,avx2,avx512,neon,api,naive,ggml,onednn.\n"
"                   Default: all available. The floors are always measured.\n"
"  --quick          short time box (5 ms) and, unless given, dims " DIMS_QUICK ",\n"
"                   rows " ROWS_QUICK ", threads 1,max.\n"
"  --time MS        time box per implementation and shape (default 25 ms).\n"
"  --stat S         median (default) or min of the repetitions: the time every column uses.\n"
"                   min is steadier on a machine that other processes share.\n"
"  --llc SIZE       last-level cache size for the DRAM batch (e.g. 32M); default: sysfs, then\n"
"                   sysconf, then 32 MiB (also used when the reported size exceeds 256 MiB,\n"
"                   which some hypervisors report: the whole host's L3).\n"
"  --eps E          epsilon (default 1e-5).\n"
"  --pin            pin thread i to the i-th allowed CPU.\n"
"  --csv FILE, --json FILE   write every result (all statistics, checks, speedups).\n"
"  --plot FILE.png  GB/s against dim per implementation, floor drawn in (runs gnuplot; the\n"
"                   script is kept next to the image).\n"
"  --help\n"
"\n"
"Rows of the table: floor-rd (read-only pass over x), floor (reads x, w, b, writes y: the least\n"
"any norm moves; AVX-512/AVX2 intrinsics, non-temporal stores for a job whose x and y span\n"
"32 MiB or more, as libnorm), every libnorm tier through its internal table, api\n"
"(the dispatched public entry point, libnorm_opts ith/nth), naive (two-pass float), ggml (its\n"
"CPU algorithm: norm node then mul and add nodes, barriers between), onednn (oneDNN 2.6 layer\n"
"normalization, one primitive per thread over its rows; it has no RMSNorm).\n"
"Every result is checked first: libnorm bit-identical to the scalar tier, baselines within 1e-3\n"
"relative (check column: 'exact' or the max relative difference).\n"
"Byte model: a call moves 4*dim*(2*rows + P) bytes, P = 2 (ln: w, b), 1 (rms: w), 0\n"
"(ln-plain): x read once, y written once, w and b read once (write-allocate traffic and\n"
"re-reads from cache not counted). GB/s = those bytes / time; floor-rd counts x only.\n"
"%% floor = floor time / time, same shape, threads and buffers, measured interleaved with the\n"
"others. Speedups (vs naive/ggml/oneDNN): baseline time / libnorm time.\n");
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
    /* the options whose value is kept as given (the lists are parsed below) */
    const str_opt strs[] = {{"--op", &op_s},         {"--dim", &dim_s},
                            {"--rows", &rows_s},     {"--threads", &thr_s},
                            {"--csv", &g_opt.csv},   {"--json", &g_opt.json},
                            {"--plot", &g_opt.plot}};
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
                nb_die("--op: unknown op '%s' (ln, ln-plain, rms)", tok);
            g_opt.ops[g_opt.nops++] = k;
        }
    } else {
        for (int o = 0; o < OP_COUNT; o++)
            g_opt.ops[g_opt.nops++] = o;
    }
    const char *dd = g_opt.quick ? DIMS_QUICK : DIMS_DEFAULT;
    if (parse_list(dim_s ? dim_s : dd, &g_opt.dims, 0, 0))
        nb_die("--dim: a comma list of positive integers");
    if (parse_list(rows_s ? rows_s : g_opt.quick ? ROWS_QUICK : ROWS_DEFAULT, &g_opt.rows, 1, 0))
        nb_die("--rows: a comma list of positive integers and 'dram'");
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

size_t nb_rows_for(size_t spec, size_t dim)
{
    if (spec != ROWS_DRAM)
        return spec;
    size_t r = (g_dram_bytes + dim * 4 - 1) / (dim * 4);
    return r ? r : 1;
}
