#pragma once

#include <napi.h>

#include "job.h"

namespace lora_gguf {

// merge({ basePath, outputPath, adapters: [{ path, scale }], threads }, onProgress) -> { promise, cancel }:
// W' = W + sum(scale * alpha / r * B A) for every adapted weight, tensor by tensor, in the base's types.
Napi::Value merge(const Napi::CallbackInfo & info, JobRegistry & jobs);

} // namespace lora_gguf
