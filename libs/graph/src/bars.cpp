#include "sf/graph/bars.h"

#include <cmath>
#include <limits>

namespace sf::graph {
namespace {

constexpr double kScale = 1e8;

Result<int64_t> scaled64(const records::Decimal& d, const char* what) {
  auto s = d.to_scaled8();
  if (!s) return make_error(std::string(what) + ": " + s.error().message);
  if (*s > std::numeric_limits<int64_t>::max() || *s < 0) {
    return make_error(std::string(what) + " " + d.str() + " is out of range");
  }
  return static_cast<int64_t>(*s);
}

// a * b with both scaled 10^8 -> scaled 10^8, rounded half up (non-negative values).
__int128 mul8(__int128 a, __int128 b) {
  return (a * b + 50'000'000) / 100'000'000;
}

}  // namespace

Result<TradeTick> tick_of(const records::Trade& t) {
  auto p = scaled64(t.price, "price");
  if (!p) return p.error();
  auto q = scaled64(t.quantity, "quantity");
  if (!q) return q.error();
  return TradeTick{t.trade_id, t.timestamp, *p, *q, t.is_buyer_maker};
}

void TradeBar::add(const TradeTick& t) {
  const double price = static_cast<double>(t.price8) / kScale;
  const double notional = price * (static_cast<double>(t.qty8) / kScale);
  const double log_price = std::log(price > 0 ? price : std::numeric_limits<double>::min());
  if (count_ == 0) {
    open8_ = high8_ = low8_ = t.price8;
  } else {
    const double d = log_price - last_log_price_;
    rv_ += d * d;
    if (t.price8 > high8_) high8_ = t.price8;
    if (t.price8 < low8_) low8_ = t.price8;
  }
  last_log_price_ = log_price;
  close8_ = t.price8;
  ++count_;
  volume8_ += t.qty8;
  const __int128 pq = static_cast<__int128>(t.price8) * t.qty8;
  quote16_ += pq;
  if (t.buyer_maker) {
    sell_notional_ += notional;
  } else {
    taker_buy8_ += t.qty8;
    taker_quote16_ += pq;
    buy_notional_ += notional;
  }
  if (notional > 0) {
    int b = static_cast<int>(std::floor(std::log2(notional) * kBucketsPerOctave)) -
            kLowestOctave * kBucketsPerOctave;
    b = b < 0 ? 0 : b >= kBuckets ? kBuckets - 1 : b;
    by_size_[b] += notional;
  }
}

double TradeBar::vwap() const {
  if (volume8_ == 0) return 0;
  return static_cast<double>(quote16_) / kScale / static_cast<double>(volume8_);
}

double TradeBar::order_flow_imbalance() const {
  const double total = notional();
  return total > 0 ? (buy_notional_ - sell_notional_) / total : 0;
}

double TradeBar::large_share(double threshold) const {
  const double total = notional();
  if (total <= 0 || threshold <= 0) return 0;
  int from = static_cast<int>(std::floor(std::log2(threshold) * kBucketsPerOctave)) -
             kLowestOctave * kBucketsPerOctave;
  from = from < 0 ? 0 : from;
  double large = 0;
  for (int b = from; b < kBuckets; ++b) large += by_size_[b];
  return large / total;
}

records::Candle TradeBar::as_candle(const std::string& symbol, const std::string& interval,
                                    int64_t open_time, int64_t close_time) const {
  using records::Decimal;
  records::Candle c;
  c.symbol = symbol;
  c.interval = interval;
  c.open_time = open_time;
  c.close_time = close_time;
  c.open = Decimal::from_scaled8(open8_);
  c.high = Decimal::from_scaled8(high8_);
  c.low = Decimal::from_scaled8(low8_);
  c.close = Decimal::from_scaled8(close8_);
  c.volume = Decimal::from_scaled8(volume8_);
  c.number_of_trades = count_;
  c.quote_asset_volume = Decimal::from_scaled8(mul8(quote16_, 1));
  c.taker_buy_base_asset_volume = Decimal::from_scaled8(taker_buy8_);
  c.taker_buy_quote_asset_volume = Decimal::from_scaled8(mul8(taker_quote16_, 1));
  return c;
}

}  // namespace sf::graph
