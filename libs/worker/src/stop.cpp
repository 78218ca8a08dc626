#include "sf/worker/stop.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <thread>

namespace sf::worker {

void StopSource::request_stop(std::string reason) {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    reason_ = std::move(reason);
  }
  cv_.notify_all();
}

bool StopSource::stop_requested() const {
  std::lock_guard lock(mu_);
  return stopped_;
}

std::string StopSource::reason() const {
  std::lock_guard lock(mu_);
  return reason_;
}

bool StopSource::wait_for(std::chrono::milliseconds d) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, d, [this] { return stopped_; });
}

struct SignalWatcher::Impl {
  StopSource& stop;
  std::atomic<bool> running{true};
  std::thread thread;
  sigset_t set;
  explicit Impl(StopSource& s) : stop(s) {}
};

SignalWatcher::SignalWatcher(StopSource& stop) : impl_(new Impl(stop)) {
  sigemptyset(&impl_->set);
  sigaddset(&impl_->set, SIGTERM);
  sigaddset(&impl_->set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &impl_->set, nullptr);
  Impl* impl = impl_;
  impl_->thread = std::thread([impl] {
    int interrupts = 0;
    while (impl->running.load()) {
      timespec timeout{0, 100'000'000};
      const int sig = sigtimedwait(&impl->set, nullptr, &timeout);
      if (sig <= 0) continue;
      // Only a person presses Ctrl-C twice. Repeated SIGTERMs are common (`timeout` and some
      // supervisors signal both the process and its group) and must not cut the clean shutdown.
      if (sig == SIGINT && ++interrupts > 1) {
        static const char msg[] = "second signal: exiting now without a clean shutdown\n";
        (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
        _exit(130);
      }
      impl->stop.request_stop(sig == SIGTERM ? "SIGTERM" : "SIGINT");
    }
  });
}

SignalWatcher::~SignalWatcher() {
  impl_->running = false;
  impl_->thread.join();
  delete impl_;
}

}  // namespace sf::worker
