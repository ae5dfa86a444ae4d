// End-to-end check of libnorm inside llama.cpp (libnorm issue 8, item 4): a real Llama
// (stories260K, converted to GGUF by llama.cpp's convert-llama2c-to-ggml) decoded greedily by
// token id with ggml's stock norm kernels and with libnorm, in one process (the glue's runtime
// switch), at 1 and 2 threads.
//
//   decode MODEL.gguf [n_predict=256] [logit_tol=1e-4] [default|f32]
//
// "default": llama.cpp's default context (flash attention auto, F16 K/V cache); "f32": F32 K/V
// cache and no flash attention, so that the prefill logits show the norm ops' own differences.
// For each thread count: prefill a fixed prompt of ids (logits of every prompt position kept),
// then n_predict greedy steps (argmax, ties to the lowest id). Passes when the generated ids of
// the libnorm runs equal the stock run's (every thread count), the prefill logits agree within
// logit_tol * max(1, max |logit|), libnorm served the fused RMS_NORM+MUL nodes (the glue's
// counters) and the stock runs did not touch libnorm.
#include "llama.h"

#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

extern "C" {
void ggml_cpu_libnorm_set_enabled(int on);
uint64_t ggml_cpu_libnorm_count(const char * op, const char * what);
void ggml_cpu_libnorm_reset_counts(void);
}

namespace {

void quiet(enum ggml_log_level level, const char * text, void *) {
    if (level == GGML_LOG_LEVEL_ERROR) {
        fputs(text, stderr);
    }
}

struct result {
    std::vector<llama_token> ids;
    std::vector<float> logits;  // prefill, every prompt position
    bool ok = false;
};

llama_token argmax(const float * l, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) {
        if (l[i] > l[best]) best = i;
    }
    return best;
}

bool f32_attention = false;

result generate(llama_model * model, const std::vector<llama_token> & prompt, int n_predict, int threads) {
    result r;
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 512;
    cp.n_batch = 512;
    cp.n_ubatch = 512;
    cp.n_threads = threads;
    cp.n_threads_batch = threads;
    cp.no_perf = true;
    if (f32_attention) {
        // F32 K/V cache and no flash attention (whose CPU kernel works in F16): otherwise a
        // last-bit difference of a norm output can flip an f16 rounding (2^-11 relative), which
        // then dominates the logit comparison
        cp.type_k = GGML_TYPE_F32;
        cp.type_v = GGML_TYPE_F32;
        cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    }
    llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) {
        fprintf(stderr, "decode: llama_init_from_model failed\n");
        return r;
    }
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    llama_batch b = llama_batch_init((int32_t) prompt.size(), 0, 1);
    for (size_t i = 0; i < prompt.size(); i++) {
        b.token[i] = prompt[i];
        b.pos[i] = (llama_pos) i;
        b.n_seq_id[i] = 1;
        b.seq_id[i][0] = 0;
        b.logits[i] = 1;
    }
    b.n_tokens = (int32_t) prompt.size();
    if (llama_decode(ctx, b) != 0) {
        fprintf(stderr, "decode: prefill failed\n");
        llama_batch_free(b);
        llama_free(ctx);
        return r;
    }
    for (size_t i = 0; i < prompt.size(); i++) {
        const float * l = llama_get_logits_ith(ctx, (int32_t) i);
        r.logits.insert(r.logits.end(), l, l + n_vocab);
    }
    llama_batch_free(b);
    llama_token t = argmax(llama_get_logits_ith(ctx, -1), n_vocab);
    for (int k = 0; k < n_predict; k++) {
        r.ids.push_back(t);
        if (k + 1 == n_predict) break;
        llama_batch one = llama_batch_get_one(&t, 1);
        if (llama_decode(ctx, one) != 0) {
            fprintf(stderr, "decode: step %d failed\n", k);
            llama_free(ctx);
            return r;
        }
        t = argmax(llama_get_logits_ith(ctx, -1), n_vocab);
    }
    llama_free(ctx);
    r.ok = true;
    return r;
}

}  // namespace

int main(int argc, char ** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.gguf [n_predict=256] [logit_tol=1e-4] [default|f32]\n", argv[0]);
        return 2;
    }
    const int n_predict = argc > 2 ? atoi(argv[2]) : 256;
    const double tol = argc > 3 ? atof(argv[3]) : 1e-4;
    f32_attention = argc > 4 && strcmp(argv[4], "f32") == 0;
    printf("decode: attention %s\n", f32_attention ? "F32 K/V cache, flash attention off"
                                                    : "llama.cpp default (flash attention auto, F16 K/V cache)");
    llama_log_set(quiet, nullptr);
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    llama_model * model = llama_model_load_from_file(argv[1], mp);
    if (!model) {
        fprintf(stderr, "decode: cannot load %s\n", argv[1]);
        return 1;
    }
    // BOS, then a fixed run of ids (bytes and filler pieces of our generated vocabulary)
    const std::vector<llama_token> prompt = { 1, 300, 259, 400, 45, 511, 77, 260, 3, 450, 120, 301, 99, 480, 262, 35 };
    int fail = 0;
    result ref;  // stock, 1 thread
    for (int threads = 1; threads <= 2; threads++) {
        ggml_cpu_libnorm_reset_counts();
        ggml_cpu_libnorm_set_enabled(0);
        result stock = generate(model, prompt, n_predict, threads);
        const uint64_t stock_served = ggml_cpu_libnorm_count("rms_norm_mul", "served") +
                                      ggml_cpu_libnorm_count("rms_norm", "served");
        const uint64_t stock_off = ggml_cpu_libnorm_count("rms_norm_mul", "off");
        ggml_cpu_libnorm_reset_counts();
        ggml_cpu_libnorm_set_enabled(1);
        result lib = generate(model, prompt, n_predict, threads);
        const uint64_t served = ggml_cpu_libnorm_count("rms_norm_mul", "served");
        uint64_t fallbacks = 0;
        for (const char * w : { "off", "ref", "type", "strided", "broadcast", "layout", "api", "error" }) {
            fallbacks += ggml_cpu_libnorm_count("rms_norm_mul", w) + ggml_cpu_libnorm_count("rms_norm", w);
        }
        if (!stock.ok || !lib.ok) {
            return 1;
        }
        if (threads == 1) ref = stock;
        size_t same = 0;
        while (same < lib.ids.size() && same < stock.ids.size() && lib.ids[same] == stock.ids[same]) same++;
        double maxabs = 0, maxdiff = 0;
        for (size_t i = 0; i < stock.logits.size(); i++) {
            maxabs = std::fmax(maxabs, std::fabs(stock.logits[i]));
            maxdiff = std::fmax(maxdiff, std::fabs((double) lib.logits[i] - stock.logits[i]));
        }
        const double rel = maxdiff / std::fmax(1.0, maxabs);
        if (getenv("DECODE_VERBOSE")) {  // per prompt position: max |diff|, max |logit|
            const size_t nv = stock.logits.size() / prompt.size();
            for (size_t p = 0; p < prompt.size(); p++) {
                double d = 0, a = 0;
                for (size_t i = p * nv; i < (p + 1) * nv; i++) {
                    d = std::fmax(d, std::fabs((double) lib.logits[i] - stock.logits[i]));
                    a = std::fmax(a, std::fabs(stock.logits[i]));
                }
                printf("  position %2zu: max |diff| %.3g, max |logit| %.3g\n", p, d, a);
            }
        }
        const bool ids_ok = same == stock.ids.size() && lib.ids.size() == stock.ids.size() && stock.ids == ref.ids;
        printf("decode: %d thread%s: %zu/%zu greedy ids identical (libnorm vs stock%s); prefill logits "
               "(%zu x %zu) max |diff| %.3g, max |logit| %.3g, relative %.3g (tolerance %.3g); rms_norm+mul nodes "
               "served by libnorm %" PRIu64 ", fallbacks %" PRIu64 "; stock run: %" PRIu64 " switched off, %" PRIu64
               " served\n",
               threads, threads > 1 ? "s" : "", same, stock.ids.size(), threads > 1 ? ", and stock = 1-thread stock" : "",
               prompt.size(), stock.logits.size() / prompt.size(), maxdiff, maxabs, rel, tol, served, fallbacks,
               stock_off, stock_served);
        if (!ids_ok) {
            printf("decode: FAIL: ids differ at position %zu\n", same);
            fail = 1;
        }
        if (!(rel <= tol)) {
            printf("decode: FAIL: prefill logits beyond tolerance\n");
            fail = 1;
        }
        if (served == 0 || fallbacks != 0 || stock_served != 0 || stock_off == 0) {
            printf("decode: FAIL: counters (libnorm must serve every RMSNorm, stock none)\n");
            fail = 1;
        }
    }
    printf("decode: first ids:");
    for (int i = 0; i < 24 && i < (int) ref.ids.size(); i++) printf(" %d", ref.ids[i]);
    printf(" ...\n");
    llama_model_free(model);
    return fail;
}
