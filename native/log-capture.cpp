#include "log-capture.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "ggml.h"
#include "llama.h"

namespace lora_gguf {

namespace {

thread_local LogCapture * active_capture = nullptr;

bool debug_echo_enabled() {
    static const bool enabled = std::getenv("LORA_GGUF_DEBUG") != nullptr;
    return enabled;
}

void route_log(enum ggml_log_level level, const char * text, void * /*user_data*/) {
    if (active_capture != nullptr) {
        active_capture->append(level, text);
    }
    if (debug_echo_enabled()) {
        std::fputs(text, stderr);
    }
}

} // namespace

void install_log_router() {
    static std::once_flag once;
    std::call_once(once, [] { llama_log_set(route_log, nullptr); });
}

LogCapture::LogCapture() : previous_(active_capture) {
    active_capture = this;
}

LogCapture::~LogCapture() {
    active_capture = previous_;
}

void LogCapture::append(int level, const char * text) {
    // CONT lines continue the previous message at its level
    const int effective = level == GGML_LOG_LEVEL_CONT ? last_level_ : level;
    last_level_ = effective;
    if (effective >= GGML_LOG_LEVEL_WARN && problems_.size() < 16 * 1024) {
        problems_ += text;
    }
}

std::string LogCapture::problems() const {
    const auto first = problems_.find_first_not_of(" \n\t=");
    if (first == std::string::npos) {
        return "";
    }
    const auto last = problems_.find_last_not_of(" \n\t=");
    return problems_.substr(first, last - first + 1);
}

} // namespace lora_gguf
