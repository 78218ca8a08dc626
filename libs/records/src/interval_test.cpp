#include "sf/records/interval.h"

#include <gtest/gtest.h>

namespace sf::records {
namespace {

TEST(Interval, KnowsEveryBinanceInterval) {
  EXPECT_EQ(Interval::names().size(), 16u);
  for (auto name : Interval::names()) EXPECT_TRUE(Interval::parse(name).has_value()) << name;
  EXPECT_FALSE(Interval::parse("2m").has_value());
  EXPECT_FALSE(Interval::parse("1H").has_value());
  EXPECT_FALSE(Interval::parse("").has_value());
  EXPECT_EQ(Interval::parse("1m")->fixed_ms(), 60'000);
  EXPECT_TRUE(Interval::parse("1M")->is_month());
}

TEST(Interval, PeriodsAlignLikeBinance) {
  const int64_t t = 1637971259999;  // 2021-11-27T00:00:59.999Z
  EXPECT_EQ(Interval::parse("1m")->open_time_of(t), 1637971200000);
  EXPECT_EQ(Interval::parse("1m")->close_time(1637971200000), 1637971259999);
  EXPECT_EQ(Interval::parse("1d")->open_time_of(t), 1637971200000);
  // 2021-11-27 is a Saturday; its week opened Monday 2021-11-22.
  EXPECT_EQ(Interval::parse("1w")->open_time_of(t), days_from_civil(2021, 11, 22) * 86'400'000);
  // Months have their calendar length.
  auto month = *Interval::parse("1M");
  const int64_t feb = days_from_civil(2024, 2, 1) * 86'400'000;
  EXPECT_EQ(month.open_time_of(feb + 5 * 86'400'000), feb);
  EXPECT_EQ(month.next_open(feb), days_from_civil(2024, 3, 1) * 86'400'000);
  EXPECT_EQ(month.next_open(days_from_civil(2023, 12, 1) * 86'400'000),
            days_from_civil(2024, 1, 1) * 86'400'000);
}

}  // namespace
}  // namespace sf::records
