#pragma once

#include <napi.h>

#include "job.h"

namespace lora_gguf {

// quantize(options, onProgress) -> { promise, cancel }
Napi::Value quantize(const Napi::CallbackInfo & info, JobRegistry & jobs);

} // namespace lora_gguf
