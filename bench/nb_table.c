/*
 * normbench's text report on stdout: the machine and load lines, the legend, one table row per
 * implementation and shape, the closing lines; and the progress line on stderr (a terminal: one
 * line redrawn; otherwise a line every 15 s).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libnorm.h"
#include "nb_internal.h"

static int g_tty_err = -1; /* stderr is a terminal; -1: not known yet */
static int g_progress_shown;

void nb_progress_clear(void)
{
    if (g_progress_shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        g_progress_shown = 0;
    }
}

void nb_progress(size_t done, size_t total, const char *what, double t0)
{
    double el = (now_ns() - t0) / 1e9;
    static double last_plain;
    if (g_tty_err < 0)
        g_tty_err = isatty(2);
    if (g_tty_err) {
        char eta[32] = "";
        if (done > 0)
            snprintf(eta, sizeof eta, ", ~%.0f s left", el / (double)done * (double)(total - done));
        fprintf(stderr, "\r\033[K[%zu/%zu shapes, %.0f s%s] %s", done, total, el, eta, what);
        fflush(stderr);
        g_progress_shown = 1;
    } else if (el - last_plain >= 15) {
        last_plain = el;
        fprintf(stderr, "normbench: %zu/%zu shapes, %.0f s\n", done, total, el);
    }
}

static const char *sp_str(char *buf, size_t n, const result *r, int k)
{
    if (!g_impl[r->impl].libnorm || r->status != ST_OK)
        return "";
    if (!nb_kind_has_op(nb_baselines[k].kind, r->op))
        return "n/a";
    if (!nb_kind_built(nb_baselines[k].kind))
        return "not built";
    if (isnan(r->sp[k]))
        return "-";
    snprintf(buf, n, "%.2fx", r->sp[k]);
    return buf;
}

/* The "vs X" columns, each as wide as its title and at least 8: the titles (r NULL) or r's. */
static void sp_columns(char *out, size_t n, const result *r)
{
    size_t len = 0;
    out[0] = 0;
    for (int k = 0; k < NBASE && len < n; k++) {
        char title[32], v[16];
        snprintf(title, sizeof title, "vs %s", nb_baselines[k].title);
        int w = strlen(title) > 8 ? (int)strlen(title) : 8;
        const char *col = r ? sp_str(v, sizeof v, r, k) : title;
        len += (size_t)snprintf(out + len, n - len, " %*s", w, col);
    }
}

static void print_header(void)
{
    char sp[256];
    sp_columns(sp, sizeof sp, NULL);
    printf("%-8s %-8s %6s %7s %3s %4s %8s %11s %8s %-6s %6s %-7s%s\n", "impl", "op", "dim",
           "rows", "thr", "mem", "MiB", "ns/row", "GB/s", "lim", "%limit", "check", sp);
}

/* print a table line without trailing blanks */
static void put_line(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t n = strlen(line);
    while (n && line[n - 1] == ' ')
        line[--n] = 0;
    puts(line);
}

static int noisy(const result *r)
{
    return r->t.p75 - r->t.p25 > 0.1 * r->t.med;
}

static void print_result(const result *r)
{
    char chk[24], p[16], ns[24], sp[256];
    const impl *im = &g_impl[r->impl];
    if (nb_kind_is_floor(im->kind))
        snprintf(chk, sizeof chk, "-");
    else if (r->status == ST_ERROR)
        snprintf(chk, sizeof chk, "ERROR");
    else if (r->is_ref)
        snprintf(chk, sizeof chk, "ref");
    else if (r->exact)
        snprintf(chk, sizeof chk, "exact");
    else
        snprintf(chk, sizeof chk, "%s%.0e", r->status == ST_FAIL ? "FAIL " : "", r->maxdiff);
    if (r->status != ST_OK) {
        put_line("%-8s %-8s %6zu %7zu %3u %4s %8.2f %11s %8s %-6s %6s %-7s  %s", im->name,
                 nb_op_names[r->op], r->dim, r->rows, r->thr, r->mem, r->ws_bytes / 1048576.0, "-",
                 "-", "-", "-", chk, r->note);
        return;
    }
    if (isnan(r->pct_limit))
        snprintf(p, sizeof p, "-");
    else
        snprintf(p, sizeof p, "%.0f%%", r->pct_limit);
    snprintf(ns, sizeof ns, "%.1f%s", r->t.val / (double)r->rows,
             r->stalled ? "!" : noisy(r) ? "~" : " ");
    sp_columns(sp, sizeof sp, r);
    put_line("%-8s %-8s %6zu %7zu %3u %4s %8.2f %11s %8.1f %-6s %6s %-7s%s", im->name,
             nb_op_names[r->op], r->dim, r->rows, r->thr, r->mem, r->ws_bytes / 1048576.0, ns,
             r->gbps, nb_limit_names[r->limit], p, chk, sp);
}

/* The lines on the machine, before any measurement. */
void nb_table_machine(const char *model)
{
    printf("normbench (libnorm %s): %s, %u CPU%s%s\n", libnorm_version_string(), model, g_ncpu,
           g_ncpu == 1 ? "" : "s", g_opt.pin ? ", threads pinned" : "");
    printf("libnorm tiers:");
    for (int i = 0; i < g_nimpl; i++)
        if (g_impl[i].kind == K_TIER)
            printf(" %s", g_impl[i].name);
    printf("; api -> %s (LIBNORM_ISA=%s)\n", libnorm_active_isa(),
           getenv("LIBNORM_ISA") ? getenv("LIBNORM_ISA") : "unset");
    printf("floors: %s; baselines: naive + ggml built for %s, oneDNN %s\n",
           strcmp(g_floor.isa, "generic") ? (!strcmp(g_floor.isa, "avx512") ? "avx512 intrinsics"
                                                                           : "avx2 intrinsics")
                                          : "portable C",
           g_base.isa, g_dnnl_state);
    printf("caches: L1d %zu KiB, L2 %zu KiB, LLC %zu MiB (%s); DRAM batch: x = %zu MiB\n",
           g_l1d >> 10, g_l2 >> 10, g_llc >> 20, g_llc_src, g_dram_bytes >> 20);
}

/* The copy bandwidth and load lines (others: CPUs busy with other processes, < 0 unknown; rt:
 * the pool's round trip by thread count), the legend and the table's header. */
void nb_table_start(double others, const double *rt)
{
    printf("DRAM copy bandwidth (read + non-temporal write, %zu MiB, best repetition):",
           (g_dram_bytes >> 20));
    for (int i = 0; i < g_opt.thr.n; i++)
        printf(" %zu thr %.1f GB/s%s", g_opt.thr.v[i], g_copy_gbps[g_opt.thr.v[i]],
               i + 1 < g_opt.thr.n ? "," : "");
    printf("\n");
    int busy = 0, first_rt = 1;
    for (int i = 0; i < g_opt.thr.n; i++) {
        unsigned t = (unsigned)g_opt.thr.v[i];
        if (t < 2)
            continue;
        busy |= rt[t] > STALL_NS;
        printf("%s %u thr %.2f us", first_rt ? "thread pool round trip (empty job):" : ",", t,
               rt[t] / 1e3);
        first_rt = 0;
    }
    if (others >= 0)
        printf("%sother processes kept %.2f of %u CPUs busy", first_rt ? "" : "; ", others,
               g_ncpu);
    printf("\n");
    if (busy || others > 0.25)
        printf("warning: other processes are using the CPUs: timings are noisy, multi-threaded ones "
               "above all\n");
    printf("time box %.0f ms per implementation and shape, repetitions interleaved across the "
           "implementations\n"
           "ns/row: %s of the repetitions; ~ interquartile range above 10%% of the median;\n"
           "        ! thread pool stalled by other processes (not a measurement)\n"
           "GB/s: bytes of x, y, w, b a call must move / time (--help: byte model)\n"
           "lim: the limit the row is judged against; %%limit: that limit's time / this time\n"
           "  stream (the floor row: x, w, b read once, y written) for jobs from DRAM and for rows\n"
           "    that stay in registers: dim <= %zu (avx2), %zu (avx512), %zu (neon), %zu (scalar);\n"
           "    a tier row by its own tier, the other rows by the dispatched one (%s)\n"
           "  2pass (the floor-2p row: per row, read x, then read x, w, b and write y) for the\n"
           "    other rows in cache: they must read x twice\n"
           "vs X: X's time / this time; check: against the scalar tier\n\n",
           g_opt.time_ms, g_stat_min ? "minimum" : "median", nb_reg_dim(NORM_TIER_AVX2),
           nb_reg_dim(NORM_TIER_AVX512), nb_reg_dim(NORM_TIER_NEON),
           nb_reg_dim(NORM_TIER_SCALAR), libnorm_active_isa());
    print_header();
    fflush(stdout);
}

/* The rows of one shape: g_res[first .. g_nres). */
void nb_table_shape(size_t first)
{
    static int last_group = -1;
    nb_progress_clear();
    if (first < g_nres && g_res[first].group != last_group) {
        const result *r = &g_res[first];
        last_group = r->group;
        if (r->group == G_HEAD)
            printf("-- head: per-head norms, rows = %zu heads x tokens, x row stride %zu x dim "
                   "floats\n   (the q of a fused [token][head][q,k,v][dim] tensor), y "
                   "contiguous; onednn n/a (no strided x with a contiguous y)\n\n",
                   g_opt.heads, g_opt.head_stride);
        else if (r->group == G_SINGLE)
            printf("-- single: decode calls, rows = 1 and the same row in a 32-row batch, "
                   "1 thread\n\n");
    }
    for (size_t k = first; k < g_nres; k++)
        print_result(&g_res[k]);
    printf("\n");
    fflush(stdout);
}

/* The closing lines: the count, the time the run took, the failures. */
void nb_table_end(int failures, double seconds)
{
    printf("\n%zu measurements in %.0f s%s\n", g_nres, seconds,
           failures ? "" : ", every result checked against the scalar tier");
    if (failures)
        printf("%d measurement%s FAILED (check or call error): see the rows marked FAIL/ERROR\n",
               failures, failures == 1 ? "" : "s");
}
