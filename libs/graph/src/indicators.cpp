#include "sf/graph/indicators.h"

#include <cmath>
#include <limits>

namespace sf::graph {
namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

void WilderRsi::add(double close) {
  if (!has_last_) {
    has_last_ = true;
    last_ = close;
    return;
  }
  const double d = close - last_;
  last_ = close;
  const double g = d > 0 ? d : 0, l = d < 0 ? -d : 0;
  ++changes_;
  if (changes_ <= period_) {
    gain_ += g / period_;
    loss_ += l / period_;
  } else {
    gain_ = (gain_ * (period_ - 1) + g) / period_;
    loss_ = (loss_ * (period_ - 1) + l) / period_;
  }
}

double WilderRsi::value() const {
  if (!ready()) return kNaN;
  if (loss_ == 0) return gain_ == 0 ? 50.0 : 100.0;
  const double rs = gain_ / loss_;
  return 100.0 - 100.0 / (1.0 + rs);
}

std::vector<double> rsi(const std::vector<double>& close, int period) {
  std::vector<double> out(close.size(), kNaN);
  WilderRsi r(period);
  for (size_t i = 0; i < close.size(); ++i) {
    r.add(close[i]);
    if (r.ready()) out[i] = r.value();
  }
  return out;
}

std::vector<double> sma(const std::vector<double>& x, int period) {
  std::vector<double> out(x.size(), kNaN);
  double sum = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sum += x[i];
    if (i >= static_cast<size_t>(period)) sum -= x[i - period];
    if (i + 1 >= static_cast<size_t>(period)) out[i] = sum / period;
  }
  return out;
}

std::vector<double> ema(const std::vector<double>& x, int period) {
  std::vector<double> out(x.size(), kNaN);
  if (x.size() < static_cast<size_t>(period)) return out;
  double seed = 0;
  for (int i = 0; i < period; ++i) seed += x[i];
  double e = seed / period;
  out[period - 1] = e;
  const double alpha = 2.0 / (period + 1);
  for (size_t i = period; i < x.size(); ++i) {
    e = alpha * x[i] + (1 - alpha) * e;
    out[i] = e;
  }
  return out;
}

Bollinger bollinger(const std::vector<double>& close, int period, double k) {
  Bollinger b;
  b.middle = sma(close, period);
  b.upper.assign(close.size(), kNaN);
  b.lower.assign(close.size(), kNaN);
  for (size_t i = period > 0 ? period - 1 : 0; i < close.size(); ++i) {
    double var = 0;
    for (size_t j = i + 1 - period; j <= i; ++j) {
      var += (close[j] - b.middle[i]) * (close[j] - b.middle[i]);
    }
    const double sd = std::sqrt(var / period);
    b.upper[i] = b.middle[i] + k * sd;
    b.lower[i] = b.middle[i] - k * sd;
  }
  return b;
}

std::vector<double> vwap(const std::vector<double>& high, const std::vector<double>& low,
                         const std::vector<double>& close, const std::vector<double>& volume,
                         const std::vector<long long>& open_time) {
  std::vector<double> out(close.size(), kNaN);
  double pv = 0, v = 0;
  long long day = std::numeric_limits<long long>::min();
  for (size_t i = 0; i < close.size(); ++i) {
    const long long d = open_time[i] / 86'400'000;
    if (d != day) {
      day = d;
      pv = v = 0;
    }
    pv += (high[i] + low[i] + close[i]) / 3.0 * volume[i];
    v += volume[i];
    if (v > 0) out[i] = pv / v;
  }
  return out;
}

}  // namespace sf::graph
