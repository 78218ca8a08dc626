#include "sf/records/time_range.h"

#include <gtest/gtest.h>

namespace sf::records {
namespace {

TEST(TimeRange, BothDaysInclusiveInUtc) {
  auto r = TimeRange::parse("2021-11-27:2021-11-28").value();
  EXPECT_EQ(r.start_ms, 1637971200000);
  EXPECT_EQ(r.end_ms, 1638143999999);
  EXPECT_TRUE(r.contains(1638143999999));
  EXPECT_FALSE(r.contains(1638144000000));
  auto one_day = TimeRange::parse("2024-08-09:2024-08-09").value();
  EXPECT_EQ(one_day.end_ms - one_day.start_ms, 86'400'000 - 1);
  EXPECT_EQ(format_utc(one_day.start_ms), "2024-08-09T00:00:00.000Z");
  EXPECT_EQ(format_utc(one_day.end_ms), "2024-08-09T23:59:59.999Z");
}

TEST(TimeRange, MalformedOrReversedIsAClearError) {
  for (const char* bad : {"", "2021-11-27", "2021-11-27:", "2021/11/27:2021/11/28",
                          "2021-11-27:2021-11-28:2021-11-29", "2021-02-30:2021-03-01",
                          "2021-13-01:2021-13-02", "21-11-27:21-11-28"}) {
    auto r = TimeRange::parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("YYYY-MM-DD"), std::string::npos) << r.error().message;
  }
  auto reversed = TimeRange::parse("2021-11-28:2021-11-27");
  ASSERT_FALSE(reversed.ok());
  EXPECT_NE(reversed.error().message.find("reversed"), std::string::npos);
  EXPECT_TRUE(TimeRange::parse("2024-02-29:2024-02-29").ok());  // leap day
}

}  // namespace
}  // namespace sf::records
