// Capped exponential backoff, the one used wherever something is retried: attempt 0 waits
// `base`, each further attempt twice as long, never more than `cap`. `jittered` spreads a wait
// over [d/2, d] ("full jitter" halved) so that clients that failed together do not retry
// together.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace sf {

inline std::chrono::milliseconds backoff_delay(std::chrono::milliseconds base,
                                               std::chrono::milliseconds cap, int attempt) {
  const int shift = std::clamp(attempt, 0, 30);
  const int64_t b = std::max<int64_t>(base.count(), 0);
  const int64_t grown = b > (INT64_MAX >> shift) ? INT64_MAX : b << shift;
  return std::chrono::milliseconds(std::min<int64_t>(cap.count(), grown));
}

template <class Rng>
std::chrono::milliseconds jittered(std::chrono::milliseconds d, Rng& rng) {
  std::uniform_int_distribution<int64_t> pick(d.count() / 2, d.count());
  return std::chrono::milliseconds(pick(rng));
}

}  // namespace sf
