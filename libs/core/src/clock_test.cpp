#include "sf/core/clock.h"

#include <gtest/gtest.h>

#include "sf/core/testing/manual_clock.h"

namespace sf {
namespace {

TEST(SystemClock, WallTimeIsEpochMilliseconds) {
  // 2020-01-01 < now < 2100-01-01: a seconds or microseconds value would fall outside.
  const int64_t now = SystemClock().now_ms();
  EXPECT_GT(now, 1'577'836'800'000);
  EXPECT_LT(now, 4'102'444'800'000);
}

TEST(SystemClock, SteadyClockDoesNotGoBackwards) {
  SystemClock clock;
  auto a = clock.steady_now();
  auto b = clock.steady_now();
  EXPECT_LE(a, b);
}

TEST(ManualClock, SleepAdvancesTimeWithoutBlocking) {
  testing::ManualClock clock(1000);
  clock.sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(clock.now_ms(), 1250);
  EXPECT_EQ(clock.slept_ms(), 250);
  clock.advance(std::chrono::milliseconds(50));
  EXPECT_EQ(clock.now_ms(), 1300);
  EXPECT_EQ(clock.slept_ms(), 250);
}

}  // namespace
}  // namespace sf
