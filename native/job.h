#pragma once

#include <atomic>
#include <memory>
#include <string>

#include <napi.h>

namespace lora_gguf {

// Shared between the JS-side cancel() function and the worker thread that polls it.
struct CancelFlag {
    std::atomic<bool> requested{false};
};

// A `cancel()` JS function that sets the flag; the lambda keeps the flag alive as long as JS holds it.
Napi::Function make_cancel_function(Napi::Env env, std::shared_ptr<CancelFlag> flag);

// A JS Error with a stable `code` property, which src/native.ts turns into a LoraGgufError.
Napi::Error make_coded_error(Napi::Env env, const std::string & code, const std::string & message);

// A failure inside a worker, carried to the JS thread with its code.
struct JobFailure {
    std::string code;
    std::string message;
};

} // namespace lora_gguf
