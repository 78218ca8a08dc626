// TimeRange: the `TIME_RANGE` contract, "YYYY-MM-DD:YYYY-MM-DD", both days inclusive, in UTC:
// from 00:00:00.000 of the first day to 23:59:59.999 of the last.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sf/core/result.h"

namespace sf::records {

struct TimeRange {
  int64_t start_ms = 0;  // inclusive
  int64_t end_ms = 0;    // inclusive (23:59:59.999 of the last day)

  // Errors name the expected form; a reversed range or an impossible date is an error.
  static Result<TimeRange> parse(std::string_view text);
  bool contains(int64_t t_ms) const { return t_ms >= start_ms && t_ms <= end_ms; }
};

// "2024-08-09" -> epoch ms of its midnight UTC.
Result<int64_t> parse_utc_date(std::string_view text);
// Epoch ms -> "2024-08-09T00:00:00.000Z".
std::string format_utc(int64_t ms);

}  // namespace sf::records
