#include "quantize.h"

#include <cstring>
#include <optional>
#include <string>

#include "llama.h"

#include "job.h"
#include "log-capture.h"

namespace lora_gguf {

namespace {

// Parsed on the JS thread; the worker touches only this.
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

struct QuantizeProgress {
    uint32_t done;
    uint32_t total;
    char     tensor_name[GGML_MAX_NAME];
};

class QuantizeWorker : public Napi::AsyncProgressQueueWorker<QuantizeProgress> {
public:
    QuantizeWorker(Napi::Env env, QuantizeOptions options, std::shared_ptr<CancelFlag> cancel, Napi::Function on_progress)
        : Napi::AsyncProgressQueueWorker<QuantizeProgress>(env),
          deferred_(Napi::Promise::Deferred::New(env)),
          options_(std::move(options)),
          cancel_(std::move(cancel)) {
        if (!on_progress.IsEmpty()) {
            on_progress_ = Napi::Persistent(on_progress);
        }
    }

    Napi::Promise promise() const { return deferred_.Promise(); }

protected:
    void Execute(const ExecutionProgress & progress) override {
        try {
            run(progress);
        } catch (const std::exception & e) {
            failure_ = JobFailure{"E_NATIVE", e.what()};
        } catch (...) {
            failure_ = JobFailure{"E_NATIVE", "unknown native exception in quantize"};
        }
    }

    void OnProgress(const QuantizeProgress * events, size_t count) override {
        if (on_progress_.IsEmpty() || count == 0) {
            return;
        }
        // Only the newest event matters when several queued up.
        const QuantizeProgress & event = events[count - 1];
        Napi::Env env = Env();
        Napi::Object payload = Napi::Object::New(env);
        payload.Set("tensorsDone", Napi::Number::New(env, event.done));
        payload.Set("tensorsTotal", Napi::Number::New(env, event.total));
        payload.Set("tensorName", Napi::String::New(env, event.tensor_name));
        try {
            on_progress_.Call({payload});
        } catch (const Napi::Error &) {
            // a throwing progress listener must not take the job down; the error is dropped
        }
    }

    void OnOK() override {
        Napi::Env env = Env();
        if (failure_) {
            deferred_.Reject(make_coded_error(env, failure_->code, failure_->message).Value());
            return;
        }
        Napi::Object result = Napi::Object::New(env);
        result.Set("tensorCount", Napi::Number::New(env, tensor_count_));
        deferred_.Resolve(result);
    }

    void OnError(const Napi::Error & error) override {
        deferred_.Reject(error.Value());
    }

private:
    struct CallbackContext {
        const ExecutionProgress * progress;
        CancelFlag *              cancel;
        uint32_t *                tensor_count;
    };

    static bool on_tensor_written(uint32_t done, uint32_t total, const char * name, void * user_data) {
        auto * context = static_cast<CallbackContext *>(user_data);
        *context->tensor_count = total;
        QuantizeProgress event{};
        event.done  = done;
        event.total = total;
        std::snprintf(event.tensor_name, sizeof(event.tensor_name), "%s", name);
        context->progress->Send(&event, 1);
        return !context->cancel->requested.load();
    }

    void run(const ExecutionProgress & progress) {
        if (cancel_->requested.load()) {
            failure_ = JobFailure{"E_ABORTED", "quantize was aborted before it started"};
            return;
        }
        LogCapture log;

        CallbackContext context{&progress, cancel_.get(), &tensor_count_};
        llama_model_quantize_params params = llama_model_quantize_default_params();
        params.nthread                     = options_.threads;
        params.ftype                       = static_cast<llama_ftype>(options_.ftype);
        params.allow_requantize            = options_.allow_requantize;
        params.quantize_output_tensor      = options_.quantize_output_tensor;
        params.pure                        = options_.pure;
        params.only_copy                   = options_.only_copy;
        params.progress_callback           = on_tensor_written;
        params.progress_callback_user_data = &context;

        char error[1024] = {0};
        const uint32_t rc = llama_model_quantize_with_error(
            options_.input_path.c_str(), options_.output_path.c_str(), &params, error, sizeof(error));
        if (rc == 0) {
            return;
        }
        if (cancel_->requested.load()) {
            failure_ = JobFailure{"E_ABORTED", "quantize was aborted"};
            return;
        }
        std::string message = error;
        const std::string problems = log.problems();
        if (message.find("imatrix") != std::string::npos || message.find("importance matrix") != std::string::npos) {
            failure_ = JobFailure{"E_NEEDS_IMATRIX", message};
            return;
        }
        if (!problems.empty() && problems.find(message) == std::string::npos) {
            message += "\n" + problems;
        }
        failure_ = JobFailure{"E_NATIVE", "llama.cpp failed to quantize: " + message};
    }

    Napi::Promise::Deferred     deferred_;
    Napi::FunctionReference     on_progress_;
    QuantizeOptions             options_;
    std::shared_ptr<CancelFlag> cancel_;
    std::optional<JobFailure>   failure_;
    uint32_t                    tensor_count_ = 0;
};

std::string required_string(const Napi::Object & options, const char * key) {
    Napi::Value value = options.Get(key);
    if (!value.IsString()) {
        throw make_coded_error(options.Env(), "E_INVALID_OPTION", std::string("quantize: ") + key + " must be a string");
    }
    return value.As<Napi::String>().Utf8Value();
}

int32_t required_int(const Napi::Object & options, const char * key) {
    Napi::Value value = options.Get(key);
    if (!value.IsNumber()) {
        throw make_coded_error(options.Env(), "E_INVALID_OPTION", std::string("quantize: ") + key + " must be a number");
    }
    return value.As<Napi::Number>().Int32Value();
}

bool optional_bool(const Napi::Object & options, const char * key, bool fallback) {
    Napi::Value value = options.Get(key);
    return value.IsBoolean() ? value.As<Napi::Boolean>().Value() : fallback;
}

} // namespace

Napi::Value quantize(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) {
        throw make_coded_error(env, "E_INVALID_OPTION", "quantize: expected an options object");
    }
    Napi::Object raw = info[0].As<Napi::Object>();

    // TypeScript validated these already; this is the backstop.
    QuantizeOptions options;
    options.input_path             = required_string(raw, "inputPath");
    options.output_path            = required_string(raw, "outputPath");
    options.ftype                  = required_int(raw, "ftype");
    options.threads                = required_int(raw, "threads");
    options.allow_requantize       = optional_bool(raw, "allowRequantize", false);
    options.quantize_output_tensor = optional_bool(raw, "quantizeOutputTensor", true);
    options.pure                   = optional_bool(raw, "pure", false);
    options.only_copy              = optional_bool(raw, "onlyCopy", false);

    Napi::Function on_progress;
    if (info.Length() > 1 && info[1].IsFunction()) {
        on_progress = info[1].As<Napi::Function>();
    }

    auto cancel = std::make_shared<CancelFlag>();
    auto * worker = new QuantizeWorker(env, std::move(options), cancel, on_progress);
    Napi::Object job = Napi::Object::New(env);
    job.Set("promise", worker->promise());
    job.Set("cancel", make_cancel_function(env, cancel));
    worker->Queue();
    return job;
}

} // namespace lora_gguf
