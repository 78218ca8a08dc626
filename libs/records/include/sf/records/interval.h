// Interval: a Binance kline interval (1s ... 1M) and the calendar arithmetic of its periods, in
// UTC.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sf::records {

class Interval {
 public:
  // Returns nothing for a name Binance does not know ("1m" is a minute, "1M" a month).
  static std::optional<Interval> parse(std::string_view name);
  static const std::vector<std::string_view>& names();  // every valid name, shortest first

  std::string_view name() const { return name_; }
  // Fixed length in ms; 0 for the calendar month ("1M").
  int64_t fixed_ms() const { return ms_; }
  bool is_month() const { return ms_ == 0; }

  // Open time of the period that contains `t_ms` (weeks start on Monday, as on Binance).
  int64_t open_time_of(int64_t t_ms) const;
  // Open time of the period after the one opening at `open_ms`.
  int64_t next_open(int64_t open_ms) const;
  // Close time of the period opening at `open_ms`: next_open - 1.
  int64_t close_time(int64_t open_ms) const { return next_open(open_ms) - 1; }

  friend bool operator==(const Interval& a, const Interval& b) { return a.name_ == b.name_; }

 private:
  Interval(std::string_view name, int64_t ms) : name_(name), ms_(ms) {}
  std::string_view name_;  // points into a static table
  int64_t ms_;
};

// Days since 1970-01-01 for a proleptic Gregorian date, and back.
int64_t days_from_civil(int y, unsigned m, unsigned d);
void civil_from_days(int64_t days, int& y, unsigned& m, unsigned& d);

}  // namespace sf::records
