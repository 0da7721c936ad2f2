// Registers the native entry points. One file per operation beside this one.
#include <memory>

#include <napi.h>

#include <string>

#include "ggml-backend.h"
#include "llama.h"

#include "build-info.h"
#include "gguf-read.h"
#include "log-capture.h"
#include "matmul-rate.h"
#include "merge.h"
#include "quantize.h"
#include "tokenizer.h"
#include "trainer.h"

namespace lora_gguf {

// Context-aware: one instance per Node environment (main thread, each worker_thread,
// each Electron renderer); no JS handles live in globals.
class Addon : public Napi::Addon<Addon> {
public:
    Addon(Napi::Env env, Napi::Object exports) {
        install_log_router();
        llama_backend_init();
        // runs when this environment shuts down (worker terminated, renderer closed, process exit)
        // (the hook owns the registry too, whatever order node tears the addon instance down in)
        env.AddCleanupHook([jobs = jobs_] { jobs->cancel_all_and_wait(); });
        DefineAddon(exports, {
            InstanceMethod("buildInfo", &Addon::build_info),
            InstanceMethod("quantize", &Addon::quantize_entry),
            InstanceMethod("readGgufWithLlama", &Addon::read_gguf_entry),
            InstanceMethod("createTrainer", &Addon::create_trainer_entry),
            InstanceMethod("openTokenizer", &Addon::open_tokenizer_entry),
            InstanceMethod("merge", &Addon::merge_entry),
            InstanceMethod("measureMatMulRate", &Addon::measure_matmul_rate_entry),
        });
    }

private:
    Napi::Value build_info(const Napi::CallbackInfo & info) {
        Napi::Env env = info.Env();
        Napi::Object result = Napi::Object::New(env);
        result.Set("llamaCommit", Napi::String::New(env, LORA_GGUF_LLAMA_COMMIT));
        result.Set("llamaPatches", Napi::String::New(env, LORA_GGUF_LLAMA_PATCHES));
        result.Set("cuda", Napi::Boolean::New(env, LORA_GGUF_CUDA_ENABLED != 0));
        result.Set("systemInfo", Napi::String::New(env, llama_print_system_info()));
        // the GPUs the compiled-in backends found (none in a CPU build, or where no driver or device is)
        Napi::Array gpus = Napi::Array::New(env);
        for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
            ggml_backend_dev_t device = ggml_backend_dev_get(i);
            const enum ggml_backend_dev_type type = ggml_backend_dev_type(device);
            if (type == GGML_BACKEND_DEVICE_TYPE_GPU || type == GGML_BACKEND_DEVICE_TYPE_IGPU) {
                gpus.Set(gpus.Length(), Napi::String::New(env, std::string(ggml_backend_dev_name(device)) + ": " + ggml_backend_dev_description(device)));
            }
        }
        result.Set("gpuDevices", gpus);
        return result;
    }

    Napi::Value quantize_entry(const Napi::CallbackInfo & info) { return quantize(info, *jobs_); }
    Napi::Value read_gguf_entry(const Napi::CallbackInfo & info) { return read_gguf_with_llama(info); }
    Napi::Value create_trainer_entry(const Napi::CallbackInfo & info) { return create_trainer(info, *jobs_); }
    Napi::Value open_tokenizer_entry(const Napi::CallbackInfo & info) { return open_tokenizer(info, *jobs_); }
    Napi::Value merge_entry(const Napi::CallbackInfo & info) { return merge(info, *jobs_); }
    Napi::Value measure_matmul_rate_entry(const Napi::CallbackInfo & info) { return measure_matmul_rate(info, *jobs_); }

    std::shared_ptr<JobRegistry> jobs_ = std::make_shared<JobRegistry>();
};

} // namespace lora_gguf

using LoraGgufAddon = lora_gguf::Addon;
NODE_API_NAMED_ADDON(lora_gguf, LoraGgufAddon)
