/*
 * --plot FILE.png: GB/s against dim, one panel per op x rows x threads of the grid (the head
 * and single groups are in the table only), a line per implementation with the floors
 * (streaming and two-pass limits) drawn in (and the DRAM copy bandwidth on DRAM panels). Writes a
 * gnuplot script next to the image (FILE.gp) and runs gnuplot on it.
 */
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libnorm.h"
#include "nb_internal.h"

extern char **environ;

static int find_in_path(const char *prog)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *d = strtok(buf, ":"); d; d = strtok(NULL, ":")) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", *d ? d : ".", prog);
        if (access(p, X_OK) == 0)
            return 1;
    }
    return 0;
}

static const char *impl_color(const impl *im)
{
    static const struct {
        const char *n, *c;
    } tab[] = {{"floor", "#000000"}, {"floor-2p", "#000000"}, {"scalar", "#8c8c8c"}, {"avx2", "#1f77b4"},
               {"avx512", "#d62728"}, {"neon", "#17becf"}, {"api", "#2ca02c"},
               {"naive", "#8c564b"}, {"ggml", "#ff7f0e"}, {"onednn", "#9467bd"}};
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (!strcmp(tab[i].n, im->name))
            return tab[i].c;
    return "#444444";
}

/* Whether implementation ii has a plottable point (measured, not stalled) in a panel. */
static int series_valid(int ii, int op, size_t rs, unsigned th)
{
    for (size_t k = 0; k < g_nres; k++) {
        const result *r = &g_res[k];
        if (r->impl == ii && r->op == op && r->thr == th && r->status == ST_OK && !r->stalled &&
            r->group == G_GRID &&
            (rs == ROWS_DRAM ? r->dram : (!r->dram && r->rows == rs)))
            return 1;
    }
    return 0;
}

void nb_write_plot(const char *png, const char *model)
{
    if (!find_in_path("gnuplot")) {
        fprintf(stderr, "normbench: gnuplot not found, plot skipped (Debian: apt-get install "
                        "gnuplot-nox)\n");
        return;
    }
    /* panels: (rows spec, threads) x op */
    int ops[OP_COUNT], nops = 0;
    for (int i = 0; i < g_opt.nops; i++)
        if (!nb_op_is_head(g_opt.ops[i])) /* the grid only: the head and single groups are in
                                             the table */
            ops[nops++] = g_opt.ops[i];
    if (!nops) {
        fprintf(stderr, "normbench: no grid op (ln, ln-plain, rms) measured, plot skipped\n");
        return;
    }
    int npr = g_opt.rows.n * g_opt.thr.n;
    char gp[4096];
    snprintf(gp, sizeof gp, "%s", png);
    char *dot = strrchr(gp, '.');
    if (dot && !strchr(dot, '/'))
        *dot = 0;
    strncat(gp, ".gp", sizeof gp - strlen(gp) - 1);
    FILE *f = nb_open_out(gp);
    if (!f)
        return;
    int W = 700 * nops, H = 360 * npr + 60;
    fprintf(f, "# normbench plot script (rerun: gnuplot %s)\n", gp);
    fprintf(f, "set terminal pngcairo size %d,%d font 'sans,9'\nset output '%s'\n", W, H, png);
    /* data */
    for (int pr = 0; pr < npr; pr++)
        for (int oi = 0; oi < nops; oi++)
            for (int ii = 0; ii < g_nimpl; ii++) {
                if (g_impl[ii].kind == K_FLOOR_RD)
                    continue;
                size_t rs = g_opt.rows.v[pr / g_opt.thr.n];
                unsigned th = (unsigned)g_opt.thr.v[pr % g_opt.thr.n];
                if (!series_valid(ii, ops[oi], rs, th))
                    continue;
                int any = 0;
                for (int d = 0; d < g_opt.dims.n; d++)
                    for (size_t k = 0; k < g_nres; k++) {
                        const result *r = &g_res[k];
                        if (r->impl != ii || r->op != ops[oi] || r->thr != th ||
                            r->group != G_GRID ||
                            r->dim != g_opt.dims.v[d] || r->status != ST_OK ||
                            (rs == ROWS_DRAM ? !r->dram : (r->dram || r->rows != rs)))
                            continue;
                        if (!any)
                            fprintf(f, "$d%d_%d_%d << EOD\n", pr, oi, ii);
                        any = 1;
                        if (r->stalled) /* not a measurement: a gap in the line */
                            fprintf(f, "\n");
                        else
                            fprintf(f, "%zu %.4f\n", r->dim, r->gbps);
                    }
                if (any)
                    fprintf(f, "EOD\n");
            }
    fprintf(f, "set multiplot layout %d,%d title \"normbench, libnorm %s on %s (%u CPUs): GB/s = "
               "bytes of x, y, w, b per call / %s time (higher is better)\\nfloor: a pass that "
               "reads x, w, b and writes y (the streaming limit); floor-2p: per row, a read of "
               "the row, then that pass (the two-pass limit)\\n(%s intrinsics; non-temporal "
               "stores for DRAM-sized jobs), same shape and threads; DRAM copy: read + "
               "non-temporal write bandwidth\" font 'sans,11'\n",
            npr, nops, libnorm_version_string(), model, g_ncpu, g_stat_min ? "minimum" : "median",
            g_floor.isa);
    fprintf(f, "set logscale x 2\nset grid\nset yrange [0:*]\nset xlabel 'dim'\n"
               "set ylabel 'GB/s'\nset key outside right top vertical font ',8' samplen 2 spacing 1.0\n");
    fprintf(f, "set xtics (");
    for (int d = 0; d < g_opt.dims.n; d++) {
        size_t v = g_opt.dims.v[d];
        if (v >= 1024 && v % 1024 == 0)
            fprintf(f, "%s\"%zuK\" %zu", d ? ", " : "", v / 1024, v);
        else
            fprintf(f, "%s\"%zu\" %zu", d ? ", " : "", v, v);
    }
    fprintf(f, ")\n");
    size_t dmin = SIZE_MAX, dmax = 0;
    for (int d = 0; d < g_opt.dims.n; d++) {
        dmin = g_opt.dims.v[d] < dmin ? g_opt.dims.v[d] : dmin;
        dmax = g_opt.dims.v[d] > dmax ? g_opt.dims.v[d] : dmax;
    }
    fprintf(f, "set xrange [%g:%g]\nset xtics rotate by 45 right font ',8'\n", dmin / 1.3,
            dmax * 1.3);
    for (int pr = 0; pr < npr; pr++) {
        size_t rs = g_opt.rows.v[pr / g_opt.thr.n];
        unsigned th = (unsigned)g_opt.thr.v[pr % g_opt.thr.n];
        for (int oi = 0; oi < nops; oi++) {
            char rowsdesc[96];
            if (rs == ROWS_DRAM)
                snprintf(rowsdesc, sizeof rowsdesc, "DRAM batch (x = %zu MiB)", g_dram_bytes >> 20);
            else
                snprintf(rowsdesc, sizeof rowsdesc, "%zu row%s", rs, rs == 1 ? "" : "s");
            fprintf(f, "set title \"%s | %s | %u thread%s\"\n", nb_op_titles[ops[oi]], rowsdesc, th,
                    th == 1 ? "" : "s");
            int nser = 0;
            for (int ii = 0; ii < g_nimpl; ii++)
                nser += g_impl[ii].kind != K_FLOOR_RD && series_valid(ii, ops[oi], rs, th);
            if (!nser) {
                /* nothing measured here (every point stalled, or failed): say so */
                fprintf(f, "set label 1 'no data (stalled thread pool or failed)' at graph 0.5,0.5 "
                           "center\nset yrange [0:1]\n"
                           "plot 0 lc rgb '#ffffff' notitle\nunset label 1\nset yrange [0:*]\n");
                continue;
            }
            fprintf(f, "plot NaN notitle");
            for (int ii = 0; ii < g_nimpl; ii++) {
                const impl *im = &g_impl[ii];
                if (im->kind == K_FLOOR_RD || !series_valid(ii, ops[oi], rs, th))
                    continue;
                int floor = im->kind == K_FLOOR, floor2 = im->kind == K_FLOOR_2P;
                fprintf(f, ", $d%d_%d_%d u 1:2 w lp lw %s pt 7 ps 0.5 lc rgb '%s'%s t '%s'", pr,
                        oi, ii, floor ? "3" : floor2 ? "2" : "1.5", impl_color(im),
                        im->kind == K_API ? " dt 2" : floor2 ? " dt 4" : "",
                        floor ? "floor (stream)" : floor2 ? "floor-2p (2pass)" : im->name);
            }
            if (rs == ROWS_DRAM && g_copy_gbps[th] > 0)
                fprintf(f, ", %.3f w l dt 3 lw 1.5 lc rgb '#555555' t 'DRAM copy %.0f'",
                        g_copy_gbps[th], g_copy_gbps[th]);
            fprintf(f, "\n");
        }
    }
    fprintf(f, "unset multiplot\n");
    fclose(f);
    pid_t pid;
    char *argv[] = {"gnuplot", gp, NULL};
    if (posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ) != 0) {
        fprintf(stderr, "normbench: cannot run gnuplot, plot skipped\n");
        return;
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        printf("plot: %s (gnuplot script: %s)\n", png, gp);
    else
        fprintf(stderr, "normbench: gnuplot failed on %s\n", gp);
}
