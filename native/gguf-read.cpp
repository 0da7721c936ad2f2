#include "gguf-read.h"

#include <string>

#include "ggml-cpp.h"
#include "gguf.h"

#include "job.h"
#include "log-capture.h"

namespace lora_gguf {

namespace {

Napi::Value scalar_at(Napi::Env env, enum gguf_type type, const void * data) {
    switch (type) {
        case GGUF_TYPE_UINT8:   return Napi::Number::New(env, *static_cast<const uint8_t  *>(data));
        case GGUF_TYPE_INT8:    return Napi::Number::New(env, *static_cast<const int8_t   *>(data));
        case GGUF_TYPE_UINT16:  return Napi::Number::New(env, *static_cast<const uint16_t *>(data));
        case GGUF_TYPE_INT16:   return Napi::Number::New(env, *static_cast<const int16_t  *>(data));
        case GGUF_TYPE_UINT32:  return Napi::Number::New(env, *static_cast<const uint32_t *>(data));
        case GGUF_TYPE_INT32:   return Napi::Number::New(env, *static_cast<const int32_t  *>(data));
        case GGUF_TYPE_FLOAT32: return Napi::Number::New(env, *static_cast<const float    *>(data));
        case GGUF_TYPE_FLOAT64: return Napi::Number::New(env, *static_cast<const double   *>(data));
        case GGUF_TYPE_BOOL:    return Napi::Boolean::New(env, *static_cast<const int8_t  *>(data) != 0);
        case GGUF_TYPE_UINT64:  return Napi::BigInt::New(env, *static_cast<const uint64_t *>(data));
        case GGUF_TYPE_INT64:   return Napi::BigInt::New(env, *static_cast<const int64_t  *>(data));
        default:                return env.Undefined();
    }
}

size_t scalar_size(enum gguf_type type) {
    switch (type) {
        case GGUF_TYPE_UINT8: case GGUF_TYPE_INT8: case GGUF_TYPE_BOOL: return 1;
        case GGUF_TYPE_UINT16: case GGUF_TYPE_INT16: return 2;
        case GGUF_TYPE_UINT32: case GGUF_TYPE_INT32: case GGUF_TYPE_FLOAT32: return 4;
        default: return 8;
    }
}

Napi::Value value_of(Napi::Env env, const gguf_context * ctx, int64_t key_id) {
    const enum gguf_type type = gguf_get_kv_type(ctx, key_id);
    if (type == GGUF_TYPE_STRING) {
        return Napi::String::New(env, gguf_get_val_str(ctx, key_id));
    }
    if (type != GGUF_TYPE_ARRAY) {
        return scalar_at(env, type, gguf_get_val_data(ctx, key_id));
    }
    const enum gguf_type element_type = gguf_get_arr_type(ctx, key_id);
    const size_t n = gguf_get_arr_n(ctx, key_id);
    Napi::Array array = Napi::Array::New(env, n);
    if (element_type == GGUF_TYPE_STRING) {
        for (size_t i = 0; i < n; ++i) {
            array.Set(i, Napi::String::New(env, gguf_get_arr_str(ctx, key_id, i)));
        }
        return array;
    }
    const auto * bytes = static_cast<const uint8_t *>(gguf_get_arr_data(ctx, key_id));
    const size_t stride = scalar_size(element_type);
    for (size_t i = 0; i < n; ++i) {
        array.Set(i, scalar_at(env, element_type, bytes + i * stride));
    }
    return array;
}

} // namespace

Napi::Value read_gguf_with_llama(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) {
        throw make_coded_error(env, "E_INVALID_OPTION", "readGgufWithLlama: expected a path");
    }
    const std::string path = info[0].As<Napi::String>().Utf8Value();

    LogCapture log;
    gguf_init_params params{/*.no_alloc =*/ true, /*.ctx =*/ nullptr};
    gguf_context_ptr ctx{gguf_init_from_file(path.c_str(), params)};
    if (!ctx) {
        throw make_coded_error(env, "E_BAD_GGUF", "llama.cpp could not read " + path + ": " + log.problems());
    }

    Napi::Object result = Napi::Object::New(env);
    result.Set("version", Napi::Number::New(env, gguf_get_version(ctx.get())));
    result.Set("alignment", Napi::Number::New(env, static_cast<double>(gguf_get_alignment(ctx.get()))));
    result.Set("dataOffset", Napi::Number::New(env, static_cast<double>(gguf_get_data_offset(ctx.get()))));

    const int64_t n_kv = gguf_get_n_kv(ctx.get());
    Napi::Array metadata = Napi::Array::New(env, n_kv);
    for (int64_t i = 0; i < n_kv; ++i) {
        Napi::Object entry = Napi::Object::New(env);
        entry.Set("key", Napi::String::New(env, gguf_get_key(ctx.get(), i)));
        entry.Set("type", Napi::Number::New(env, gguf_get_kv_type(ctx.get(), i)));
        if (gguf_get_kv_type(ctx.get(), i) == GGUF_TYPE_ARRAY) {
            entry.Set("arrayType", Napi::Number::New(env, gguf_get_arr_type(ctx.get(), i)));
        }
        entry.Set("value", value_of(env, ctx.get(), i));
        metadata.Set(static_cast<uint32_t>(i), entry);
    }
    result.Set("metadata", metadata);

    const int64_t n_tensors = gguf_get_n_tensors(ctx.get());
    Napi::Array tensors = Napi::Array::New(env, n_tensors);
    for (int64_t i = 0; i < n_tensors; ++i) {
        Napi::Object tensor = Napi::Object::New(env);
        tensor.Set("name", Napi::String::New(env, gguf_get_tensor_name(ctx.get(), i)));
        tensor.Set("type", Napi::Number::New(env, gguf_get_tensor_type(ctx.get(), i)));
        tensor.Set("offset", Napi::Number::New(env, static_cast<double>(gguf_get_tensor_offset(ctx.get(), i))));
        tensor.Set("byteSize", Napi::Number::New(env, static_cast<double>(gguf_get_tensor_size(ctx.get(), i))));
        const int64_t * ne = gguf_get_tensor_ne(ctx.get(), i);
        Napi::Array dims = Napi::Array::New(env, GGML_MAX_DIMS);
        for (uint32_t d = 0; d < GGML_MAX_DIMS; ++d) {
            dims.Set(d, Napi::Number::New(env, static_cast<double>(ne[d])));
        }
        tensor.Set("ne", dims);
        tensors.Set(static_cast<uint32_t>(i), tensor);
    }
    result.Set("tensors", tensors);
    return result;
}

} // namespace lora_gguf
