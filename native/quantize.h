#pragma once

#include <napi.h>

namespace lora_gguf {

// quantize(options, onProgress) -> { promise, cancel }
Napi::Value quantize(const Napi::CallbackInfo & info);

} // namespace lora_gguf
