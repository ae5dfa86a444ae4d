/*
 * LIBNORM_ISA selection, each value in a child process that loads libnorm.so fresh (dlopen runs
 * the load-time constructor), with the child's stderr captured:
 *   - no value or a supported tier: that tier, nothing on stderr;
 *   - an unknown value or a tier the CPU lacks: the best tier, exactly one message on stderr,
 *     and none more on later calls.
 * Also: many threads making their first calls at once right after load agree with each other.
 *
 *   test_isa PATH/TO/libnorm.so [--expect-best TIER]
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int passed, failed;
static const char *lib_path;

typedef const char *(*isa_fn)(void);
typedef int (*ln_fn)(float *, const float *, const float *, const float *, size_t, size_t, float);

/* In a child: set LIBNORM_ISA (NULL: unset), load the library, write "<isa>\n" to `out`. */
static void child(const char *value, int out_fd)
{
    if (value)
        setenv("LIBNORM_ISA", value, 1);
    else
        unsetenv("LIBNORM_ISA");
    void *h = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        dprintf(out_fd, "dlopen failed: %s\n", dlerror());
        _exit(3);
    }
    isa_fn isa = (isa_fn)dlsym(h, "libnorm_active_isa");
    ln_fn ln = (ln_fn)dlsym(h, "libnorm_layernorm_f32");
    float x[64], y[64];
    for (int i = 0; i < 64; i++)
        x[i] = (float)i;
    ln(y, x, NULL, NULL, 1, 64, 1e-5f); /* later calls print nothing more */
    dprintf(out_fd, "%s\n", isa());
    _exit(0);
}

/* Runs the child; fills isa and the stderr text. */
static int run(const char *value, char *isa, size_t isa_len, char *err, size_t err_len)
{
    int po[2], pe[2];
    if (pipe(po) || pipe(pe))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(po[0]);
        close(pe[0]);
        dup2(pe[1], 2);
        child(value, po[1]);
    }
    close(po[1]);
    close(pe[1]);
    ssize_t n = read(po[0], isa, isa_len - 1);
    isa[n > 0 ? n : 0] = 0;
    char *nl = strchr(isa, '\n');
    if (nl)
        *nl = 0;
    size_t got = 0;
    ssize_t k;
    while (got < err_len - 1 && (k = read(pe[0], err + got, err_len - 1 - got)) > 0)
        got += (size_t)k;
    err[got] = 0;
    close(po[0]);
    close(pe[0]);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void check(int cond, const char *fmt, const char *a, const char *b)
{
    if (cond) {
        passed++;
    } else {
        failed++;
        printf("FAIL ");
        printf(fmt, a, b);
        printf("\n");
    }
}

/* Whether `tier` runs on a CPU whose best tier is `best` (the design: LIBNORM_ISA can only lower
 * the tier, on the same architecture). */
static int supported(const char *tier, const char *best)
{
    if (!strcmp(tier, "scalar"))
        return 1;
    if (!strcmp(tier, "avx2"))
        return !strcmp(best, "avx2") || !strcmp(best, "avx512");
    if (!strcmp(tier, "avx512"))
        return !strcmp(best, "avx512");
    if (!strcmp(tier, "neon"))
        return !strcmp(best, "neon");
    return 0;
}

#define NT 16
static ln_fn g_ln;
static pthread_barrier_t g_bar;
static float g_out[NT][1000];
static void *first_call(void *arg)
{
    float *out = arg;
    static float x[1000];
    for (int i = 0; i < 1000; i++)
        x[i] = (float)(i % 17) * 0.5f;
    pthread_barrier_wait(&g_bar);
    g_ln(out, x, NULL, NULL, 1, 1000, 1e-5f);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_isa PATH/libnorm.so [--expect-best TIER]\n");
        return 2;
    }
    lib_path = argv[1];
    const char *expect_best = argc >= 4 && !strcmp(argv[2], "--expect-best") ? argv[3] : NULL;

    char best[64], err[4096], isa[64];
    int st = run(NULL, best, sizeof(best), err, sizeof(err));
    check(st == 0 && *best, "default load: exit %s, isa '%s'", st == 0 ? "0" : "nonzero", best);
    check(err[0] == 0, "default load printed to stderr: %s%s", err, "");
    printf("best tier: %s\n", best);
    if (expect_best)
        check(!strcmp(best, expect_best), "best tier is %s, expected %s", best, expect_best);

    static const char *const values[] = {"scalar", "avx2",       "avx512", "neon",
                                         "bogus",  "avx512-emu", "AVX2",   ""};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        const char *v = values[i];
        st = run(v, isa, sizeof(isa), err, sizeof(err));
        int ok_value = *v == 0 || supported(v, best);
        const char *want = *v == 0 ? best : (ok_value ? v : best);
        check(st == 0 && !strcmp(isa, want), "LIBNORM_ISA=%s selected the wrong tier (%s)", v, isa);
        if (ok_value)
            check(err[0] == 0, "LIBNORM_ISA=%s printed: %s", v, err);
        else
            check(count_lines(err) == 1 && strstr(err, "libnorm") != NULL,
                  "LIBNORM_ISA=%s: expected exactly one message on stderr, got: '%s'", v, err);
        printf("LIBNORM_ISA=%-8s -> %-7s %s", *v ? v : "(empty)", isa, err[0] ? err : "\n");
    }

    /* Concurrent first calls right after load. */
    void *h = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
    check(h != NULL, "dlopen %s%s", lib_path, "");
    if (h) {
        g_ln = (ln_fn)dlsym(h, "libnorm_layernorm_f32");
        pthread_t th[NT];
        pthread_barrier_init(&g_bar, NULL, NT);
        for (int k = 0; k < NT; k++)
            pthread_create(&th[k], NULL, first_call, g_out[k]);
        for (int k = 0; k < NT; k++)
            pthread_join(th[k], NULL);
        int same = 1;
        for (int k = 1; k < NT; k++)
            same &= memcmp(g_out[0], g_out[k], sizeof(g_out[0])) == 0;
        check(same, "concurrent first calls disagree%s%s", "", "");
    }
    printf("test_isa: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
