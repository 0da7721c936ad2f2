#include "job.h"

#include <algorithm>

namespace lora_gguf {

void JobRegistry::add(const std::shared_ptr<JobControl> & job) {
    // forget finished jobs so the list stays as short as the number running
    jobs_.erase(std::remove_if(jobs_.begin(), jobs_.end(), [](const auto & weak) { return weak.expired(); }), jobs_.end());
    jobs_.push_back(job);
}

void JobRegistry::cancel_all_and_wait() {
    std::vector<std::shared_ptr<JobControl>> running;
    for (const auto & weak : jobs_) {
        if (auto job = weak.lock()) {
            job->cancel_requested.store(true);
            if (job->on_cancel) {
                job->on_cancel();
            }
            running.push_back(job);
        }
    }
    // A job stops at its next cancellation point; none of them needs this thread to get there.
    for (const auto & job : running) {
        job->finished_future.wait();
    }
}

Napi::Error make_coded_error(Napi::Env env, const std::string & code, const std::string & message) {
    Napi::Error error = Napi::Error::New(env, message);
    error.Set("code", Napi::String::New(env, code));
    return error;
}

} // namespace lora_gguf
