// StopSource: the one place a worker learns it must stop (control topic `stop`, SIGTERM/SIGINT, or
// its own end). Thread-safe; the first reason given wins.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

namespace sf::worker {

class StopSource {
 public:
  void request_stop(std::string reason);
  bool stop_requested() const;
  std::string reason() const;
  // Waits up to `d`; true if a stop was requested (at once if it already was).
  bool wait_for(std::chrono::milliseconds d) const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool stopped_ = false;
  std::string reason_;
};

// Routes SIGTERM and SIGINT to a StopSource. Construct it before starting any thread (it blocks the
// signals in the calling thread, and threads started later inherit that); a dedicated thread waits
// for them. A second SIGINT (Ctrl-C twice) ends the process at once with exit code 130; repeated
// SIGTERMs are one request to stop.
class SignalWatcher {
 public:
  explicit SignalWatcher(StopSource& stop);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace sf::worker
