#include "matmul-rate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "ggml.h"
#include "ggml-cpu.h"

#include "js-options.h"
#include "thread-job.h"

namespace lora_gguf {

namespace {

struct MatMulRateOptions {
    bool      out_prod    = false;
    ggml_type weight_type = GGML_TYPE_F32;
    int64_t   inputs      = 0;
    int64_t   outputs     = 0;
    int64_t   tokens      = 0;
    int32_t   threads     = 1;
    int32_t   repeats     = 1;
};

struct GgmlContext {
    ggml_context * ctx = nullptr;
    explicit GgmlContext(size_t bytes) {
        ggml_init_params params = {
            /*.mem_size   =*/ bytes,
            /*.mem_buffer =*/ nullptr,
            /*.no_alloc   =*/ false,
        };
        ctx = ggml_init(params);
        if (ctx == nullptr) {
            throw JobFailure{"E_NATIVE", "measureMatMulRate: could not allocate " + std::to_string(bytes) + " bytes"};
        }
    }
    ~GgmlContext() { ggml_free(ctx); }
    GgmlContext(const GgmlContext &) = delete;
    GgmlContext & operator=(const GgmlContext &) = delete;
};

class MatMulRateJob : public ThreadJob {
public:
    explicit MatMulRateJob(MatMulRateOptions options) : options_(options) {}

protected:
    void execute() override {
        const MatMulRateOptions & o = options_;
        const int64_t in_dim = o.inputs, out_dim = o.outputs, tokens = o.tokens;

        std::mt19937 rng(1234);
        std::normal_distribution<float> normal(0.0f, 1.0f);
        std::vector<float> weight_f32(in_dim * out_dim);
        for (float & v : weight_f32) v = normal(rng);
        const int64_t other_rows = o.out_prod ? out_dim : in_dim; // g [outputs, tokens] or x [inputs, tokens]
        std::vector<float> other(other_rows * tokens);
        for (float & v : other) v = normal(rng);

        const size_t weight_bytes = ggml_row_size(o.weight_type, in_dim) * out_dim;
        // ggml_graph_compute_with_ctx takes its work buffer (activations converted for mul_mat, B
        // panels for out_prod) from this context too: leave room for a converted copy of both operands
        const size_t operand_bytes = sizeof(float) * (other.size() + in_dim * tokens + out_dim * tokens);
        GgmlContext context(weight_bytes + 2 * operand_bytes + 16 * ggml_tensor_overhead() + ggml_graph_overhead() + (16 << 20));
        ggml_context * ctx = context.ctx;

        ggml_tensor * weight = ggml_new_tensor_2d(ctx, o.weight_type, in_dim, out_dim);
        if (o.weight_type == GGML_TYPE_F32) {
            std::copy(weight_f32.begin(), weight_f32.end(), (float *) weight->data);
        } else {
            ggml_quantize_chunk(o.weight_type, weight_f32.data(), weight->data, 0, out_dim, in_dim, nullptr);
        }
        // the reference uses the weights as the kernel sees them
        std::vector<float> weight_seen(in_dim * out_dim);
        if (o.weight_type == GGML_TYPE_F32) {
            weight_seen = weight_f32;
        } else {
            ggml_get_type_traits(o.weight_type)->to_float(weight->data, weight_seen.data(), in_dim * out_dim);
        }

        ggml_tensor * operand = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, other_rows, tokens);
        std::copy(other.begin(), other.end(), (float *) operand->data);
        ggml_tensor * result = o.out_prod ? ggml_out_prod(ctx, weight, ggml_transpose(ctx, operand)) : ggml_mul_mat(ctx, weight, operand);
        ggml_cgraph * graph = ggml_new_graph(ctx);
        ggml_build_forward_expand(graph, result);

        best_seconds_ = INFINITY;
        for (int32_t r = 0; r < o.repeats && !cancel_requested(); ++r) {
            const auto started = std::chrono::steady_clock::now();
            if (ggml_graph_compute_with_ctx(ctx, graph, o.threads) != GGML_STATUS_SUCCESS) {
                throw JobFailure{"E_NATIVE", "measureMatMulRate: ggml_graph_compute failed"};
            }
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            best_seconds_ = std::min(best_seconds_, seconds);
        }

        // mul_mat: y[o, t] = sum_i W[i, o] x[i, t]; out_prod: dx[i, t] = sum_o W[i, o] g[o, t]
        const float * out = (const float *) result->data;
        const int64_t out_rows = o.out_prod ? in_dim : out_dim;
        max_abs_error_ = 0.0;
        // 9 token columns, the first and the last among them (the last tile of rows is a tail)
        for (int64_t j = 0; j <= 8; ++j) {
            const int64_t t = j * (tokens - 1) / 8;
            for (int64_t r = 0; r < out_rows; ++r) {
                double sum = 0.0;
                if (o.out_prod) {
                    for (int64_t k = 0; k < out_dim; ++k) sum += (double) weight_seen[k * in_dim + r] * other[t * out_dim + k];
                } else {
                    for (int64_t k = 0; k < in_dim; ++k) sum += (double) weight_seen[r * in_dim + k] * other[t * in_dim + k];
                }
                max_abs_error_ = std::max(max_abs_error_, std::fabs(sum - out[t * out_rows + r]));
            }
        }
    }

    Napi::Value result(Napi::Env env) override {
        const double flops = 2.0 * options_.inputs * options_.outputs * options_.tokens;
        Napi::Object result = Napi::Object::New(env);
        result.Set("bestSeconds", Napi::Number::New(env, best_seconds_));
        result.Set("flopsPerSecond", Napi::Number::New(env, flops / best_seconds_));
        result.Set("maxAbsError", Napi::Number::New(env, max_abs_error_));
        return result;
    }

private:
    MatMulRateOptions options_;
    double            best_seconds_  = 0.0;
    double            max_abs_error_ = 0.0;
};

} // namespace

Napi::Value measure_matmul_rate(const Napi::CallbackInfo & info, JobRegistry & jobs) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) {
        throw make_coded_error(env, "E_INVALID_OPTION", "measureMatMulRate: expected an options object");
    }
    Napi::Object raw = info[0].As<Napi::Object>();
    const char * where = "measureMatMulRate";
    MatMulRateOptions options;
    const std::string op = required_string(raw, where, "op");
    if (op != "mul_mat" && op != "out_prod") {
        throw make_coded_error(env, "E_INVALID_OPTION", "measureMatMulRate: op must be mul_mat or out_prod");
    }
    options.out_prod = op == "out_prod";
    const double type = required_number(raw, where, "weightType");
    options.inputs  = (int64_t) required_number(raw, where, "inputs");
    options.outputs = (int64_t) required_number(raw, where, "outputs");
    options.tokens  = (int64_t) required_number(raw, where, "tokens");
    options.threads = (int32_t) required_number(raw, where, "threads");
    options.repeats = (int32_t) required_number(raw, where, "repeats");
    if (type < 0 || type >= GGML_TYPE_COUNT || ggml_get_type_traits((ggml_type) type)->blck_size == 0) {
        throw make_coded_error(env, "E_INVALID_OPTION", "measureMatMulRate: weightType is not a ggml type");
    }
    options.weight_type = (ggml_type) type;
    const int64_t block = ggml_blck_size(options.weight_type);
    if (options.inputs <= 0 || options.outputs <= 0 || options.tokens <= 0 || options.inputs % block != 0 ||
        options.threads <= 0 || options.repeats <= 0 || options.inputs * options.outputs > (int64_t) 1 << 30) {
        throw make_coded_error(env, "E_INVALID_OPTION", "measureMatMulRate: sizes must be positive, inputs a multiple of the type's block, at most 2^30 weights");
    }
    if (options.weight_type != GGML_TYPE_F32 && ggml_get_type_traits(options.weight_type)->to_float == nullptr) {
        throw make_coded_error(env, "E_INVALID_OPTION", "measureMatMulRate: weightType cannot be dequantized");
    }
    if (ggml_quantize_requires_imatrix(options.weight_type)) {
        throw make_coded_error(env, "E_NEEDS_IMATRIX", "measureMatMulRate: weightType needs an importance matrix to quantize");
    }
    return ThreadJob::start(env, std::make_shared<MatMulRateJob>(options), Napi::Function(), jobs);
}

} // namespace lora_gguf
