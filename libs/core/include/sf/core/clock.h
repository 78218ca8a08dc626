// The Clock seam: everything that depends on time asks a Clock, so tests drive time by hand
// (ManualClock) instead of sleeping.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

namespace sf {

class Clock {
 public:
  using Duration = std::chrono::milliseconds;
  virtual ~Clock() = default;

  // Wall-clock time, milliseconds since the Unix epoch (UTC).
  virtual int64_t now_ms() const = 0;
  // Monotonic time for measuring intervals; never jumps backwards.
  virtual std::chrono::steady_clock::time_point steady_now() const = 0;
  // Blocks for `d` (a fake clock returns at once after advancing itself or when advanced).
  virtual void sleep_for(Duration d) = 0;
};

// The real clock. Thread-safe; one shared instance is enough.
class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override;
  std::chrono::steady_clock::time_point steady_now() const override;
  void sleep_for(Duration d) override;

  static std::shared_ptr<Clock> shared();
};

}  // namespace sf
