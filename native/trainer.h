#pragma once

#include <napi.h>

#include "job.h"

namespace lora_gguf {

// createTrainer(options) -> Promise<trainer>: a LoRA training session on its own thread
// (see src/native.ts for the JS shape).
Napi::Value create_trainer(const Napi::CallbackInfo & info, JobRegistry & jobs);

} // namespace lora_gguf
