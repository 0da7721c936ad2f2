#include "merge.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ggml-cpp.h"
#include "ggml.h"
#include "gguf.h"

#include "js-options.h"
#include "thread-job.h"

namespace lora_gguf {

namespace {

// Parsed on the JS thread; the job thread reads only this. TypeScript has checked architectures
// and shapes already; the checks below are the backstop before any arithmetic.
struct MergeOptions {
    std::string base_path;
    std::string output_path;
    struct Adapter {
        std::string path;
        float       scale;
    };
    std::vector<Adapter> adapters;
    int32_t threads = 1;
};

// A GGUF file opened for its header (no data loaded), with the ggml context describing its tensors.
struct GgufFile {
    std::string      path;
    gguf_context_ptr gguf;
    ggml_context_ptr tensors;

    explicit GgufFile(const std::string & file) : path(file) {
        ggml_context * meta = nullptr;
        gguf_init_params params{/*.no_alloc =*/ true, /*.ctx =*/ &meta};
        gguf.reset(gguf_init_from_file(file.c_str(), params));
        tensors.reset(meta);
        if (!gguf || !meta) {
            throw JobFailure{"E_BAD_GGUF", "cannot read " + file + " as GGUF"};
        }
    }

    // Reads tensor `name`'s bytes from the file.
    std::vector<uint8_t> read(const char * name) const {
        const int64_t id = gguf_find_tensor(gguf.get(), name);
        const size_t size = gguf_get_tensor_size(gguf.get(), id);
        std::vector<uint8_t> data(size);
        std::unique_ptr<FILE, int (*)(FILE *)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
        if (!file || std::fseek(file.get(), (long) (gguf_get_data_offset(gguf.get()) + gguf_get_tensor_offset(gguf.get(), id)), SEEK_SET) != 0 ||
            std::fread(data.data(), 1, size, file.get()) != size) {
            throw JobFailure{"E_BAD_GGUF", std::string("cannot read tensor ") + name + " from " + path};
        }
        return data;
    }
};

std::vector<float> to_float32(const ggml_tensor * tensor, const std::vector<uint8_t> & data) {
    const int64_t n = ggml_nelements(tensor);
    std::vector<float> values(n);
    if (tensor->type == GGML_TYPE_F32) {
        std::memcpy(values.data(), data.data(), n * sizeof(float));
        return values;
    }
    const ggml_type_traits * traits = ggml_get_type_traits(tensor->type);
    if (!traits->to_float) {
        throw JobFailure{"E_UNSUPPORTED_TYPE", std::string("cannot dequantize tensor ") + tensor->name + " of type " + ggml_type_name(tensor->type)};
    }
    traits->to_float(data.data(), values.data(), n);
    return values;
}

// One adapter's factors for one base weight, in f32: A rows of n_in, B rows of r.
struct LoraFactors {
    std::vector<float> a;
    std::vector<float> b;
    int64_t            rank;
    float              scale;  // user scale * alpha / rank
};

class MergeJob : public ThreadJob {
public:
    explicit MergeJob(MergeOptions options) : options_(std::move(options)) {}

protected:
    void execute() override {
        GgufFile base(options_.base_path);
        std::vector<std::unique_ptr<GgufFile>> adapters;
        std::vector<float> alphas;
        for (const auto & adapter : options_.adapters) {
            adapters.push_back(std::make_unique<GgufFile>(adapter.path));
            const int64_t key = gguf_find_key(adapters.back()->gguf.get(), "adapter.lora.alpha");
            alphas.push_back(key >= 0 ? gguf_get_val_f32(adapters.back()->gguf.get(), key) : 0.0f);
        }

        gguf_context_ptr out{gguf_init_empty()};
        gguf_set_kv(out.get(), base.gguf.get());
        const int64_t n_tensors = gguf_get_n_tensors(base.gguf.get());
        for (int64_t i = 0; i < n_tensors; ++i) {
            gguf_add_tensor(out.get(), ggml_get_tensor(base.tensors.get(), gguf_get_tensor_name(base.gguf.get(), i)));
        }
        const size_t alignment = gguf_get_alignment(out.get());

        std::ofstream file(options_.output_path, std::ios::binary);
        if (!file) {
            throw JobFailure{"E_OUTPUT_DIR", "cannot create " + options_.output_path};
        }
        file.exceptions(std::ofstream::failbit | std::ofstream::badbit);
        const size_t meta_size = gguf_get_meta_size(out.get());
        std::vector<uint8_t> zeros(std::max(meta_size, alignment), 0);
        file.write(reinterpret_cast<const char *>(zeros.data()), meta_size);

        for (int64_t i = 0; i < n_tensors; ++i) {
            if (cancel_requested()) {
                throw JobFailure{"E_ABORTED", "merge was aborted"};
            }
            const char * name = gguf_get_tensor_name(base.gguf.get(), i);
            const ggml_tensor * weight = ggml_get_tensor(base.tensors.get(), name);
            std::vector<uint8_t> data = base.read(name);

            std::vector<LoraFactors> factors;
            for (size_t k = 0; k < adapters.size(); ++k) {
                collect_factors(*adapters[k], weight, alphas[k], options_.adapters[k].scale, factors);
            }
            if (!factors.empty()) {
                data = merged_data(weight, data, factors);
            }
            file.write(reinterpret_cast<const char *>(data.data()), data.size());
            const size_t padding = GGML_PAD(data.size(), alignment) - data.size();
            file.write(reinterpret_cast<const char *>(zeros.data()), padding);

            const uint32_t done = (uint32_t) (i + 1);
            const uint32_t total = (uint32_t) n_tensors;
            const std::string tensor_name = name;
            const bool merged = !factors.empty();
            report([done, total, tensor_name, merged](Napi::Env env) -> Napi::Value {
                Napi::Object payload = Napi::Object::New(env);
                payload.Set("tensorsDone", Napi::Number::New(env, done));
                payload.Set("tensorsTotal", Napi::Number::New(env, total));
                payload.Set("tensorName", Napi::String::New(env, tensor_name));
                payload.Set("merged", Napi::Boolean::New(env, merged));
                return payload;
            });
            merged_tensors_ += merged ? 1 : 0;
        }

        std::vector<uint8_t> meta(meta_size);
        gguf_get_meta_data(out.get(), meta.data());
        file.seekp(0);
        file.write(reinterpret_cast<const char *>(meta.data()), meta.size());
        file.close();
        tensor_count_ = (uint32_t) n_tensors;
    }

    Napi::Value result(Napi::Env env) override {
        Napi::Object result = Napi::Object::New(env);
        result.Set("tensorCount", Napi::Number::New(env, tensor_count_));
        result.Set("mergedTensorCount", Napi::Number::New(env, merged_tensors_));
        return result;
    }

    void discard_outputs() override {
        std::remove(options_.output_path.c_str());
    }

private:
    // The adapter's lora_a (ne [n_in, r]) and lora_b (ne [r, n_out]) for `weight` (ne [n_in, n_out]), if it has them.
    static void collect_factors(const GgufFile & adapter, const ggml_tensor * weight, float alpha, float user_scale, std::vector<LoraFactors> & factors) {
        const std::string name = weight->name;
        const ggml_tensor * a = ggml_get_tensor(adapter.tensors.get(), (name + ".lora_a").c_str());
        const ggml_tensor * b = ggml_get_tensor(adapter.tensors.get(), (name + ".lora_b").c_str());
        if (!a && !b) {
            return;
        }
        if (!a || !b || a->ne[0] != weight->ne[0] || b->ne[1] != weight->ne[1] || a->ne[1] != b->ne[0] || ggml_n_dims(weight) != 2) {
            throw JobFailure{"E_ADAPTER_MISMATCH", adapter.path + " does not fit " + name};
        }
        LoraFactors f;
        f.rank  = a->ne[1];
        f.a     = to_float32(a, adapter.read(a->name));
        f.b     = to_float32(b, adapter.read(b->name));
        // llama.cpp applies an adapter as scale * (alpha / r) * B A x; alpha 0 means a scale of 1 (llama_adapter_lora_weight::get_scale)
        f.scale = alpha != 0.0f ? user_scale * alpha / (float) f.rank : user_scale;
        factors.push_back(std::move(f));
    }

    // W + sum of scale * B A, computed in f32 by row blocks on `threads` threads, stored back in W's type.
    std::vector<uint8_t> merged_data(const ggml_tensor * weight, const std::vector<uint8_t> & data, const std::vector<LoraFactors> & factors) const {
        const int64_t n_in  = weight->ne[0];
        const int64_t n_out = weight->ne[1];
        std::vector<float> delta(n_in * n_out, 0.0f);
        const int n_threads = std::max(1, std::min<int>(options_.threads, (int) n_out));
        std::vector<std::thread> workers;
        for (int t = 0; t < n_threads; ++t) {
            workers.emplace_back([&, t] {
                for (int64_t row = t; row < n_out; row += n_threads) {
                    float * out_row = delta.data() + row * n_in;
                    for (const LoraFactors & f : factors) {
                        for (int64_t k = 0; k < f.rank; ++k) {
                            const float coefficient = f.scale * f.b[row * f.rank + k];
                            const float * a_row = f.a.data() + k * n_in;
                            for (int64_t column = 0; column < n_in; ++column) {
                                out_row[column] += coefficient * a_row[column];
                            }
                        }
                    }
                }
            });
        }
        for (auto & worker : workers) {
            worker.join();
        }
        // an adapter that changes nothing (B = 0) leaves the bytes exactly as they were
        if (std::all_of(delta.begin(), delta.end(), [](float value) { return value == 0.0f; })) {
            return data;
        }
        std::vector<float> values = to_float32(weight, data);
        for (size_t i = 0; i < values.size(); ++i) {
            values[i] += delta[i];
        }
        std::vector<uint8_t> result(data.size());
        ggml_quantize_chunk(weight->type, values.data(), result.data(), 0, n_out, n_in, nullptr);
        return result;
    }

    MergeOptions options_;
    uint32_t     tensor_count_   = 0;
    uint32_t     merged_tensors_ = 0;
};

} // namespace

Napi::Value merge(const Napi::CallbackInfo & info, JobRegistry & jobs) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) {
        throw make_coded_error(env, "E_INVALID_OPTION", "merge: expected an options object");
    }
    Napi::Object raw = info[0].As<Napi::Object>();
    MergeOptions options;
    options.base_path   = required_string(raw, "merge", "basePath");
    options.output_path = required_string(raw, "merge", "outputPath");
    options.threads     = (int32_t) optional_number(raw, "merge", "threads", 1);
    Napi::Value adapters = raw.Get("adapters");
    if (!adapters.IsArray()) {
        throw make_coded_error(env, "E_INVALID_OPTION", "merge: adapters must be an array");
    }
    Napi::Array list = adapters.As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); ++i) {
        Napi::Object entry = list.Get(i).As<Napi::Object>();
        options.adapters.push_back({required_string(entry, "merge", "path"), (float) required_number(entry, "merge", "scale")});
    }
    Napi::Function on_progress;
    if (info.Length() > 1 && info[1].IsFunction()) {
        on_progress = info[1].As<Napi::Function>();
    }
    return ThreadJob::start(env, std::make_shared<MergeJob>(std::move(options)), on_progress, jobs);
}

} // namespace lora_gguf
