// Classification scores as the model card reports them, and the statistics that say whether a
// model beats a baseline: a moving-block bootstrap interval of the accuracy difference (test bars
// are serially dependent, so single-node resampling would be too narrow) and McNemar's exact test.
// Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sf::gnn {

struct Scores {
  int64_t n = 0;
  double accuracy = 0, balanced_accuracy = 0, macro_f1 = 0, mcc = 0, log_loss = 0;
  std::vector<std::vector<int64_t>> confusion;  // [true][predicted]
};

// `probs`: per node, one probability per class (rows sum to 1); log-loss clips at 1e-15.
Scores score(const std::vector<int>& truth, const std::vector<int>& predicted,
             const std::vector<std::vector<double>>& probs, int classes);

struct Interval {
  double low = 0, high = 0;
};
// 95 % percentile interval of mean(a_correct) - mean(b_correct) over `resamples` moving-block
// bootstrap resamples with blocks of `block` consecutive nodes (in time order). Deterministic for
// a seed.
Interval block_bootstrap_delta(const std::vector<bool>& a_correct,
                               const std::vector<bool>& b_correct, int block, int resamples,
                               uint64_t seed);
// Two-sided exact McNemar p-value: b = a right and b wrong, c = the reverse.
double mcnemar_p(const std::vector<bool>& a_correct, const std::vector<bool>& b_correct);
// Two-sided 99 % interval of a binomial proportion p over n trials (normal approximation).
Interval binomial_interval99(double p, int64_t n);

}  // namespace sf::gnn
