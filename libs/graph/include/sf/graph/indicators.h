// Technical indicators, causal (the value at i uses inputs 0..i only). One implementation for the
// graph's features and the visualizer's indicator page.
//
// Streaming forms (WilderRsi) feed one value at a time; the series forms take a whole series and
// return one value per input, NaN where the window is not yet full.
#pragma once

#include <cstddef>
#include <vector>

namespace sf::graph {

// RSI with Wilder's smoothing (J. Welles Wilder, 1978): the first average gain/loss is the plain
// mean of the first `period` changes, then avg = (avg * (period - 1) + x) / period. ready() after
// `period` changes; the value is in [0, 100] (100 when there was no loss, 50 when nothing moved).
class WilderRsi {
 public:
  explicit WilderRsi(int period = 14) : period_(period) {}
  void add(double close);
  bool ready() const { return changes_ >= period_; }
  double value() const;

 private:
  int period_;
  int changes_ = 0;
  bool has_last_ = false;
  double last_ = 0, gain_ = 0, loss_ = 0;
};

std::vector<double> rsi(const std::vector<double>& close, int period = 14);
std::vector<double> sma(const std::vector<double>& x, int period);
// EMA seeded with the SMA of the first `period` values, alpha = 2 / (period + 1).
std::vector<double> ema(const std::vector<double>& x, int period);
struct Bollinger {
  std::vector<double> middle, upper, lower;
};
// SMA +- k population standard deviations over `period`.
Bollinger bollinger(const std::vector<double>& close, int period = 20, double k = 2.0);
// Cumulative VWAP of the typical price (h + l + c) / 3 weighted by volume, restarting at each UTC
// day (`open_time` in ms); NaN until some volume traded.
std::vector<double> vwap(const std::vector<double>& high, const std::vector<double>& low,
                         const std::vector<double>& close, const std::vector<double>& volume,
                         const std::vector<long long>& open_time);

}  // namespace sf::graph
