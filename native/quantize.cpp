#include "quantize.h"

#include <cstdio>
#include <string>

#include "llama.h"

#include "js-options.h"
#include "log-capture.h"
#include "thread-job.h"

namespace lora_gguf {

namespace {

// Parsed on the JS thread; the job thread touches only this.
struct QuantizeOptions {
    std::string input_path;
    std::string output_path;
    int32_t     ftype                  = LLAMA_FTYPE_MOSTLY_Q8_0;
    int32_t     threads                = 0;
    bool        allow_requantize       = false;
    bool        quantize_output_tensor = true;
    bool        pure                   = false;
    bool        only_copy              = false;
};

class QuantizeJob : public ThreadJob {
public:
    explicit QuantizeJob(QuantizeOptions options) : options_(std::move(options)) {}

protected:
    void execute() override {
        LogCapture log;
        llama_model_quantize_params params = llama_model_quantize_default_params();
        params.nthread                     = options_.threads;
        params.ftype                       = static_cast<llama_ftype>(options_.ftype);
        params.allow_requantize            = options_.allow_requantize;
        params.quantize_output_tensor      = options_.quantize_output_tensor;
        params.pure                        = options_.pure;
        params.only_copy                   = options_.only_copy;
        params.progress_callback           = &QuantizeJob::on_tensor_written;
        params.progress_callback_user_data = this;

        char error[1024] = {0};
        const uint32_t rc = llama_model_quantize_with_error(
            options_.input_path.c_str(), options_.output_path.c_str(), &params, error, sizeof(error));
        if (rc == 0 || cancel_requested()) {
            return;
        }
        std::string message = error;
        if (message.find("imatrix") != std::string::npos || message.find("importance matrix") != std::string::npos) {
            throw JobFailure{"E_NEEDS_IMATRIX", message};
        }
        const std::string problems = log.problems();
        if (!problems.empty() && problems.find(message) == std::string::npos) {
            message += "\n" + problems;
        }
        throw JobFailure{"E_NATIVE", "llama.cpp failed to quantize: " + message};
    }

    Napi::Value result(Napi::Env env) override {
        Napi::Object result = Napi::Object::New(env);
        result.Set("tensorCount", Napi::Number::New(env, tensor_count_));
        return result;
    }

    void discard_outputs() override {
        std::remove(options_.output_path.c_str());
    }

private:
    // Called by our patch of llama_model_quantize after each tensor; returning false stops it.
    static bool on_tensor_written(uint32_t done, uint32_t total, const char * name, void * user_data) {
        auto * job = static_cast<QuantizeJob *>(user_data);
        job->tensor_count_ = total;
        std::string tensor_name = name;
        job->report([done, total, tensor_name](Napi::Env env) -> Napi::Value {
            Napi::Object payload = Napi::Object::New(env);
            payload.Set("tensorsDone", Napi::Number::New(env, done));
            payload.Set("tensorsTotal", Napi::Number::New(env, total));
            payload.Set("tensorName", Napi::String::New(env, tensor_name));
            return payload;
        });
        return !job->cancel_requested();
    }

    QuantizeOptions options_;
    uint32_t        tensor_count_ = 0;
};

} // namespace

Napi::Value quantize(const Napi::CallbackInfo & info, JobRegistry & jobs) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) {
        throw make_coded_error(env, "E_INVALID_OPTION", "quantize: expected an options object");
    }
    Napi::Object raw = info[0].As<Napi::Object>();

    // TypeScript validated these already; this is the backstop.
    QuantizeOptions options;
    options.input_path             = required_string(raw, "quantize", "inputPath");
    options.output_path            = required_string(raw, "quantize", "outputPath");
    options.ftype                  = (int32_t) required_number(raw, "quantize", "ftype");
    options.threads                = (int32_t) required_number(raw, "quantize", "threads");
    options.allow_requantize       = optional_bool(raw, "allowRequantize", false);
    options.quantize_output_tensor = optional_bool(raw, "quantizeOutputTensor", true);
    options.pure                   = optional_bool(raw, "pure", false);
    options.only_copy              = optional_bool(raw, "onlyCopy", false);

    Napi::Function on_progress;
    if (info.Length() > 1 && info[1].IsFunction()) {
        on_progress = info[1].As<Napi::Function>();
    }
    return ThreadJob::start(env, std::make_shared<QuantizeJob>(std::move(options)), on_progress, jobs);
}

} // namespace lora_gguf
