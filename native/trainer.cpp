#include "trainer.h"

#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ggml-backend.h"
#include "ggml-opt.h"
#include "llama.h"

#include "js-options.h"
#include "log-capture.h"
#include "task-thread.h"

namespace lora_gguf {

namespace {

// Parsed on the JS thread; the task thread reads only this.
struct TrainerOptions {
    std::string model_path;
    std::string adapter_path;   // the adapter to train, as a GGUF LoRA file (initial or resumed weights)
    int32_t     n_ctx         = 256;
    int32_t     n_seq_max     = 1;
    int32_t     threads       = 1;
    int32_t     opt_period    = 1;
    bool        attn_kv_cache = false;
    bool        all_weights   = false;  // full fine-tune of every model weight, no adapter (benchmarks)
    // memory (see llama_opt_params in patches/0007): rows per loss / attention chunk (0 = one chunk), recomputation
    int32_t     loss_chunk_rows  = 0;
    int32_t     attn_chunk_rows  = 0;
    bool        recompute_layers = false;
    // layers whose weights (and adapter tensors) llama.cpp's device selection places on a GPU; -1: all.
    // TypeScript passes 0 where the addon has no GPU device.
    int32_t     gpu_layers       = 0;
};

struct OptimizerSettings {
    float learning_rate = 1e-4f;
    float beta1         = 0.9f;
    float beta2         = 0.999f;
    float eps           = 1e-8f;
    float weight_decay  = 0.0f;
};

// One window of tokens for a step (see llama_opt_step_prepare).
struct StepInput {
    std::vector<llama_token>  tokens;
    std::vector<llama_pos>    positions;
    std::vector<llama_seq_id> seq_ids;
    std::vector<llama_token>  labels;
    bool                      train = false;
    OptimizerSettings         optimizer;
    // resume: AdamW moments per parameter and the step counter, written once the graphs exist
    std::map<std::string, std::pair<std::vector<float>, std::vector<float>>> restore_moments;
    int64_t                   restore_iter = 0;
};

struct StepOutput {
    float   cross_entropy_sum = 0.0f;  // over the window's labelled tokens, natural log
    int32_t labelled_tokens       = 0;
    int64_t optimizer_iter        = 0;
    // llama_opt_cpu_fallbacks after this step's graphs were prepared
    std::string cpu_fallbacks;
};

// Everything the task thread owns. Created, used and freed on the task thread only.
struct TrainingState {
    TrainerOptions                        options;
    llama_model *                         model   = nullptr;
    llama_context *                       context = nullptr;
    llama_adapter_lora *                  adapter = nullptr;
    std::map<std::string, ggml_tensor *>  parameters;
    OptimizerSettings                     optimizer;
    std::shared_ptr<JobControl>           control;
    // set from the JS thread by interrupt(): the step in progress stops at its next graph node
    std::atomic<bool>                     interrupted{false};

    ~TrainingState() { release(); }

    void release() {
        if (context) llama_free(context);
        if (adapter) llama_adapter_lora_free(adapter);
        if (model) llama_model_free(model);
        context = nullptr;
        adapter = nullptr;
        model   = nullptr;
        parameters.clear();
    }

    static ggml_opt_optimizer_params optimizer_params(void * user_data) {
        const auto * state = static_cast<const TrainingState *>(user_data);
        ggml_opt_optimizer_params params = ggml_opt_get_default_optimizer_params(nullptr);
        // ggml-opt asserts a positive step size; a schedule's zero (warmup start) becomes a negligible one
        params.adamw.alpha = state->optimizer.learning_rate > 0.0f ? state->optimizer.learning_rate : 1e-30f;
        params.adamw.beta1 = state->optimizer.beta1;
        params.adamw.beta2 = state->optimizer.beta2;
        params.adamw.eps   = state->optimizer.eps;
        params.adamw.wd    = state->optimizer.weight_decay;
        return params;
    }

    static bool abort_requested(void * user_data) {
        const auto * state = static_cast<const TrainingState *>(user_data);
        return state->interrupted.load() || state->control->cancel_requested.load();
    }

    ggml_tensor * parameter(const std::string & name) const {
        auto it = parameters.find(name);
        if (it == parameters.end()) {
            throw JobFailure{"E_INVALID_OPTION", "the adapter has no tensor named " + name};
        }
        return it->second;
    }
};

bool no_model_weights(const ggml_tensor *, void *) {
    return false;
}

void open_session(TrainingState & state) {
    LogCapture log;
    const TrainerOptions & options = state.options;

    llama_model_params model_params = llama_model_default_params();
    model_params.n_gpu_layers    = options.gpu_layers;
    // repacked (extra buffer type) weights have no backward pass on CPU
    model_params.use_extra_bufts = false;
    // a full fine-tune writes the weights, which must not be the file's read-only mapping
    if (options.all_weights) {
        model_params.load_mode = LLAMA_LOAD_MODE_NONE;
    }
    state.model = llama_model_load_from_file(options.model_path.c_str(), model_params);
    if (!state.model) {
        throw JobFailure{"E_NATIVE", "llama.cpp could not load the model " + options.model_path + ": " + log.problems()};
    }

    if (!options.all_weights) {
        state.adapter = llama_adapter_lora_init(state.model, options.adapter_path.c_str());
        if (!state.adapter) {
            throw JobFailure{"E_ADAPTER_MISMATCH", "llama.cpp could not load the adapter " + options.adapter_path + " onto this model: " + log.problems()};
        }
    }

    llama_context_params context_params = llama_context_default_params();
    context_params.n_ctx           = options.n_ctx;
    context_params.n_batch         = options.n_ctx;
    context_params.n_ubatch        = options.n_ctx;
    context_params.n_seq_max       = options.n_seq_max;
    context_params.kv_unified      = true;
    context_params.n_threads       = options.threads;
    context_params.n_threads_batch = options.threads;
    context_params.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    context_params.no_perf         = true;
    if (options.attn_kv_cache) {
        // upstream's path differentiates through the cache; ggml has no backward for its f16 copies
        context_params.type_k = GGML_TYPE_F32;
        context_params.type_v = GGML_TYPE_F32;
    }
    state.context = llama_init_from_model(state.model, context_params);
    if (!state.context) {
        throw JobFailure{"E_NATIVE", "llama.cpp could not create a training context: " + log.problems()};
    }
    if ((int32_t) llama_n_ctx(state.context) != options.n_ctx) {
        throw JobFailure{"E_INVALID_OPTION", "the context length must be a multiple of 256 (llama.cpp pads it); got " +
            std::to_string(options.n_ctx) + ", llama.cpp made it " + std::to_string(llama_n_ctx(state.context))};
    }
    llama_set_abort_callback(state.context, &TrainingState::abort_requested, &state);

    float scale = 1.0f;
    if (state.adapter && llama_set_adapters_lora(state.context, &state.adapter, 1, &scale) != 0) {
        throw JobFailure{"E_NATIVE", "llama.cpp could not attach the adapter: " + log.problems()};
    }

    llama_opt_params opt_params{};
    opt_params.n_ctx_train     = 0;
    // the base model stays frozen: only the adapter's tensors become parameters (below);
    // all_weights is llama.cpp's own full fine-tune, kept as a baseline for bench/train
    opt_params.param_filter    = options.all_weights ? llama_opt_param_filter_all : &no_model_weights;
    opt_params.param_filter_ud = nullptr;
    opt_params.get_opt_pars    = &TrainingState::optimizer_params;
    opt_params.get_opt_pars_ud = &state;
    opt_params.optimizer_type  = GGML_OPT_OPTIMIZER_TYPE_ADAMW;
    opt_params.opt_period      = options.opt_period;
    opt_params.attn_kv_cache   = options.attn_kv_cache;
    opt_params.loss_chunk_rows  = options.loss_chunk_rows;
    opt_params.attn_chunk_rows  = options.attn_chunk_rows;
    opt_params.recompute_layers = options.recompute_layers;
    llama_opt_init(state.context, state.model, opt_params);

    if (options.all_weights) {
        return;
    }
    const int32_t n_tensors = llama_adapter_lora_n_tensors(state.adapter);
    for (int32_t i = 0; i < n_tensors; ++i) {
        ggml_tensor * tensor = llama_adapter_lora_tensor(state.adapter, i);
        if (tensor->type != GGML_TYPE_F32) {
            throw JobFailure{"E_ADAPTER_MISMATCH", std::string("adapter tensor ") + ggml_get_name(tensor) + " is " +
                ggml_type_name(tensor->type) + "; training needs f32 adapter tensors"};
        }
        ggml_set_param(tensor);
        state.parameters[ggml_get_name(tensor)] = tensor;
    }
    if (state.parameters.empty()) {
        throw JobFailure{"E_ADAPTER_MISMATCH", "the adapter has no LoRA tensors"};
    }
}

StepOutput run_step(TrainingState & state, const StepInput & input) {
    LogCapture log;
    state.optimizer = input.optimizer;
    const int32_t n_tokens = (int32_t) input.tokens.size();
    if (llama_opt_step_prepare(state.context, input.tokens.data(), input.positions.empty() ? nullptr : input.positions.data(),
            input.seq_ids.empty() ? nullptr : input.seq_ids.data(), input.labels.data(), n_tokens, input.train) != 0) {
        throw JobFailure{"E_NATIVE", "llama.cpp could not prepare the training step: " + log.problems()};
    }
    if (!input.restore_moments.empty() || input.restore_iter > 0) {
        ggml_opt_context_t opt = llama_opt_get_context(state.context);
        for (const auto & [name, moments] : input.restore_moments) {
            ggml_tensor * param = state.parameter(name);
            ggml_tensor * m = ggml_opt_param_state_tensor(opt, param, GGML_OPT_PARAM_STATE_ADAMW_M);
            ggml_tensor * v = ggml_opt_param_state_tensor(opt, param, GGML_OPT_PARAM_STATE_ADAMW_V);
            if (!m || !v || (int64_t) moments.first.size() != ggml_nelements(m) || (int64_t) moments.second.size() != ggml_nelements(v)) {
                throw JobFailure{"E_BAD_CHECKPOINT", "the checkpoint's optimizer state for " + name + " does not fit this adapter"};
            }
            ggml_backend_tensor_set(m, moments.first.data(), 0, ggml_nbytes(m));
            ggml_backend_tensor_set(v, moments.second.data(), 0, ggml_nbytes(v));
        }
        if (input.restore_iter > 0) {
            ggml_opt_set_iter(opt, input.restore_iter);
        }
    }
    StepOutput output;
    output.cpu_fallbacks = llama_opt_cpu_fallbacks(state.context);
    const int32_t status = llama_opt_step_eval(state.context, nullptr, &output.cross_entropy_sum);
    // 2: stopped between graph nodes by abort_requested; patches/0008 keeps the parameters and moments of the last
    // whole optimizer step
    if (status == 2 || state.control->cancel_requested.load()) {
        throw JobFailure{"E_ABORTED", "the training step was interrupted"};
    }
    if (status != 0) {
        throw JobFailure{"E_NATIVE", "llama.cpp could not run the training step: " + log.problems()};
    }
    for (llama_token label : input.labels) {
        output.labelled_tokens += label >= 0 ? 1 : 0;
    }
    output.optimizer_iter = ggml_opt_get_iter(llama_opt_get_context(state.context));
    return output;
}

ggml_tensor * state_tensor(const TrainingState & state, const std::string & name, const std::string & kind) {
    ggml_tensor * param = state.parameter(name);
    if (kind == "value") {
        return param;
    }
    const ggml_opt_param_state which = kind == "gradient" ? GGML_OPT_PARAM_STATE_GRAD_ACC :
                                       kind == "adamwM"   ? GGML_OPT_PARAM_STATE_ADAMW_M  : GGML_OPT_PARAM_STATE_ADAMW_V;
    ggml_tensor * tensor = ggml_opt_param_state_tensor(llama_opt_get_context(state.context), param, which);
    if (!tensor) {
        throw JobFailure{"E_INVALID_OPTION", "no " + kind + " for " + name + " yet: it exists after the first training step"};
    }
    return tensor;
}

// ---- JS argument parsing (JS thread) ----

std::vector<int32_t> int32_array(const Napi::Object & object, const char * key, bool required) {
    Napi::Value value = object.Get(key);
    if (value.IsUndefined() && !required) {
        return {};
    }
    if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
        throw make_coded_error(object.Env(), "E_INVALID_OPTION", std::string("trainer: ") + key + " must be an Int32Array");
    }
    Napi::Int32Array array = value.As<Napi::Int32Array>();
    return std::vector<int32_t>(array.Data(), array.Data() + array.ElementLength());
}

Napi::Object object_argument(const Napi::CallbackInfo & info, size_t index, const char * what) {
    if (info.Length() <= index || !info[index].IsObject()) {
        throw make_coded_error(info.Env(), "E_INVALID_OPTION", std::string("trainer: expected ") + what);
    }
    return info[index].As<Napi::Object>();
}

// The JS object handed back by createTrainer: methods that queue work on the session's thread.
Napi::Object make_trainer_object(Napi::Env env, std::shared_ptr<TaskThread> thread, std::shared_ptr<TrainingState> state) {
    Napi::Object trainer = Napi::Object::New(env);
    auto closed = std::make_shared<bool>(false);
    auto check_open = [closed](Napi::Env env) {
        if (*closed) {
            throw make_coded_error(env, "E_INVALID_OPTION", "trainer: the session is closed");
        }
    };

    trainer.Set("contextLength", Napi::Number::New(env, state->options.n_ctx));

    trainer.Set("parameterNames", Napi::Function::New(env, [thread, state, check_open](const Napi::CallbackInfo & info) -> Napi::Value {
        check_open(info.Env());
        return thread->run<std::vector<std::pair<std::string, std::vector<int64_t>>>>(info.Env(),
            [state] {
                std::vector<std::pair<std::string, std::vector<int64_t>>> names;
                for (const auto & [name, tensor] : state->parameters) {
                    names.push_back({name, {tensor->ne[0], tensor->ne[1]}});
                }
                return names;
            },
            [](Napi::Env env, std::vector<std::pair<std::string, std::vector<int64_t>>> & names) -> Napi::Value {
                Napi::Array array = Napi::Array::New(env, names.size());
                for (size_t i = 0; i < names.size(); ++i) {
                    Napi::Object entry = Napi::Object::New(env);
                    entry.Set("name", names[i].first);
                    Napi::Array dims = Napi::Array::New(env, 2);
                    dims.Set(0u, Napi::Number::New(env, (double) names[i].second[0]));
                    dims.Set(1u, Napi::Number::New(env, (double) names[i].second[1]));
                    entry.Set("dims", dims);
                    array.Set(i, entry);
                }
                return array;
            });
    }));

    trainer.Set("step", Napi::Function::New(env, [thread, state, check_open](const Napi::CallbackInfo & info) -> Napi::Value {
        check_open(info.Env());
        Napi::Object raw = object_argument(info, 0, "a step object");
        auto input = std::make_shared<StepInput>();
        input->tokens    = int32_array(raw, "tokens", true);
        input->labels    = int32_array(raw, "labels", true);
        input->positions = int32_array(raw, "positions", false);
        input->seq_ids   = int32_array(raw, "seqIds", false);
        input->train     = raw.Get("train").ToBoolean().Value();
        input->optimizer.learning_rate = (float) optional_number(raw, "trainer", "learningRate", 0.0);
        input->optimizer.beta1         = (float) optional_number(raw, "trainer", "beta1", 0.9);
        input->optimizer.beta2         = (float) optional_number(raw, "trainer", "beta2", 0.999);
        input->optimizer.eps           = (float) optional_number(raw, "trainer", "eps", 1e-8);
        input->optimizer.weight_decay  = (float) optional_number(raw, "trainer", "weightDecay", 0.0);
        Napi::Value restore = raw.Get("restoreOptimizer");
        if (restore.IsObject()) {
            Napi::Object restore_object = restore.As<Napi::Object>();
            input->restore_iter = (int64_t) optional_number(restore_object, "trainer", "iter", 0);
            Napi::Value moments = restore_object.Get("moments");
            if (!moments.IsArray()) {
                throw make_coded_error(info.Env(), "E_INVALID_OPTION", "trainer.step: restoreOptimizer.moments must be an array");
            }
            Napi::Array list = moments.As<Napi::Array>();
            for (uint32_t i = 0; i < list.Length(); ++i) {
                Napi::Object entry = list.Get(i).As<Napi::Object>();
                Napi::Value m = entry.Get("m");
                Napi::Value v = entry.Get("v");
                if (!m.IsTypedArray() || !v.IsTypedArray() || m.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
                    v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
                    throw make_coded_error(info.Env(), "E_INVALID_OPTION", "trainer.step: moments must be Float32Arrays");
                }
                Napi::Float32Array m_array = m.As<Napi::Float32Array>();
                Napi::Float32Array v_array = v.As<Napi::Float32Array>();
                input->restore_moments[required_string(entry, "trainer", "name")] = {
                    std::vector<float>(m_array.Data(), m_array.Data() + m_array.ElementLength()),
                    std::vector<float>(v_array.Data(), v_array.Data() + v_array.ElementLength())};
            }
        }
        const size_t n = input->tokens.size();
        if (n != (size_t) state->options.n_ctx || input->labels.size() != n ||
            (!input->positions.empty() && input->positions.size() != n) || (!input->seq_ids.empty() && input->seq_ids.size() != n)) {
            throw make_coded_error(info.Env(), "E_INVALID_OPTION", "trainer.step: tokens, labels, positions and seqIds must each hold contextLength entries");
        }
        return thread->run<StepOutput>(info.Env(),
            [state, input] { return run_step(*state, *input); },
            [](Napi::Env env, StepOutput & output) -> Napi::Value {
                Napi::Object result = Napi::Object::New(env);
                result.Set("crossEntropySum", Napi::Number::New(env, output.cross_entropy_sum));
                result.Set("labelledTokens", Napi::Number::New(env, output.labelled_tokens));
                result.Set("optimizerIter", Napi::Number::New(env, (double) output.optimizer_iter));
                Napi::Array fallbacks = Napi::Array::New(env);
                for (size_t begin = 0; begin < output.cpu_fallbacks.size();) {
                    size_t end = output.cpu_fallbacks.find('\n', begin);
                    if (end == std::string::npos) end = output.cpu_fallbacks.size();
                    fallbacks.Set(fallbacks.Length(), Napi::String::New(env, output.cpu_fallbacks.substr(begin, end - begin)));
                    begin = end + 1;
                }
                result.Set("cpuFallbacks", fallbacks);
                return result;
            });
    }));

    // readTensor(name, kind): kind is "value", "gradient", "adamwM" or "adamwV"
    trainer.Set("readTensor", Napi::Function::New(env, [thread, state, check_open](const Napi::CallbackInfo & info) -> Napi::Value {
        check_open(info.Env());
        if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) {
            throw make_coded_error(info.Env(), "E_INVALID_OPTION", "trainer.readTensor(name, kind)");
        }
        const std::string name = info[0].As<Napi::String>().Utf8Value();
        const std::string kind = info[1].As<Napi::String>().Utf8Value();
        return thread->run<std::vector<float>>(info.Env(),
            [state, name, kind] {
                ggml_tensor * tensor = state_tensor(*state, name, kind);
                std::vector<float> data(ggml_nelements(tensor));
                ggml_backend_tensor_get(tensor, data.data(), 0, ggml_nbytes(tensor));
                return data;
            },
            [](Napi::Env env, std::vector<float> & data) -> Napi::Value {
                Napi::Float32Array array = Napi::Float32Array::New(env, data.size());
                std::memcpy(array.Data(), data.data(), data.size() * sizeof(float));
                return array;
            });
    }));

    trainer.Set("writeTensor", Napi::Function::New(env, [thread, state, check_open](const Napi::CallbackInfo & info) -> Napi::Value {
        check_open(info.Env());
        if (info.Length() < 3 || !info[0].IsString() || !info[1].IsString() || !info[2].IsTypedArray() ||
            info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
            throw make_coded_error(info.Env(), "E_INVALID_OPTION", "trainer.writeTensor(name, kind, Float32Array)");
        }
        const std::string name = info[0].As<Napi::String>().Utf8Value();
        const std::string kind = info[1].As<Napi::String>().Utf8Value();
        Napi::Float32Array array = info[2].As<Napi::Float32Array>();
        auto data = std::make_shared<std::vector<float>>(array.Data(), array.Data() + array.ElementLength());
        return thread->run<bool>(info.Env(),
            [state, name, kind, data] {
                ggml_tensor * tensor = state_tensor(*state, name, kind);
                if ((int64_t) data->size() != ggml_nelements(tensor)) {
                    throw JobFailure{"E_INVALID_OPTION", "trainer.writeTensor: " + name + " has " + std::to_string(ggml_nelements(tensor)) +
                        " elements, got " + std::to_string(data->size())};
                }
                ggml_backend_tensor_set(tensor, data->data(), 0, ggml_nbytes(tensor));
                return true;
            },
            [](Napi::Env env, bool &) -> Napi::Value { return env.Undefined(); });
    }));

    trainer.Set("optimizerIter", Napi::Function::New(env, [thread, state, check_open](const Napi::CallbackInfo & info) -> Napi::Value {
        check_open(info.Env());
        const bool set = info.Length() > 0 && info[0].IsNumber();
        const int64_t value = set ? info[0].As<Napi::Number>().Int64Value() : 0;
        return thread->run<int64_t>(info.Env(),
            [state, set, value] {
                ggml_opt_context_t opt = llama_opt_get_context(state->context);
                if (set) {
                    ggml_opt_set_iter(opt, value);
                }
                return ggml_opt_get_iter(opt);
            },
            [](Napi::Env env, int64_t & iter) -> Napi::Value { return Napi::Number::New(env, (double) iter); });
    }));

    // interrupt(): stops the step in progress (and any later one) within one graph node; it rejects with E_ABORTED,
    // and the tensors read afterwards are those of the last completed optimizer step
    trainer.Set("interrupt", Napi::Function::New(env, [state](const Napi::CallbackInfo & info) -> Napi::Value {
        state->interrupted.store(true);
        return info.Env().Undefined();
    }));

    trainer.Set("close", Napi::Function::New(env, [thread, closed](const Napi::CallbackInfo & info) -> Napi::Value {
        if (*closed) {
            return Napi::Promise::Deferred::New(info.Env()).Promise();
        }
        *closed = true;
        return thread->stop(info.Env());
    }));
    return trainer;
}

} // namespace

Napi::Value create_trainer(const Napi::CallbackInfo & info, JobRegistry & jobs) {
    Napi::Env env = info.Env();
    Napi::Object raw = object_argument(info, 0, "an options object");
    auto state = std::make_shared<TrainingState>();
    state->options.model_path    = required_string(raw, "trainer", "modelPath");
    state->options.adapter_path  = required_string(raw, "trainer", "adapterPath");
    state->options.n_ctx         = (int32_t) optional_number(raw, "trainer", "contextLength", 256);
    state->options.n_seq_max     = (int32_t) optional_number(raw, "trainer", "maxSequencesPerWindow", 1);
    state->options.threads       = (int32_t) optional_number(raw, "trainer", "threads", 1);
    state->options.opt_period    = (int32_t) optional_number(raw, "trainer", "windowsPerOptimizerStep", 1);
    state->options.attn_kv_cache = raw.Get("attentionThroughKvCache").ToBoolean().Value();
    state->options.all_weights   = raw.Get("fullFineTune").ToBoolean().Value();
    state->options.loss_chunk_rows  = (int32_t) optional_number(raw, "trainer", "lossChunkRows", 0);
    state->options.attn_chunk_rows  = (int32_t) optional_number(raw, "trainer", "attentionChunkRows", 0);
    state->options.recompute_layers = raw.Get("recomputeLayers").ToBoolean().Value();
    state->options.gpu_layers       = (int32_t) optional_number(raw, "trainer", "gpuLayers", 0);

    // the session's llama objects are freed on its own thread when it stops
    auto thread = TaskThread::start(env, jobs, [state] { state->release(); });
    state->control = thread->control();
    std::weak_ptr<TaskThread> weak_thread = thread;
    return thread->run<bool>(env,
        [state, weak_thread] {
            try {
                open_session(*state);
            } catch (...) {
                // no session object reaches JS, so nothing else would ever stop this thread
                if (auto self = weak_thread.lock()) {
                    self->stop_after_current();
                }
                throw;
            }
            return true;
        },
        [thread, state](Napi::Env env, bool &) -> Napi::Value { return make_trainer_object(env, thread, state); });
}

} // namespace lora_gguf
