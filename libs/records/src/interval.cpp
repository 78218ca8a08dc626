#include "sf/records/interval.h"

#include <array>
#include <utility>

namespace sf::records {
namespace {

constexpr int64_t kSec = 1000, kMin = 60 * kSec, kHour = 60 * kMin, kDay = 24 * kHour;
constexpr std::array<std::pair<std::string_view, int64_t>, 16> kIntervals{{
    {"1s", kSec},
    {"1m", kMin},
    {"3m", 3 * kMin},
    {"5m", 5 * kMin},
    {"15m", 15 * kMin},
    {"30m", 30 * kMin},
    {"1h", kHour},
    {"2h", 2 * kHour},
    {"4h", 4 * kHour},
    {"6h", 6 * kHour},
    {"8h", 8 * kHour},
    {"12h", 12 * kHour},
    {"1d", kDay},
    {"3d", 3 * kDay},
    {"1w", 7 * kDay},
    {"1M", 0},
}};

int64_t floor_div(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

}  // namespace

// Howard Hinnant's civil-date algorithms (public domain).
int64_t days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int>(yoe + era * 400) + (m <= 2);
}

std::optional<Interval> Interval::parse(std::string_view name) {
  for (const auto& [n, ms] : kIntervals) {
    if (n == name) return Interval(n, ms);
  }
  return std::nullopt;
}

const std::vector<std::string_view>& Interval::names() {
  static const std::vector<std::string_view> all = [] {
    std::vector<std::string_view> v;
    for (const auto& [n, ms] : kIntervals) v.push_back(n);
    return v;
  }();
  return all;
}

int64_t Interval::open_time_of(int64_t t) const {
  if (is_month()) {
    int y;
    unsigned m, d;
    civil_from_days(floor_div(t, kDay), y, m, d);
    return days_from_civil(y, m, 1) * kDay;
  }
  if (ms_ == 7 * kDay) {
    // 1970-01-01 was a Thursday; Binance weeks open on Monday 00:00 UTC (epoch day 4 is a Monday).
    return floor_div(t - 4 * kDay, ms_) * ms_ + 4 * kDay;
  }
  return floor_div(t, ms_) * ms_;
}

int64_t Interval::next_open(int64_t open_ms) const {
  if (is_month()) {
    int y;
    unsigned m, d;
    civil_from_days(floor_div(open_ms, kDay), y, m, d);
    if (++m == 13) {
      m = 1;
      ++y;
    }
    return days_from_civil(y, m, 1) * kDay;
  }
  return open_ms + ms_;
}

}  // namespace sf::records
