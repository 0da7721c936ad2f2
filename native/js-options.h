#pragma once

#include <string>

#include <napi.h>

namespace lora_gguf {

// Reading an options object on the JS thread. TypeScript has validated it already; these are the
// backstop, so a wrong type is an E_INVALID_OPTION error naming `where` and the key, never a crash.
std::string required_string(const Napi::Object & options, const char * where, const char * key);
double      optional_number(const Napi::Object & options, const char * where, const char * key, double fallback);
double      required_number(const Napi::Object & options, const char * where, const char * key);
bool        optional_bool(const Napi::Object & options, const char * key, bool fallback);

} // namespace lora_gguf
