#include "sf/gnn/metrics.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace sf::gnn {

Scores score(const std::vector<int>& truth, const std::vector<int>& predicted,
             const std::vector<std::vector<double>>& probs, int classes) {
  Scores s;
  s.n = static_cast<int64_t>(truth.size());
  s.confusion.assign(classes, std::vector<int64_t>(classes, 0));
  if (truth.empty()) return s;
  double ll = 0;
  int64_t right = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    s.confusion[truth[i]][predicted[i]]++;
    right += truth[i] == predicted[i];
    const double p = probs.empty() ? (truth[i] == predicted[i] ? 1.0 : 0.0) : probs[i][truth[i]];
    ll -= std::log(std::clamp(p, 1e-15, 1.0));
  }
  s.accuracy = static_cast<double>(right) / static_cast<double>(s.n);
  s.log_loss = ll / static_cast<double>(s.n);
  double recall_sum = 0, f1_sum = 0;
  int present = 0;
  std::vector<double> t(classes, 0), p(classes, 0);
  for (int k = 0; k < classes; ++k) {
    for (int j = 0; j < classes; ++j) {
      t[k] += static_cast<double>(s.confusion[k][j]);
      p[k] += static_cast<double>(s.confusion[j][k]);
    }
    const double tp = static_cast<double>(s.confusion[k][k]);
    if (t[k] > 0) {
      recall_sum += tp / t[k];
      ++present;
    }
    const double prec = p[k] > 0 ? tp / p[k] : 0, rec = t[k] > 0 ? tp / t[k] : 0;
    f1_sum += prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0;
  }
  s.balanced_accuracy = present ? recall_sum / present : 0;
  s.macro_f1 = f1_sum / classes;
  // Multiclass MCC (Gorodkin 2004): (c*s - sum_k p_k t_k) / sqrt((s^2 - sum p^2)(s^2 - sum t^2)).
  const double n = static_cast<double>(s.n), c = static_cast<double>(right);
  double pt = 0, pp = 0, tt = 0;
  for (int k = 0; k < classes; ++k) {
    pt += p[k] * t[k];
    pp += p[k] * p[k];
    tt += t[k] * t[k];
  }
  const double den = std::sqrt((n * n - pp) * (n * n - tt));
  s.mcc = den > 0 ? (c * n - pt) / den : 0;
  return s;
}

Interval block_bootstrap_delta(const std::vector<bool>& a, const std::vector<bool>& b, int block,
                               int resamples, uint64_t seed) {
  const size_t n = a.size();
  if (n == 0) return {};
  const size_t L = std::clamp<size_t>(static_cast<size_t>(block), 1, n);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> start(0, n - L);
  std::vector<double> deltas;
  deltas.reserve(resamples);
  for (int r = 0; r < resamples; ++r) {
    int64_t diff = 0;
    size_t taken = 0;
    while (taken < n) {
      const size_t s0 = start(rng);
      for (size_t i = s0; i < s0 + L && taken < n; ++i, ++taken) {
        diff += static_cast<int>(a[i]) - static_cast<int>(b[i]);
      }
    }
    deltas.push_back(static_cast<double>(diff) / static_cast<double>(n));
  }
  std::sort(deltas.begin(), deltas.end());
  auto q = [&](double f) {
    const size_t i = static_cast<size_t>(std::floor(f * static_cast<double>(deltas.size() - 1)));
    return deltas[i];
  };
  return {q(0.025), q(0.975)};
}

double mcnemar_p(const std::vector<bool>& a, const std::vector<bool>& b) {
  int64_t only_a = 0, only_b = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    only_a += a[i] && !b[i];
    only_b += !a[i] && b[i];
  }
  const int64_t m = only_a + only_b;
  if (m == 0) return 1.0;
  const int64_t k = std::min(only_a, only_b);
  // P(X <= k), X ~ Binomial(m, 1/2), summed in log space.
  double tail = 0;
  for (int64_t i = 0; i <= k; ++i) {
    const double lc = std::lgamma(double(m) + 1) - std::lgamma(double(i) + 1) -
                      std::lgamma(double(m - i) + 1) - double(m) * std::log(2.0);
    tail += std::exp(lc);
  }
  return std::min(1.0, 2 * tail);
}

Interval binomial_interval99(double p, int64_t n) {
  if (n <= 0) return {0, 1};
  const double half = 2.5758 * std::sqrt(p * (1 - p) / static_cast<double>(n));
  return {p - half, p + half};
}

}  // namespace sf::gnn
