#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <napi.h>

namespace lora_gguf {

// What the JS side and the job's thread share: the cancel request, and the end of the thread.
struct JobControl {
    std::atomic<bool>        cancel_requested{false};
    std::function<void()>    on_cancel; // wakes a thread that waits for work; may be empty
    std::promise<void>       finished;
    std::shared_future<void> finished_future = finished.get_future().share();
};

// The jobs started from one Node environment, so that its teardown (a worker thread terminated,
// an Electron window closed, the process exiting) stops them and waits for their threads.
class JobRegistry {
public:
    void add(const std::shared_ptr<JobControl> & job);
    void cancel_all_and_wait();

private:
    std::vector<std::weak_ptr<JobControl>> jobs_;
};

// A failure inside a job's thread, carried to the JS thread with its stable code.
struct JobFailure {
    std::string code;
    std::string message;
};

// A JS Error with a stable `code` property, which src/native.ts turns into a LoraGgufError.
Napi::Error make_coded_error(Napi::Env env, const std::string & code, const std::string & message);

// Runs a callback that touches JS from a job's completion or progress. Such calls fail while the
// environment shuts down, and node-addon-api turns that into a C++ exception that would otherwise
// reach std::terminate; a progress listener that throws is ignored the same way.
// Returns whether the callback ran to its end.
template <typename Callback>
bool guard_js(Callback && callback) noexcept {
    try {
        callback();
        return true;
    } catch (...) {
        return false;
    }
}

} // namespace lora_gguf
