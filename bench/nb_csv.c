/*
 * --csv FILE: every result, one line each, with all the statistics, the check, the limits
 * (pct_floor: against the streaming limit; limit, pct_limit: the limit the row is judged against)
 * and the speedups.
 */
#include <math.h>
#include <stdio.h>

#include "nb_internal.h"

void nb_write_csv(const char *path)
{
    FILE *f = nb_open_out(path);
    if (!f)
        return;
    fprintf(f, "impl,op,dim,rows,threads,dram_batch,group,x_stride,mem,bytes_per_call,"
               "working_set_bytes,ns_per_call,ns_per_row,gbps,pct_floor,limit,pct_limit,ns_min,"
               "ns_p25,ns_median,ns_p75,reps,calls_per_rep,status,exact,max_rel_diff,");
    for (int k = 0; k < NBASE; k++)
        fprintf(f, "speedup_%s,", nb_baselines[k].key);
    fprintf(f, "note\n");
    for (size_t i = 0; i < g_nres; i++) {
        const result *r = &g_res[i];
        fprintf(f, "%s,%s,%zu,%zu,%u,%d,%s,%zu,%s,%.0f,%.0f,", g_impl[r->impl].name,
                nb_op_names[r->op], r->dim, r->rows, r->thr, r->dram, nb_group_names[r->group],
                r->xs, r->mem, r->bytes, r->ws_bytes);
        if (r->status == ST_OK)
            fprintf(f, "%.2f,%.3f,%.3f,", r->t.val, r->t.val / (double)r->rows, r->gbps);
        else
            fprintf(f, ",,,");
        if (isnan(r->pct_floor))
            fprintf(f, ",");
        else
            fprintf(f, "%.2f,", r->pct_floor);
        fprintf(f, "%s,", r->limit == LIM_NONE ? "" : nb_limit_names[r->limit]);
        if (isnan(r->pct_limit))
            fprintf(f, ",");
        else
            fprintf(f, "%.2f,", r->pct_limit);
        if (r->status == ST_OK)
            fprintf(f, "%.2f,%.2f,%.2f,%.2f,%zu,%zu,", r->t.min, r->t.p25, r->t.med, r->t.p75,
                    r->t.reps, r->t.inner);
        else
            fprintf(f, ",,,,,,");
        fprintf(f, "%s,%d,%.3g,",
                nb_status_name(r->status),
                r->exact, r->maxdiff);
        for (int k = 0; k < NBASE; k++) {
            if (isnan(r->sp[k]))
                fprintf(f, ",");
            else
                fprintf(f, "%.4f,", r->sp[k]);
        }
        fprintf(f, "\"%s\"\n", r->note);
    }
    fclose(f);
}
