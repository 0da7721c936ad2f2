#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <napi.h>

#include "job.h"

namespace lora_gguf {

// A long-lived native object's own thread (a training session's, say): JS calls queue work on it
// and get promises, settled on the JS thread through one thread-safe function. The work runs in
// order, one item at a time, never on the JS thread or libuv's pool. The thread-safe function keeps
// the event loop alive only while work is pending.
class TaskThread : public std::enable_shared_from_this<TaskThread> {
public:
    // JS thread. `on_exit` runs on the task thread after its last task (frees what the tasks used).
    static std::shared_ptr<TaskThread> start(Napi::Env env, JobRegistry & jobs, std::function<void()> on_exit);

    // JS thread: queue `compute` (task thread; returns a value or throws JobFailure / std::exception)
    // and convert its value with `to_js` (JS thread).
    template <typename Result>
    Napi::Promise run(Napi::Env env, std::function<Result()> compute, std::function<Napi::Value(Napi::Env, Result &)> to_js);

    // JS thread: finish the queued work, then stop the thread; the promise settles when it has stopped.
    Napi::Promise stop(Napi::Env env);

    // Task thread: stop once the current task is done (a session that failed to open, say).
    void stop_after_current();

    bool cancel_requested() const { return control_->cancel_requested.load(); }
    const std::shared_ptr<JobControl> & control() const { return control_; }

private:
    void post(std::function<void()> work);
    void loop();
    void settle_on_js_thread(std::function<void(Napi::Env)> settle);

    std::shared_ptr<JobControl>       control_ = std::make_shared<JobControl>();
    Napi::ThreadSafeFunction          tsfn_;
    std::function<void()>             on_exit_;
    std::mutex                        mutex_;
    std::condition_variable           wake_;
    std::deque<std::function<void()>> queue_;
    bool                              stopping_ = false;
    int                               pending_  = 0; // JS thread only
};

template <typename Result>
Napi::Promise TaskThread::run(Napi::Env env, std::function<Result()> compute, std::function<Napi::Value(Napi::Env, Result &)> to_js) {
    auto deferred = std::make_shared<Napi::Promise::Deferred>(Napi::Promise::Deferred::New(env));
    if (pending_++ == 0) {
        tsfn_.Ref(env);
    }
    std::shared_ptr<TaskThread> self = shared_from_this();
    post([self, deferred, compute = std::move(compute), to_js = std::move(to_js)] {
        auto result  = std::make_shared<std::optional<Result>>();
        auto failure = std::make_shared<std::optional<JobFailure>>();
        try {
            if (self->cancel_requested()) {
                throw JobFailure{"E_ABORTED", "the session was shut down"};
            }
            result->emplace(compute());
        } catch (const JobFailure & f) {
            *failure = f;
        } catch (const std::exception & e) {
            *failure = JobFailure{"E_NATIVE", e.what()};
        } catch (...) {
            *failure = JobFailure{"E_NATIVE", "unknown native exception"};
        }
        self->settle_on_js_thread([self, deferred, result, failure, to_js](Napi::Env env) {
            guard_js([&] {
                if (*failure) {
                    deferred->Reject(make_coded_error(env, (*failure)->code, (*failure)->message).Value());
                } else {
                    deferred->Resolve(to_js(env, **result));
                }
            });
            if (--self->pending_ == 0) {
                guard_js([&] { self->tsfn_.Unref(env); });
            }
        });
    });
    return deferred->Promise();
}

} // namespace lora_gguf
