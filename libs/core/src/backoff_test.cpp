#include "sf/core/backoff.h"

#include <gtest/gtest.h>

namespace sf {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, DoublesFromTheBaseUpToTheCap) {
  EXPECT_EQ(backoff_delay(milliseconds(100), milliseconds(5000), 0), milliseconds(100));
  EXPECT_EQ(backoff_delay(milliseconds(100), milliseconds(5000), 1), milliseconds(200));
  EXPECT_EQ(backoff_delay(milliseconds(100), milliseconds(5000), 5), milliseconds(3200));
  EXPECT_EQ(backoff_delay(milliseconds(100), milliseconds(5000), 6), milliseconds(5000));
  // Far attempts neither overflow nor go negative.
  EXPECT_EQ(backoff_delay(milliseconds(100), milliseconds(5000), 1000), milliseconds(5000));
  EXPECT_EQ(backoff_delay(milliseconds(100), milliseconds(5000), -3), milliseconds(100));
}

TEST(Backoff, JitterStaysWithinHalfAndWhole) {
  std::mt19937_64 rng(7);
  bool below = false;
  for (int i = 0; i < 1000; ++i) {
    const auto d = jittered(milliseconds(1000), rng);
    ASSERT_GE(d, milliseconds(500));
    ASSERT_LE(d, milliseconds(1000));
    below = below || d < milliseconds(900);
  }
  EXPECT_TRUE(below) << "the waits are spread, not all the same";
}

}  // namespace
}  // namespace sf
