#include "tokenizer.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "llama.h"

#include "log-capture.h"
#include "task-thread.h"

namespace lora_gguf {

namespace {

struct VocabularyState {
    std::string   model_path;
    llama_model * model = nullptr;

    ~VocabularyState() { release(); }

    void release() {
        if (model) llama_model_free(model);
        model = nullptr;
    }

    const llama_vocab * vocab() const { return llama_model_get_vocab(model); }
};

struct VocabularyInfo {
    int32_t                  n_tokens;
    llama_token              bos, eos, eot;
    bool                     add_bos, add_eos;
    std::vector<llama_token> end_of_generation;
};

std::vector<llama_token> tokenize_one(const llama_vocab * vocab, const std::string & text, bool parse_special) {
    // a token never covers less than one byte, so the text's length (+ room for BOS) bounds the count
    std::vector<llama_token> tokens(text.size() + 2);
    int32_t n = llama_tokenize(vocab, text.data(), (int32_t) text.size(), tokens.data(), (int32_t) tokens.size(),
        /*add_special =*/ false, parse_special);
    if (n < 0) {
        tokens.resize(-n);
        n = llama_tokenize(vocab, text.data(), (int32_t) text.size(), tokens.data(), (int32_t) tokens.size(), false, parse_special);
    }
    if (n < 0) {
        throw JobFailure{"E_NATIVE", "llama.cpp could not tokenize a text of " + std::to_string(text.size()) + " bytes"};
    }
    tokens.resize(n);
    return tokens;
}

std::string piece_of(const llama_vocab * vocab, llama_token token) {
    char buffer[256];
    const int32_t n = llama_token_to_piece(vocab, token, buffer, sizeof(buffer), 0, /*special =*/ true);
    return n > 0 ? std::string(buffer, n) : std::string();
}

Napi::Object make_tokenizer_object(Napi::Env env, std::shared_ptr<TaskThread> thread, std::shared_ptr<VocabularyState> state, const VocabularyInfo & info) {
    Napi::Object tokenizer = Napi::Object::New(env);
    tokenizer.Set("vocabularySize", Napi::Number::New(env, info.n_tokens));
    tokenizer.Set("bos", Napi::Number::New(env, info.bos));
    tokenizer.Set("eos", Napi::Number::New(env, info.eos));
    tokenizer.Set("eot", Napi::Number::New(env, info.eot));
    tokenizer.Set("addBos", Napi::Boolean::New(env, info.add_bos));
    tokenizer.Set("addEos", Napi::Boolean::New(env, info.add_eos));
    Napi::Array eog = Napi::Array::New(env, info.end_of_generation.size());
    for (size_t i = 0; i < info.end_of_generation.size(); ++i) {
        eog.Set(i, Napi::Number::New(env, info.end_of_generation[i]));
    }
    tokenizer.Set("endOfGeneration", eog);

    // tokenize(texts: string[], parseSpecial: boolean) -> Promise<Int32Array[]>
    tokenizer.Set("tokenize", Napi::Function::New(env, [thread, state](const Napi::CallbackInfo & call) -> Napi::Value {
        if (call.Length() < 2 || !call[0].IsArray() || !call[1].IsBoolean()) {
            throw make_coded_error(call.Env(), "E_INVALID_OPTION", "tokenizer.tokenize(texts: string[], parseSpecial: boolean)");
        }
        Napi::Array array = call[0].As<Napi::Array>();
        auto texts = std::make_shared<std::vector<std::string>>();
        texts->reserve(array.Length());
        for (uint32_t i = 0; i < array.Length(); ++i) {
            Napi::Value value = array.Get(i);
            if (!value.IsString()) {
                throw make_coded_error(call.Env(), "E_INVALID_OPTION", "tokenizer.tokenize: texts must be strings");
            }
            texts->push_back(value.As<Napi::String>().Utf8Value());
        }
        const bool parse_special = call[1].As<Napi::Boolean>().Value();
        return thread->run<std::vector<std::vector<llama_token>>>(call.Env(),
            [state, texts, parse_special] {
                std::vector<std::vector<llama_token>> result;
                result.reserve(texts->size());
                for (const std::string & text : *texts) {
                    result.push_back(tokenize_one(state->vocab(), text, parse_special));
                }
                return result;
            },
            [](Napi::Env env, std::vector<std::vector<llama_token>> & result) -> Napi::Value {
                Napi::Array arrays = Napi::Array::New(env, result.size());
                for (size_t i = 0; i < result.size(); ++i) {
                    Napi::Int32Array tokens = Napi::Int32Array::New(env, result[i].size());
                    if (!result[i].empty()) {
                        std::memcpy(tokens.Data(), result[i].data(), result[i].size() * sizeof(llama_token));
                    }
                    arrays.Set(i, tokens);
                }
                return arrays;
            });
    }));

    // pieces(tokens: Int32Array) -> Promise<string[]>: each token's text, special tokens included
    tokenizer.Set("pieces", Napi::Function::New(env, [thread, state](const Napi::CallbackInfo & call) -> Napi::Value {
        if (call.Length() < 1 || !call[0].IsTypedArray() || call[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
            throw make_coded_error(call.Env(), "E_INVALID_OPTION", "tokenizer.pieces(tokens: Int32Array)");
        }
        Napi::Int32Array array = call[0].As<Napi::Int32Array>();
        auto tokens = std::make_shared<std::vector<llama_token>>(array.Data(), array.Data() + array.ElementLength());
        return thread->run<std::vector<std::string>>(call.Env(),
            [state, tokens] {
                const int32_t n_vocab = llama_vocab_n_tokens(state->vocab());
                std::vector<std::string> pieces;
                pieces.reserve(tokens->size());
                for (llama_token token : *tokens) {
                    if (token < 0 || token >= n_vocab) {
                        throw JobFailure{"E_INVALID_OPTION", "token " + std::to_string(token) + " is not in the vocabulary"};
                    }
                    pieces.push_back(piece_of(state->vocab(), token));
                }
                return pieces;
            },
            [](Napi::Env env, std::vector<std::string> & pieces) -> Napi::Value {
                Napi::Array array = Napi::Array::New(env, pieces.size());
                for (size_t i = 0; i < pieces.size(); ++i) {
                    array.Set(i, Napi::String::New(env, pieces[i]));
                }
                return array;
            });
    }));

    auto closed = std::make_shared<bool>(false);
    tokenizer.Set("close", Napi::Function::New(env, [thread, closed](const Napi::CallbackInfo & call) -> Napi::Value {
        if (*closed) {
            auto deferred = Napi::Promise::Deferred::New(call.Env());
            deferred.Resolve(call.Env().Undefined());
            return deferred.Promise();
        }
        *closed = true;
        return thread->stop(call.Env());
    }));
    return tokenizer;
}

} // namespace

Napi::Value open_tokenizer(const Napi::CallbackInfo & info, JobRegistry & jobs) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) {
        throw make_coded_error(env, "E_INVALID_OPTION", "openTokenizer(modelPath)");
    }
    auto state = std::make_shared<VocabularyState>();
    state->model_path = info[0].As<Napi::String>().Utf8Value();
    auto thread = TaskThread::start(env, jobs, [state] { state->release(); });
    std::weak_ptr<TaskThread> weak_thread = thread;
    return thread->run<VocabularyInfo>(env,
        [state, weak_thread] {
            LogCapture log;
            llama_model_params params = llama_model_default_params();
            params.vocab_only = true;
            state->model = llama_model_load_from_file(state->model_path.c_str(), params);
            if (!state->model) {
                if (auto self = weak_thread.lock()) {
                    self->stop_after_current();
                }
                throw JobFailure{"E_NATIVE", "llama.cpp could not load the vocabulary of " + state->model_path + ": " + log.problems()};
            }
            const llama_vocab * vocab = state->vocab();
            VocabularyInfo vocabulary{};
            vocabulary.n_tokens = llama_vocab_n_tokens(vocab);
            vocabulary.bos      = llama_vocab_bos(vocab);
            vocabulary.eos      = llama_vocab_eos(vocab);
            vocabulary.eot      = llama_vocab_eot(vocab);
            vocabulary.add_bos  = llama_vocab_get_add_bos(vocab);
            vocabulary.add_eos  = llama_vocab_get_add_eos(vocab);
            for (llama_token token = 0; token < vocabulary.n_tokens; ++token) {
                if (llama_vocab_is_eog(vocab, token)) {
                    vocabulary.end_of_generation.push_back(token);
                }
            }
            return vocabulary;
        },
        [thread, state](Napi::Env env, VocabularyInfo & vocabulary) -> Napi::Value {
            return make_tokenizer_object(env, thread, state, vocabulary);
        });
}

} // namespace lora_gguf
