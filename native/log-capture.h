#pragma once

#include <string>

namespace lora_gguf {

// llama.cpp and ggml log through one process-wide callback. We install a router once that
// hands each line to the LogCapture active on the emitting thread (so concurrent jobs keep
// their own messages) and drops the rest, unless LORA_GGUF_DEBUG is set, which echoes to stderr.
void install_log_router();

class LogCapture {
public:
    LogCapture();
    ~LogCapture();
    LogCapture(const LogCapture &) = delete;
    LogCapture & operator=(const LogCapture &) = delete;

    void append(int level, const char * text);
    // The warning and error lines seen so far, joined, trimmed.
    std::string problems() const;

private:
    LogCapture * previous_;
    std::string problems_;
    int last_level_ = 0;
};

} // namespace lora_gguf
