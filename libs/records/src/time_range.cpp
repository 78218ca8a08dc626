#include "sf/records/time_range.h"

#include <cstdio>

#include "sf/records/interval.h"

namespace sf::records {
namespace {

constexpr int64_t kDayMs = 86'400'000;

bool digits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return !s.empty();
}

int to_int(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

}  // namespace

Result<int64_t> parse_utc_date(std::string_view t) {
  if (t.size() != 10 || t[4] != '-' || t[7] != '-' || !digits(t.substr(0, 4)) ||
      !digits(t.substr(5, 2)) || !digits(t.substr(8, 2))) {
    return make_error("'" + std::string(t) + "' is not a date of the form YYYY-MM-DD");
  }
  const int y = to_int(t.substr(0, 4));
  const unsigned m = static_cast<unsigned>(to_int(t.substr(5, 2)));
  const unsigned d = static_cast<unsigned>(to_int(t.substr(8, 2)));
  if (m < 1 || m > 12 || d < 1 || d > 31) {
    return make_error("'" + std::string(t) +
                      "' is not a valid calendar date (expected YYYY-MM-DD)");
  }
  const int64_t days = days_from_civil(y, m, d);
  int yy;
  unsigned mm, dd;
  civil_from_days(days, yy, mm, dd);
  if (yy != y || mm != m || dd != d) {
    return make_error("'" + std::string(t) +
                      "' is not a valid calendar date (expected YYYY-MM-DD)");
  }
  return days * kDayMs;
}

Result<TimeRange> TimeRange::parse(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos || text.find(':', colon + 1) != std::string_view::npos) {
    return make_error("expected YYYY-MM-DD:YYYY-MM-DD (UTC, both days inclusive), got '" +
                      std::string(text) + "'");
  }
  auto start = parse_utc_date(text.substr(0, colon));
  if (!start) return start.error();
  auto end = parse_utc_date(text.substr(colon + 1));
  if (!end) return end.error();
  if (*end < *start) {
    return make_error("range is reversed: '" + std::string(text) +
                      "' ends before it starts; write the earlier day first");
  }
  return TimeRange{*start, *end + kDayMs - 1};
}

std::string format_utc(int64_t ms) {
  const int64_t days = ms >= 0 ? ms / kDayMs : (ms - kDayMs + 1) / kDayMs;
  int64_t rest = ms - days * kDayMs;
  int y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", y, m, d,
                static_cast<int>(rest / 3'600'000), static_cast<int>(rest / 60'000 % 60),
                static_cast<int>(rest / 1000 % 60), static_cast<int>(rest % 1000));
  return buf;
}

}  // namespace sf::records
