#pragma once

#include <napi.h>

#include "job.h"

namespace lora_gguf {

// openTokenizer(modelPath) -> Promise<tokenizer>: a model's vocabulary (loaded vocab-only, no
// weights) on a thread of its own, to turn rendered training text into tokens.
Napi::Value open_tokenizer(const Napi::CallbackInfo & info, JobRegistry & jobs);

} // namespace lora_gguf
