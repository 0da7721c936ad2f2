#include "task-thread.h"

namespace lora_gguf {

std::shared_ptr<TaskThread> TaskThread::start(Napi::Env env, JobRegistry & jobs, std::function<void()> on_exit) {
    auto thread = std::shared_ptr<TaskThread>(new TaskThread());
    thread->on_exit_ = std::move(on_exit);
    // max_queue_size 0: unbounded, so the task thread never blocks on a JS thread that is shutting down
    thread->tsfn_ = Napi::ThreadSafeFunction::New(env, Napi::Function(), "lora-gguf task thread", 0, 1);
    thread->tsfn_.Unref(env);
    std::weak_ptr<TaskThread> weak = thread;
    thread->control_->on_cancel = [weak] {
        if (auto self = weak.lock()) {
            std::lock_guard<std::mutex> lock(self->mutex_);
            self->stopping_ = true;
            self->wake_.notify_all();
        }
    };
    jobs.add(thread->control_);
    std::thread([thread] { thread->loop(); }).detach();
    return thread;
}

Napi::Promise TaskThread::stop(Napi::Env env) {
    auto deferred = std::make_shared<Napi::Promise::Deferred>(Napi::Promise::Deferred::New(env));
    if (pending_++ == 0) {
        tsfn_.Ref(env);
    }
    std::shared_ptr<TaskThread> self = shared_from_this();
    post([self, deferred] {
        {
            std::lock_guard<std::mutex> lock(self->mutex_);
            self->stopping_ = true;
        }
        self->settle_on_js_thread([self, deferred](Napi::Env env) {
            guard_js([&] { deferred->Resolve(env.Undefined()); });
            if (--self->pending_ == 0) {
                guard_js([&] { self->tsfn_.Unref(env); });
            }
        });
    });
    return deferred->Promise();
}

void TaskThread::stop_after_current() {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
}

void TaskThread::post(std::function<void()> work) {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(work));
    wake_.notify_one();
}

void TaskThread::settle_on_js_thread(std::function<void(Napi::Env)> settle) {
    tsfn_.NonBlockingCall([settle = std::move(settle)](Napi::Env env, Napi::Function) { settle(env); });
}

void TaskThread::loop() {
    for (;;) {
        std::function<void()> work;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            // on shutdown of the environment, queued work is dropped: nobody is left to receive it
            if (queue_.empty() || (stopping_ && cancel_requested())) {
                break;
            }
            work = std::move(queue_.front());
            queue_.pop_front();
        }
        work();
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_ && queue_.empty()) {
            break;
        }
    }
    if (on_exit_) {
        on_exit_();
    }
    tsfn_.Release();
    control_->finished.set_value();
}

} // namespace lora_gguf
