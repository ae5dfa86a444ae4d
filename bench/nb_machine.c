/*
 * What normbench knows of the machine: the CPUs this process may run on, the cache sizes (the
 * last-level cache decides the DRAM batch), the CPU model, its x86 features (which floor and
 * baseline variants may run) and how busy other processes keep the CPUs.
 */
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nb_internal.h"

unsigned g_ncpu;
int g_cpus[MAXT];
size_t g_l1d, g_l2, g_llc_reported, g_llc;
char g_llc_src[160];
size_t g_dram_bytes;

static size_t read_sysfs_size(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char buf[64] = {0};
    size_t v = 0;
    if (fgets(buf, sizeof buf, f))
        v = nb_parse_size(buf);
    fclose(f);
    return v;
}

void nb_detect_machine(void)
{
    cpu_set_t set;
    g_ncpu = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        for (int c = 0; c < CPU_SETSIZE && g_ncpu < MAXT; c++)
            if (CPU_ISSET(c, &set))
                g_cpus[g_ncpu++] = c;
    }
    if (g_ncpu == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        g_ncpu = n > 0 ? (unsigned)(n < MAXT ? n : MAXT) : 1;
        for (unsigned c = 0; c < g_ncpu; c++)
            g_cpus[c] = (int)c;
    }
    long v;
    g_l1d = (v = sysconf(_SC_LEVEL1_DCACHE_SIZE)) > 0 ? (size_t)v : 32 << 10;
    g_l2 = (v = sysconf(_SC_LEVEL2_CACHE_SIZE)) > 0 ? (size_t)v : 1 << 20;
}

/* Last-level cache: --llc; else the highest level in sysfs (the size of one instance); else
 * sysconf; else 32 MiB. A reported size above 256 MiB is taken for a virtual machine's artefact
 * (no core complex shares that much; some hypervisors report the whole host's L3) and replaced by
 * the 32 MiB fallback, with a note: pass --llc to override. */
void nb_detect_llc(size_t llc_override)
{
    size_t sz = 0;
    int level = 0;
    char src[96] = "";
    for (int i = 0; i < 10; i++) {
        char p[128];
        snprintf(p, sizeof p, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
        FILE *f = fopen(p, "r");
        if (!f)
            continue;
        int lv = 0;
        if (fscanf(f, "%d", &lv) != 1)
            lv = 0;
        fclose(f);
        snprintf(p, sizeof p, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        size_t s = read_sysfs_size(p);
        if (lv > level && s) {
            level = lv;
            sz = s;
            snprintf(src, sizeof src, "sysfs L%d", lv);
        }
    }
    if (!sz) {
        long v = sysconf(_SC_LEVEL3_CACHE_SIZE);
        if (v > 0) {
            sz = (size_t)v;
            snprintf(src, sizeof src, "sysconf L3");
        } else if ((v = sysconf(_SC_LEVEL2_CACHE_SIZE)) > 0) {
            sz = (size_t)v;
            snprintf(src, sizeof src, "sysconf L2");
        }
    }
    g_llc_reported = sz;
    if (llc_override) {
        g_llc = llc_override;
        snprintf(g_llc_src, sizeof g_llc_src, "--llc");
    } else if (!sz) {
        g_llc = (size_t)32 << 20;
        snprintf(g_llc_src, sizeof g_llc_src, "not reported: 32 MiB fallback");
    } else if (sz > ((size_t)256 << 20)) {
        g_llc = (size_t)32 << 20;
        snprintf(g_llc_src, sizeof g_llc_src,
                 "%s reports %zu MiB, implausible for one core complex (VM?): 32 MiB fallback, "
                 "--llc overrides", src, sz >> 20);
    } else {
        g_llc = sz;
        snprintf(g_llc_src, sizeof g_llc_src, "%s", src);
    }
    g_dram_bytes = 2 * g_llc;
}

void nb_cpu_model(char *out, size_t n)
{
    snprintf(out, n, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "model name", 10) || !strncmp(line, "Model", 5)) {
            char *c = strchr(line, ':');
            if (c) {
                c++;
                while (*c == ' ' || *c == '\t')
                    c++;
                c[strcspn(c, "\n")] = 0;
                snprintf(out, n, "%s", c);
                break;
            }
        }
    }
    fclose(f);
}

const char *nb_mem_level(double ws, unsigned thr)
{
    double per = ws / thr;
    if (ws > (double)g_llc)
        return "DRAM";
    if (per <= (double)g_l1d)
        return "L1";
    if (per <= (double)g_l2)
        return "L2";
    return "L3";
}

/* CPUs kept busy by others (and stolen by the hypervisor) over 200 ms while this process
 * sleeps, from /proc/stat; < 0 when unknown. */
double nb_others_busy_cpus(void)
{
    unsigned long long a[2][8];
    for (int k = 0; k < 2; k++) {
        FILE *f = fopen("/proc/stat", "r");
        if (!f)
            return -1;
        int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &a[k][0], &a[k][1],
                       &a[k][2], &a[k][3], &a[k][4], &a[k][5], &a[k][6], &a[k][7]);
        fclose(f);
        if (n != 8)
            return -1;
        if (k == 0) {
            struct timespec ts = {0, 200000000};
            nanosleep(&ts, NULL);
        }
    }
    double busy = 0, total = 0;
    for (int i = 0; i < 8; i++) {
        double d = (double)(a[1][i] - a[0][i]);
        total += d;
        if (i != 3 && i != 4) /* idle, iowait */
            busy += d;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    return total > 0 ? busy / total * (double)(ncpu > 0 ? ncpu : 1) : -1;
}

#if defined(__x86_64__) && defined(NB_HAVE_X86_VARIANTS)
int nb_cpu_has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* exactly the flags the AVX-512 variants are built with (__builtin_cpu_supports also requires
 * the OS to save the registers) */
int nb_cpu_has_avx512(void)
{
    __builtin_cpu_init();
    return nb_cpu_has_avx2() && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl");
}
#endif
