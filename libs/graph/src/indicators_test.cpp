// Indicators against series computed by hand.
#include "sf/graph/indicators.h"

#include <gtest/gtest.h>

#include <cmath>

namespace sf::graph {
namespace {

TEST(Indicators, WilderRsiByHand) {
  // Period 3. Changes: +1, -2, +3, +1, -1.
  // First averages (mean of 3): gain (1 + 0 + 3) / 3 = 4/3, loss 2/3 -> RSI 100 - 100/(1+2) = 66.67
  // Next (+1): gain (4/3*2 + 1)/3 = 11/9, loss (2/3*2)/3 = 4/9 -> RS 11/4 -> 73.33
  // Next (-1): gain (11/9*2)/3 = 22/27, loss (4/9*2 + 1)/3 = 17/27 -> RS 22/17 -> 56.41
  const std::vector<double> close = {10, 11, 9, 12, 13, 12};
  const auto r = rsi(close, 3);
  EXPECT_TRUE(std::isnan(r[0]));
  EXPECT_TRUE(std::isnan(r[2]));
  EXPECT_NEAR(r[3], 100 - 100 / 3.0, 1e-12);
  EXPECT_NEAR(r[4], 100 - 100 / (1 + 11.0 / 4), 1e-12);
  EXPECT_NEAR(r[5], 100 - 100 / (1 + 22.0 / 17), 1e-12);
}

TEST(Indicators, RsiEdgeCases) {
  EXPECT_NEAR(rsi({1, 2, 3, 4}, 3)[3], 100, 1e-12);  // no loss
  EXPECT_NEAR(rsi({5, 5, 5, 5}, 3)[3], 50, 1e-12);   // nothing moved
  EXPECT_NEAR(rsi({4, 3, 2, 1}, 3)[3], 0, 1e-12);    // no gain
}

TEST(Indicators, SmaEmaByHand) {
  const std::vector<double> x = {1, 2, 3, 4, 5};
  const auto s = sma(x, 3);
  EXPECT_TRUE(std::isnan(s[1]));
  EXPECT_DOUBLE_EQ(s[2], 2);
  EXPECT_DOUBLE_EQ(s[4], 4);
  // EMA(3): seed mean(1,2,3) = 2, alpha 0.5: 0.5*4 + 0.5*2 = 3, then 0.5*5 + 0.5*3 = 4.
  const auto e = ema(x, 3);
  EXPECT_DOUBLE_EQ(e[2], 2);
  EXPECT_DOUBLE_EQ(e[3], 3);
  EXPECT_DOUBLE_EQ(e[4], 4);
}

TEST(Indicators, BollingerByHand) {
  // Window (2, 4, 6): mean 4, population sd sqrt(8/3).
  const auto b = bollinger({2, 4, 6}, 3, 2.0);
  EXPECT_DOUBLE_EQ(b.middle[2], 4);
  EXPECT_NEAR(b.upper[2], 4 + 2 * std::sqrt(8.0 / 3), 1e-12);
  EXPECT_NEAR(b.lower[2], 4 - 2 * std::sqrt(8.0 / 3), 1e-12);
  EXPECT_TRUE(std::isnan(b.upper[1]));
}

TEST(Indicators, VwapRestartsEachDay) {
  const long long day = 86'400'000;
  // Typical prices 10 and 20 with volumes 1 and 3 -> (10 + 60) / 4 = 17.5; next day restarts.
  const auto v = vwap({10, 20, 7}, {10, 20, 7}, {10, 20, 7}, {1, 3, 2}, {0, 60'000, day});
  EXPECT_DOUBLE_EQ(v[0], 10);
  EXPECT_DOUBLE_EQ(v[1], 17.5);
  EXPECT_DOUBLE_EQ(v[2], 7);
}

}  // namespace
}  // namespace sf::graph
