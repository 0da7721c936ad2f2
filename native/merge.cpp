#include "merge.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ggml-cpp.h"
#include "ggml-cpu.h"
#include "ggml.h"
#include "gguf.h"

#include "js-options.h"
#include "thread-job.h"

namespace lora_gguf {

namespace {

// Parsed on the JS thread; the job thread reads only this. TypeScript has checked architectures,
// shapes and types already; the checks below are the backstop before any arithmetic.
struct MergeOptions {
    std::string base_path;
    std::string output_path;
    struct Adapter {
        std::string path;
        float       scale;
    };
    std::vector<Adapter> adapters;
    int32_t threads = 1;
    // a merged tensor of a key's type is stored in the value's type (a type ggml cannot quantize without an importance matrix)
    std::map<ggml_type, ggml_type> store_types;
};

// A GGUF file: its header (tensor infos, no data) and one stream for its tensor data, read at 64-bit offsets.
struct GgufFile {
    std::string      path;
    gguf_context_ptr gguf;
    ggml_context_ptr tensors;
    std::ifstream    stream;

    explicit GgufFile(const std::string & file) : path(file), stream(file, std::ios::binary) {
        ggml_context * meta = nullptr;
        gguf_init_params params{/*.no_alloc =*/ true, /*.ctx =*/ &meta};
        gguf.reset(gguf_init_from_file(file.c_str(), params));
        tensors.reset(meta);
        if (!gguf || !meta || !stream) {
            throw JobFailure{"E_BAD_GGUF", "cannot read " + file + " as GGUF"};
        }
    }

    // Reads `size` bytes of tensor `name`, from byte `start` of its data, into `data`.
    void read(const char * name, void * data, size_t size, size_t start = 0) {
        const int64_t id = gguf_find_tensor(gguf.get(), name);
        if (id < 0 || start + size > gguf_get_tensor_size(gguf.get(), id)) {
            throw JobFailure{"E_BAD_GGUF", std::string("tensor ") + name + " of " + path + " is not the size its shape says"};
        }
        const uint64_t offset = (uint64_t) gguf_get_data_offset(gguf.get()) + (uint64_t) gguf_get_tensor_offset(gguf.get(), id) + start;
        stream.clear();
        stream.seekg((std::streamoff) offset);
        stream.read(static_cast<char *>(data), (std::streamsize) size);
        if (!stream || (size_t) stream.gcount() != size) {
            throw JobFailure{"E_BAD_GGUF", std::string("cannot read tensor ") + name + " from " + path + " (the file ends early)"};
        }
    }

    std::vector<float> read_f32(const ggml_tensor * tensor) {
        std::vector<uint8_t> data(ggml_nbytes(tensor));
        read(tensor->name, data.data(), data.size());
        const int64_t n = ggml_nelements(tensor);
        std::vector<float> values(n);
        if (tensor->type == GGML_TYPE_F32) {
            std::memcpy(values.data(), data.data(), n * sizeof(float));
        } else if (const ggml_type_traits * traits = ggml_get_type_traits(tensor->type); traits->to_float) {
            traits->to_float(data.data(), values.data(), n);
        } else {
            throw JobFailure{"E_UNSUPPORTED_TYPE", std::string("cannot read adapter tensor ") + tensor->name + " of type " + ggml_type_name(tensor->type)};
        }
        return values;
    }
};

constexpr size_t COPY_CHUNK_BYTES = 4u << 20;

// Types ggml_quantize_chunk can write without an importance matrix (the cases of its switch, ggml/src/ggml.c).
bool writable_without_imatrix(ggml_type type) {
    switch (type) {
        case GGML_TYPE_F32: case GGML_TYPE_F16: case GGML_TYPE_BF16:
        case GGML_TYPE_Q1_0: case GGML_TYPE_Q2_0: case GGML_TYPE_Q4_0: case GGML_TYPE_Q4_1: case GGML_TYPE_Q5_0:
        case GGML_TYPE_Q5_1: case GGML_TYPE_Q8_0: case GGML_TYPE_MXFP4: case GGML_TYPE_NVFP4:
        case GGML_TYPE_Q2_K: case GGML_TYPE_Q3_K: case GGML_TYPE_Q4_K: case GGML_TYPE_Q5_K: case GGML_TYPE_Q6_K:
        case GGML_TYPE_TQ1_0: case GGML_TYPE_TQ2_0: case GGML_TYPE_IQ2_XXS: case GGML_TYPE_IQ2_XS: case GGML_TYPE_IQ3_XXS:
        case GGML_TYPE_IQ3_S: case GGML_TYPE_IQ2_S: case GGML_TYPE_IQ1_S: case GGML_TYPE_IQ1_M: case GGML_TYPE_IQ4_NL:
        case GGML_TYPE_IQ4_XS:
            return !ggml_quantize_requires_imatrix(type);
        default:
            return false;
    }
}

// n values of `type` at `source` as f32 (the CPU backend's vectorized conversions for f16 and bf16).
void to_f32(ggml_type type, const void * source, float * values, int64_t n) {
    if (type == GGML_TYPE_F32) {
        std::memcpy(values, source, n * sizeof(float));
    } else if (type == GGML_TYPE_F16) {
        ggml_cpu_fp16_to_fp32(static_cast<const ggml_fp16_t *>(source), values, n);
    } else if (type == GGML_TYPE_BF16) {
        ggml_cpu_bf16_to_fp32(static_cast<const ggml_bf16_t *>(source), values, n);
    } else {
        ggml_get_type_traits(type)->to_float(source, values, n);
    }
}

// Runs body(begin, end) over [0, n) in contiguous ranges on up to `threads` threads.
template <typename Body>
void parallel_ranges(int64_t n, int threads, Body body) {
    const int count = (int) std::max<int64_t>(1, std::min<int64_t>(threads, n));
    const int64_t per = (n + count - 1) / count;
    std::vector<std::thread> workers;
    for (int t = 1; t < count; ++t) {
        workers.emplace_back([&, t] { body(std::min(n, t * per), std::min(n, (t + 1) * per)); });
    }
    body(0, std::min(n, per));
    for (auto & worker : workers) {
        worker.join();
    }
}

// All adapters' factors for one base weight, concatenated along the rank, in the layout ggml_mul_mat
// wants for delta = B A: a_t ne [r, n_in] (A transposed) and b ne [r, n_out], b already scaled.
struct LoraFactors {
    std::vector<float> a_t;
    std::vector<float> b;
    int64_t            rank = 0;
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
            alphas.push_back(key >= 0 && gguf_get_kv_type(adapters.back()->gguf.get(), key) == GGUF_TYPE_FLOAT32
                ? gguf_get_val_f32(adapters.back()->gguf.get(), key) : 0.0f);
        }

        // which tensors an adapter touches, and the type each is stored in, before any offset is laid out
        gguf_context_ptr out{gguf_init_empty()};
        gguf_set_kv(out.get(), base.gguf.get());
        const int64_t n_tensors = gguf_get_n_tensors(base.gguf.get());
        std::vector<bool> adapted(n_tensors, false);
        for (int64_t i = 0; i < n_tensors; ++i) {
            const char * name = gguf_get_tensor_name(base.gguf.get(), i);
            const ggml_tensor * weight = ggml_get_tensor(base.tensors.get(), name);
            gguf_add_tensor(out.get(), weight);
            for (const auto & adapter : adapters) {
                adapted[i] = adapted[i] || ggml_get_tensor(adapter->tensors.get(), (std::string(name) + ".lora_a").c_str()) ||
                             ggml_get_tensor(adapter->tensors.get(), (std::string(name) + ".lora_b").c_str());
            }
            if (!adapted[i]) {
                continue;
            }
            const auto store = options_.store_types.find(weight->type);
            const ggml_type store_type = store != options_.store_types.end() ? store->second : weight->type;
            if (!writable_without_imatrix(store_type) || weight->ne[0] % ggml_blck_size(store_type) != 0 || (weight->type != GGML_TYPE_F32 && !ggml_get_type_traits(weight->type)->to_float)) {
                throw JobFailure{"E_UNSUPPORTED_TYPE", std::string("cannot merge into ") + name + ": ggml cannot store a merged " +
                    ggml_type_name(weight->type) + " tensor as " + ggml_type_name(store_type) + " without an importance matrix"};
            }
            if (store_type != weight->type) {
                gguf_set_tensor_type(out.get(), name, store_type);
            }
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

        std::vector<uint8_t> data;
        for (int64_t i = 0; i < n_tensors; ++i) {
            if (cancel_requested()) {
                throw JobFailure{"E_ABORTED", "merge was aborted"};
            }
            const char * name = gguf_get_tensor_name(base.gguf.get(), i);
            const ggml_tensor * weight = ggml_get_tensor(base.tensors.get(), name);
            const ggml_type store_type = gguf_get_tensor_type(out.get(), gguf_find_tensor(out.get(), name));
            LoraFactors factors;
            if (adapted[i]) {
                factors = collect_factors(adapters, alphas, weight);
            }
            const bool merged = factors.rank > 0 || store_type != weight->type;
            size_t written = 0;
            if (merged) {
                data.resize(ggml_nbytes(weight));
                base.read(name, data.data(), data.size());
                merge_into(weight, store_type, factors, data);
                file.write(reinterpret_cast<const char *>(data.data()), data.size());
                written = data.size();
            } else {
                // copied through a bounded buffer: an 8B model's embedding is a GiB
                written = ggml_nbytes(weight);
                for (size_t done = 0; done < written; done += COPY_CHUNK_BYTES) {
                    const size_t size = std::min(COPY_CHUNK_BYTES, written - done);
                    data.resize(size);
                    base.read(name, data.data(), size, done);
                    file.write(reinterpret_cast<const char *>(data.data()), size);
                }
            }
            const size_t padding = GGML_PAD(written, alignment) - written;
            file.write(reinterpret_cast<const char *>(zeros.data()), padding);

            const uint32_t done = (uint32_t) (i + 1);
            const uint32_t total = (uint32_t) n_tensors;
            const std::string tensor_name = name;
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
    // Every adapter's lora_a (ne [n_in, r]) and lora_b (ne [r, n_out]) for `weight` (ne [n_in, n_out]);
    // factors whose B or A is all zeros change nothing and are left out.
    LoraFactors collect_factors(std::vector<std::unique_ptr<GgufFile>> & adapters, const std::vector<float> & alphas, const ggml_tensor * weight) const {
        const int64_t n_in = weight->ne[0];
        const int64_t n_out = weight->ne[1];
        std::vector<std::vector<float>> a_parts, b_parts;
        std::vector<int64_t> ranks;
        LoraFactors factors;
        for (size_t k = 0; k < adapters.size(); ++k) {
            GgufFile & adapter = *adapters[k];
            const std::string name = weight->name;
            const ggml_tensor * a = ggml_get_tensor(adapter.tensors.get(), (name + ".lora_a").c_str());
            const ggml_tensor * b = ggml_get_tensor(adapter.tensors.get(), (name + ".lora_b").c_str());
            if (!a && !b) {
                continue;
            }
            if (!a || !b || ggml_n_dims(weight) != 2 || a->ne[0] != n_in || b->ne[1] != n_out || a->ne[1] != b->ne[0] ||
                a->ne[2] != 1 || b->ne[2] != 1 || a->ne[3] != 1 || b->ne[3] != 1) {
                throw JobFailure{"E_ADAPTER_MISMATCH", adapter.path + " does not fit " + name};
            }
            const int64_t rank = a->ne[1];
            std::vector<float> a_values = adapter.read_f32(a);
            std::vector<float> b_values = adapter.read_f32(b);
            auto all_zero = [](const std::vector<float> & v) { return std::all_of(v.begin(), v.end(), [](float x) { return x == 0.0f; }); };
            if (all_zero(a_values) || all_zero(b_values)) {
                continue;
            }
            // llama.cpp applies an adapter as scale * (alpha / r) * B A x; alpha 0 means a scale of 1 (llama_adapter_lora_weight::get_scale)
            const float user_scale = options_.adapters[k].scale;
            const float scale = alphas[k] != 0.0f ? user_scale * alphas[k] / (float) rank : user_scale;
            for (float & value : b_values) {
                value *= scale;
            }
            a_parts.push_back(std::move(a_values));
            b_parts.push_back(std::move(b_values));
            ranks.push_back(rank);
            factors.rank += rank;
        }
        factors.a_t.resize(factors.rank * n_in);
        factors.b.resize(factors.rank * n_out);
        int64_t offset = 0;
        for (size_t part = 0; part < ranks.size(); ++part) {
            const int64_t rank = ranks[part];
            for (int64_t k = 0; k < rank; ++k) {
                for (int64_t column = 0; column < n_in; ++column) {
                    factors.a_t[column * factors.rank + offset + k] = a_parts[part][k * n_in + column];
                }
                for (int64_t row = 0; row < n_out; ++row) {
                    factors.b[row * factors.rank + offset + k] = b_parts[part][row * rank + k];
                }
            }
            offset += rank;
        }
        return factors;
    }

    // data (the weight's bytes) becomes W + B A in store_type: B A by ggml's matrix product on the
    // CPU backend, the sum and its requantization by row ranges on `threads` threads.
    void merge_into(const ggml_tensor * weight, ggml_type store_type, const LoraFactors & factors, std::vector<uint8_t> & data) {
        const int64_t n_in = weight->ne[0];
        const int64_t n_out = weight->ne[1];
        const int threads = std::max(1, options_.threads);
        float * delta = nullptr;  // ne [n_in, n_out]: B A, then W + B A
        const size_t arena_size = 4 * ggml_tensor_overhead() + ggml_graph_overhead() + (factors.a_t.size() + factors.b.size() + n_in * n_out) * sizeof(float) + 4 * GGML_MEM_ALIGN;
        arena_.resize(arena_size);
        ggml_init_params params{arena_size, arena_.data(), /*.no_alloc =*/ false};
        ggml_context_ptr ctx{ggml_init(params)};
        if (factors.rank > 0) {
            ggml_tensor * a_t = ggml_new_tensor_2d(ctx.get(), GGML_TYPE_F32, factors.rank, n_in);
            ggml_tensor * b = ggml_new_tensor_2d(ctx.get(), GGML_TYPE_F32, factors.rank, n_out);
            std::memcpy(a_t->data, factors.a_t.data(), ggml_nbytes(a_t));
            std::memcpy(b->data, factors.b.data(), ggml_nbytes(b));
            ggml_tensor * product = ggml_mul_mat(ctx.get(), a_t, b);
            ggml_cgraph * graph = ggml_new_graph(ctx.get());
            ggml_build_forward_expand(graph, product);
            ggml_cplan plan = ggml_graph_plan(graph, threads, nullptr);
            work_.resize(plan.work_size);
            plan.work_data = work_.data();
            if (ggml_graph_compute(graph, &plan) != GGML_STATUS_SUCCESS) {
                throw JobFailure{"E_NATIVE", std::string("ggml could not compute the adapter product for ") + weight->name};
            }
            delta = static_cast<float *>(product->data);
        } else {
            ggml_tensor * zero = ggml_new_tensor_2d(ctx.get(), GGML_TYPE_F32, n_in, n_out);
            delta = static_cast<float *>(std::memset(zero->data, 0, ggml_nbytes(zero)));
        }

        // delta += W and stored, by row ranges
        if (!writable_without_imatrix(store_type)) {
            throw JobFailure{"E_UNSUPPORTED_TYPE", std::string("ggml cannot store ") + weight->name + " as " + ggml_type_name(store_type) + " without an importance matrix"};
        }
        ggml_quantize_init(store_type);
        const size_t row_bytes = ggml_row_size(weight->type, n_in);
        const size_t stored_row_bytes = ggml_row_size(store_type, n_in);
        // a range's rows are read before they are stored, so the same type is stored in place
        std::vector<uint8_t> stored(store_type == weight->type ? 0 : stored_row_bytes * n_out);
        uint8_t * stored_data = store_type == weight->type ? data.data() : stored.data();
        parallel_ranges(n_out, threads, [&](int64_t first, int64_t last) {
            std::vector<float> row(n_in);
            for (int64_t r = first; r < last; ++r) {
                to_f32(weight->type, data.data() + r * row_bytes, row.data(), n_in);
                float * sum = delta + r * n_in;
                for (int64_t column = 0; column < n_in; ++column) {
                    sum[column] += row[column];
                }
            }
            if (last <= first) {
                return;
            }
            float * sums = delta + first * n_in;
            uint8_t * target = stored_data + first * stored_row_bytes;
            const int64_t count = (last - first) * n_in;
            // the CPU backend's conversions are the vectorized ones; quantized types go through ggml_quantize_chunk
            if (store_type == GGML_TYPE_F32) {
                std::memcpy(target, sums, count * sizeof(float));
            } else if (store_type == GGML_TYPE_F16) {
                ggml_cpu_fp32_to_fp16(sums, reinterpret_cast<ggml_fp16_t *>(target), count);
            } else if (store_type == GGML_TYPE_BF16) {
                ggml_cpu_fp32_to_bf16(sums, reinterpret_cast<ggml_bf16_t *>(target), count);
            } else {
                ggml_quantize_chunk(store_type, delta, stored_data, first * n_in, last - first, n_in, nullptr);
            }
        });
        if (store_type != weight->type) {
            data.swap(stored);
        }
    }

    MergeOptions         options_;
    std::vector<uint8_t> arena_;
    std::vector<uint8_t> work_;
    uint32_t             tensor_count_   = 0;
    uint32_t             merged_tensors_ = 0;
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
        if (!list.Get(i).IsObject()) {
            throw make_coded_error(env, "E_INVALID_OPTION", "merge: adapters must be objects { path, scale }");
        }
        Napi::Object entry = list.Get(i).As<Napi::Object>();
        options.adapters.push_back({required_string(entry, "merge", "path"), (float) required_number(entry, "merge", "scale")});
    }
    Napi::Value store_types = raw.Get("storeTypes");
    if (store_types.IsArray()) {
        Napi::Array pairs = store_types.As<Napi::Array>();
        for (uint32_t i = 0; i < pairs.Length(); ++i) {
            if (!pairs.Get(i).IsObject()) {
                throw make_coded_error(env, "E_INVALID_OPTION", "merge: storeTypes must be objects { from, to }");
            }
            Napi::Object pair = pairs.Get(i).As<Napi::Object>();
            const double from = required_number(pair, "merge", "from");
            const double to = required_number(pair, "merge", "to");
            if (from < 0 || from >= GGML_TYPE_COUNT || to < 0 || to >= GGML_TYPE_COUNT) {
                throw make_coded_error(env, "E_INVALID_OPTION", "merge: storeTypes holds a type id outside ggml's types");
            }
            options.store_types[(ggml_type) from] = (ggml_type) to;
        }
    }
    Napi::Function on_progress;
    if (info.Length() > 1 && info[1].IsFunction()) {
        on_progress = info[1].As<Napi::Function>();
    }
    return ThreadJob::start(env, std::make_shared<MergeJob>(std::move(options)), on_progress, jobs);
}

} // namespace lora_gguf
