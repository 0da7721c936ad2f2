#include "thread-job.h"

#include <exception>
#include <thread>

namespace lora_gguf {

Napi::Object ThreadJob::start(Napi::Env env, std::shared_ptr<ThreadJob> job, Napi::Function on_progress, JobRegistry & jobs) {
    job->deferred_.emplace(Napi::Promise::Deferred::New(env));
    // max_queue_size 0: unbounded, so the job thread never blocks on a JS thread that is shutting down
    job->tsfn_ = Napi::ThreadSafeFunction::New(env, on_progress, "lora-gguf job", 0, 1);
    jobs.add(job->control_);

    std::shared_ptr<JobControl> control = job->control_;
    Napi::Object handle = Napi::Object::New(env);
    handle.Set("promise", job->deferred_->Promise());
    handle.Set("cancel", Napi::Function::New(env, [control](const Napi::CallbackInfo &) {
        control->cancel_requested.store(true);
    }, "cancel"));

    std::thread([job] { job->run(); }).detach();
    return handle;
}

void ThreadJob::report(std::function<Napi::Value(Napi::Env)> make_payload) {
    tsfn_.NonBlockingCall([make_payload = std::move(make_payload)](Napi::Env env, Napi::Function listener) {
        if (listener.IsEmpty() || !listener.IsFunction()) {
            return;
        }
        guard_js([&] { listener.Call({make_payload(env)}); });
    });
}

void ThreadJob::run() {
    try {
        if (!cancel_requested()) {
            execute();
        }
    } catch (const JobFailure & failure) {
        failure_ = failure;
    } catch (const std::exception & e) {
        failure_ = JobFailure{"E_NATIVE", e.what()};
    } catch (...) {
        failure_ = JobFailure{"E_NATIVE", "unknown native exception"};
    }
    if (cancel_requested()) {
        failure_ = JobFailure{"E_ABORTED", "the operation was aborted"};
    }
    if (failure_) {
        discard_once();
    }

    std::shared_ptr<ThreadJob> self = shared_from_this();
    const napi_status status = tsfn_.BlockingCall([self](Napi::Env env, Napi::Function) { self->settle(env); });
    if (status != napi_ok) {
        discard_once();  // the environment is gone: no one will move the output into place
    }
    tsfn_.Release();
    control_->finished.set_value();
}

void ThreadJob::settle(Napi::Env env) {
    const bool delivered = guard_js([&] {
        if (failure_) {
            deferred_->Reject(make_coded_error(env, failure_->code, failure_->message).Value());
        } else {
            deferred_->Resolve(result(env));
        }
    });
    if (!delivered) {
        discard_once();
    }
}

void ThreadJob::discard_once() {
    if (!discarded_.exchange(true)) {
        discard_outputs();
    }
}

} // namespace lora_gguf
