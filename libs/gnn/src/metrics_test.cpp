// Scores and statistics against examples computed by hand.
#include "sf/gnn/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace sf::gnn {
namespace {

TEST(Metrics, BinaryScoresByHand) {
  // truth 1 1 1 0 0, predicted 1 1 0 0 1: TP 2, FN 1, TN 1, FP 1.
  const std::vector<int> t = {1, 1, 1, 0, 0}, p = {1, 1, 0, 0, 1};
  const std::vector<std::vector<double>> probs = {
      {0.2, 0.8}, {0.4, 0.6}, {0.7, 0.3}, {0.9, 0.1}, {0.5, 0.5}};
  const auto s = score(t, p, probs, 2);
  EXPECT_EQ(s.n, 5);
  EXPECT_DOUBLE_EQ(s.accuracy, 0.6);
  EXPECT_DOUBLE_EQ(s.balanced_accuracy, (2.0 / 3 + 0.5) / 2);
  // F1(1) = 2*(2/3)(2/3)/(4/3) = 2/3; F1(0) = 2*(1/2)(1/2)/1 = 1/2.
  EXPECT_NEAR(s.macro_f1, (2.0 / 3 + 0.5) / 2, 1e-12);
  // MCC = (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (2 - 1) / sqrt(3*3*2*2) = 1/6.
  EXPECT_NEAR(s.mcc, 1.0 / 6, 1e-12);
  EXPECT_NEAR(s.log_loss,
              -(std::log(0.8) + std::log(0.6) + std::log(0.3) + std::log(0.9) + std::log(0.5)) / 5,
              1e-12);
  EXPECT_EQ(s.confusion[1][0], 1);
  EXPECT_EQ(s.confusion[0][1], 1);
}

TEST(Metrics, ThreeClassMccAndConstantPredictor) {
  const std::vector<int> t = {0, 1, 2, 0, 1, 2}, same = t;
  EXPECT_NEAR(score(t, same, {}, 3).mcc, 1.0, 1e-12);
  const std::vector<int> zero(6, 0);
  const auto s = score(t, zero, {}, 3);
  EXPECT_NEAR(s.accuracy, 1.0 / 3, 1e-12);
  EXPECT_EQ(s.mcc, 0);  // a constant predictor carries no information
  EXPECT_NEAR(s.balanced_accuracy, 1.0 / 3, 1e-12);
}

TEST(Metrics, McNemarExact) {
  // 10 discordant pairs, 9 for a: P = 2 * P(X <= 1 | Bin(10, .5)) = 2 * 11 / 1024.
  std::vector<bool> a(20, true), b(20, true);
  for (int i = 0; i < 9; ++i) b[i] = false;
  a[19] = false;
  EXPECT_NEAR(mcnemar_p(a, b), 22.0 / 1024, 1e-12);
  EXPECT_EQ(mcnemar_p(a, a), 1.0);
}

TEST(Metrics, BootstrapIntervalCoversTheDifference) {
  std::vector<bool> a(400), b(400);
  for (int i = 0; i < 400; ++i) {
    a[i] = i % 4 != 0;  // 75 %
    b[i] = i % 2 == 0;  // 50 %
  }
  const auto ci = block_bootstrap_delta(a, b, 10, 2000, 1);
  EXPECT_LT(ci.low, 0.25);
  EXPECT_GT(ci.high, 0.25);
  EXPECT_GT(ci.low, 0.1);
  const auto same = block_bootstrap_delta(a, b, 10, 2000, 1);
  EXPECT_EQ(ci.low, same.low);  // deterministic
}

}  // namespace
}  // namespace sf::gnn
