#pragma once

#include <functional>
#include <memory>
#include <optional>

#include <napi.h>

#include "job.h"

namespace lora_gguf {

// A native operation on a thread of its own rather than libuv's pool (so long jobs never starve
// fs and dns), with progress and the final promise delivered on the JS thread through one
// thread-safe function. Subclasses parse their options on the JS thread into plain members; the
// thread touches only those.
class ThreadJob : public std::enable_shared_from_this<ThreadJob> {
public:
    virtual ~ThreadJob() = default;

    // JS thread: starts `job` and returns { promise, cancel }.
    static Napi::Object start(Napi::Env env, std::shared_ptr<ThreadJob> job, Napi::Function on_progress, JobRegistry & jobs);

protected:
    // Job thread. Throw JobFailure (or any std::exception, which becomes E_NATIVE) to reject.
    virtual void execute() = 0;
    // JS thread, after execute() succeeded: the value the promise resolves with.
    virtual Napi::Value result(Napi::Env env) = 0;
    // When the output cannot be handed over (failed, cancelled, or nobody is left to receive it):
    // remove partial outputs. Called on the job thread or the JS thread, at most once per job.
    virtual void discard_outputs() {}

    bool cancel_requested() const { return control_->cancel_requested.load(); }
    // Job thread: queue a progress event; `make_payload` runs later on the JS thread.
    void report(std::function<Napi::Value(Napi::Env)> make_payload);

private:
    void run();
    void settle(Napi::Env env);
    void discard_once();

    std::shared_ptr<JobControl> control_ = std::make_shared<JobControl>();
    Napi::ThreadSafeFunction    tsfn_;
    std::optional<Napi::Promise::Deferred> deferred_;
    std::optional<JobFailure>   failure_;
    std::atomic<bool>           discarded_{false};
};

} // namespace lora_gguf
