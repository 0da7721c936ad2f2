#include "js-options.h"

#include "job.h"

namespace lora_gguf {

std::string required_string(const Napi::Object & options, const char * where, const char * key) {
    Napi::Value value = options.Get(key);
    if (!value.IsString()) {
        throw make_coded_error(options.Env(), "E_INVALID_OPTION", std::string(where) + ": " + key + " must be a string");
    }
    return value.As<Napi::String>().Utf8Value();
}

double optional_number(const Napi::Object & options, const char * where, const char * key, double fallback) {
    Napi::Value value = options.Get(key);
    if (value.IsUndefined()) {
        return fallback;
    }
    if (!value.IsNumber()) {
        throw make_coded_error(options.Env(), "E_INVALID_OPTION", std::string(where) + ": " + key + " must be a number");
    }
    return value.As<Napi::Number>().DoubleValue();
}

double required_number(const Napi::Object & options, const char * where, const char * key) {
    if (options.Get(key).IsUndefined()) {
        throw make_coded_error(options.Env(), "E_INVALID_OPTION", std::string(where) + ": " + key + " must be a number");
    }
    return optional_number(options, where, key, 0.0);
}

bool optional_bool(const Napi::Object & options, const char * key, bool fallback) {
    Napi::Value value = options.Get(key);
    return value.IsBoolean() ? value.As<Napi::Boolean>().Value() : fallback;
}

} // namespace lora_gguf
