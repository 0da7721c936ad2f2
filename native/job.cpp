#include "job.h"

namespace lora_gguf {

Napi::Function make_cancel_function(Napi::Env env, std::shared_ptr<CancelFlag> flag) {
    return Napi::Function::New(env, [flag](const Napi::CallbackInfo &) {
        flag->requested.store(true);
    }, "cancel");
}

Napi::Error make_coded_error(Napi::Env env, const std::string & code, const std::string & message) {
    Napi::Error error = Napi::Error::New(env, message);
    error.Set("code", Napi::String::New(env, code));
    return error;
}

} // namespace lora_gguf
