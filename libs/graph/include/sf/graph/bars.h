// Trades -> bars. A TradeBar accumulates the trades of one bar of one symbol: exactly (the OHLC,
// volume, count and taker-buy volume a Binance kline of the same trades has, in 8-decimal fixed
// point) and in floating point for the features (notional by aggressor, VWAP, intra-bar realised
// variance, the share of large trades).
//
// A TradeBar is a plain value, not thread-safe; add() is the hot path (no allocation).
#pragma once

#include <cstdint>
#include <string>

#include "sf/core/result.h"
#include "sf/records/records.h"

namespace sf::graph {

// One trade as the aggregation needs it: prices and quantities scaled by 10^8 (exact).
struct TradeTick {
  int64_t trade_id = 0;
  int64_t timestamp = 0;  // ms
  int64_t price8 = 0;
  int64_t qty8 = 0;
  bool buyer_maker = false;  // true: the seller was the taker
};

// From a parsed trade; an error if a value has more than 8 decimals or does not fit.
Result<TradeTick> tick_of(const records::Trade& t);

class TradeBar {
 public:
  void add(const TradeTick& t);

  int64_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  // Exact sums, scaled by 10^8.
  __int128 volume8() const { return volume8_; }
  __int128 taker_buy_volume8() const { return taker_buy8_; }
  int64_t open8() const { return open8_; }
  int64_t high8() const { return high8_; }
  int64_t low8() const { return low8_; }
  int64_t close8() const { return close8_; }

  double buy_notional() const { return buy_notional_; }    // taker buys, quote units
  double sell_notional() const { return sell_notional_; }  // taker sells
  double notional() const { return buy_notional_ + sell_notional_; }
  double vwap() const;  // 0 when empty
  // (buy - sell) / (buy + sell) of notional; 0 when empty.
  double order_flow_imbalance() const;
  // Share of the notional in trades of notional >= `threshold` (quote units), read from a
  // histogram of quarter-octave buckets (a trade counts when its bucket starts at or above the
  // threshold rounded down to a bucket edge): deterministic whatever the order bars are built in.
  double large_share(double threshold) const;
  // Sum of squared log price changes between consecutive trades of the bar.
  double realised_variance() const { return rv_; }

  // The kline these trades make (open_time/close_time/symbol/interval as given); quote volumes
  // are exact sums of price x quantity.
  records::Candle as_candle(const std::string& symbol, const std::string& interval,
                            int64_t open_time, int64_t close_time) const;

 private:
  int64_t count_ = 0;
  int64_t open8_ = 0, high8_ = 0, low8_ = 0, close8_ = 0;
  __int128 volume8_ = 0, taker_buy8_ = 0, quote16_ = 0, taker_quote16_ = 0;
  static constexpr int kBuckets = 256, kBucketsPerOctave = 4, kLowestOctave = -20;
  double buy_notional_ = 0, sell_notional_ = 0, rv_ = 0;
  double by_size_[kBuckets] = {};
  double last_log_price_ = 0;
};

}  // namespace sf::graph
