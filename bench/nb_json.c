/*
 * --json FILE: the machine, the configuration and every result (all statistics, the check, the
 * speedups; null where there is no number).
 */
#include <math.h>
#include <stdio.h>

#include "libnorm.h"
#include "nb_internal.h"

static void json_num(FILE *f, const char *key, double v, int last)
{
    if (isnan(v) || isinf(v))
        fprintf(f, "\"%s\": null%s", key, last ? "" : ", ");
    else
        fprintf(f, "\"%s\": %.6g%s", key, v, last ? "" : ", ");
}

void nb_write_json(const char *path, const char *model)
{
    FILE *f = nb_open_out(path);
    if (!f)
        return;
    fprintf(f, "{\n  \"program\": \"normbench\", \"libnorm_version\": \"%s\",\n",
            libnorm_version_string());
    fprintf(f, "  \"machine\": {\"cpu\": \"%s\", \"cpus\": %u, \"l1d_bytes\": %zu, "
               "\"l2_bytes\": %zu, \"llc_reported_bytes\": %zu, \"llc_used_bytes\": %zu, "
               "\"llc_source\": \"%s\", \"dram_batch_x_bytes\": %zu, \"dram_copy_gbps\": {",
            model, g_ncpu, g_l1d, g_l2, g_llc_reported, g_llc, g_llc_src, g_dram_bytes);
    int first = 1;
    for (int i = 0; i < g_opt.thr.n; i++) {
        unsigned t = (unsigned)g_opt.thr.v[i];
        fprintf(f, "%s\"%u\": %.3f", first ? "" : ", ", t, g_copy_gbps[t]);
        first = 0;
    }
    fprintf(f, "}},\n");
    fprintf(f, "  \"config\": {\"time_box_ms\": %g, \"eps\": %g, \"pinned\": %s, \"statistic\": \"%s\", "
               "\"api_isa\": \"%s\", \"floor_isa\": \"%s\", \"baseline_isa\": \"%s\", "
               "\"onednn\": \"%s\", \"byte_model\": \"4*dim*(2*rows+P), P=2 ln and ln-head, 1 "
               "rms and rms-head, 0 ln-plain; strided x counts dim floats per row\", "
               "\"limit_rule\": \"stream if mem is DRAM or dim <= reg_dim of the tier, else "
               "2pass\", \"reg_dim\": {\"avx2\": %zu, \"avx512\": %zu, \"neon\": %zu, "
               "\"scalar\": %zu}, \"heads\": %zu, \"head_stride\": %zu},\n",
            g_opt.time_ms, (double)g_opt.eps, g_opt.pin ? "true" : "false",
            g_stat_min ? "min" : "median", libnorm_active_isa(), g_floor.isa, g_base.isa,
            g_dnnl_state, nb_reg_dim(NORM_TIER_AVX2), nb_reg_dim(NORM_TIER_AVX512),
            nb_reg_dim(NORM_TIER_NEON), nb_reg_dim(NORM_TIER_SCALAR), g_opt.heads,
            g_opt.head_stride);
    fprintf(f, "  \"results\": [\n");
    for (size_t i = 0; i < g_nres; i++) {
        const result *r = &g_res[i];
        fprintf(f, "    {\"impl\": \"%s\", \"op\": \"%s\", \"dim\": %zu, \"rows\": %zu, "
                   "\"threads\": %u, \"dram_batch\": %s, \"group\": \"%s\", "
                   "\"x_stride\": %zu, \"mem\": \"%s\", ",
                g_impl[r->impl].name, nb_op_names[r->op], r->dim, r->rows, r->thr,
                r->dram ? "true" : "false", nb_group_names[r->group], r->xs, r->mem);
        fprintf(f, "\"status\": \"%s\", \"exact\": %s, ",
                nb_status_name(r->status),
                r->exact ? "true" : "false");
        json_num(f, "max_rel_diff", r->maxdiff, 0);
        json_num(f, "bytes_per_call", r->bytes, 0);
        int ok = r->status == ST_OK;
        json_num(f, "ns_per_call", ok ? r->t.val : NAN, 0);
        json_num(f, "ns_median", ok ? r->t.med : NAN, 0);
        json_num(f, "ns_per_row", ok ? r->t.val / (double)r->rows : NAN, 0);
        json_num(f, "gbps", ok ? r->gbps : NAN, 0);
        json_num(f, "pct_floor", r->pct_floor, 0);
        if (r->limit == LIM_NONE)
            fprintf(f, "\"limit\": null, ");
        else
            fprintf(f, "\"limit\": \"%s\", ", nb_limit_names[r->limit]);
        json_num(f, "pct_limit", r->pct_limit, 0);
        json_num(f, "ns_min", ok ? r->t.min : NAN, 0);
        json_num(f, "ns_p25", ok ? r->t.p25 : NAN, 0);
        json_num(f, "ns_p75", ok ? r->t.p75 : NAN, 0);
        json_num(f, "reps", ok ? (double)r->t.reps : NAN, 0);
        for (int k = 0; k < NBASE; k++) {
            char key[32];
            snprintf(key, sizeof key, "speedup_%s", nb_baselines[k].key);
            json_num(f, key, r->sp[k], 0);
        }
        fprintf(f, "\"note\": \"%s\"}%s\n", r->note, i + 1 < g_nres ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    fclose(f);
}
