// ManualClock: a fake Clock for tests. Time moves only when the test says so; sleep_for advances
// the clock by the requested amount and returns at once, so code that backs off is tested in
// microseconds. Thread-safe.
#pragma once

#include <atomic>

#include "sf/core/clock.h"

namespace sf::testing {

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 1'700'000'000'000) : now_ms_(start_ms) {}

  int64_t now_ms() const override { return now_ms_.load(); }
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(now_ms_.load()));
  }
  void sleep_for(Duration d) override {
    slept_ms_ += d.count();
    advance(d);
  }

  void advance(Duration d) { now_ms_ += d.count(); }
  void set(int64_t ms) { now_ms_ = ms; }
  // Total time callers asked to sleep: lets a test check a backoff schedule.
  int64_t slept_ms() const { return slept_ms_.load(); }

 private:
  std::atomic<int64_t> now_ms_;
  std::atomic<int64_t> slept_ms_{0};
};

}  // namespace sf::testing
