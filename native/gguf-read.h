#pragma once

#include <napi.h>

namespace lora_gguf {

// readGgufWithLlama(path) -> llama.cpp's own view of a GGUF header (gguf_init_from_file, no tensor data).
// Lets tests hold our TypeScript reader against the reference implementation.
Napi::Value read_gguf_with_llama(const Napi::CallbackInfo & info);

} // namespace lora_gguf
