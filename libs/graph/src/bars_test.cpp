// Trades -> bars against the replay exchange's klines of the same real trades.
#include "sf/graph/bars.h"

#include <gtest/gtest.h>

#include <cmath>

#include "sf/replay/dataset.h"
#include "sf/replay/testing/captures.h"

namespace sf::graph {
namespace {

void expect_bars_equal_klines(const std::string& symbol, const char* interval_name) {
  const auto* data = replay::testing::captures()->find(symbol);
  ASSERT_NE(data, nullptr);
  ASSERT_GT(data->trades.size(), 1000u);
  const auto interval = *records::Interval::parse(interval_name);
  const auto klines = replay::klines_from_trades(data->trades, interval);
  ASSERT_GT(klines.size(), 2u);
  size_t next = 0;
  for (const auto& k : klines) {
    TradeBar bar;
    for (; next < data->trades.size() &&
           interval.open_time_of(data->trades[next].timestamp) == k.candle.open_time;
         ++next) {
      bar.add(tick_of(data->trades[next]).value());
    }
    const auto c = bar.as_candle(symbol, interval_name, k.candle.open_time, k.candle.close_time);
    SCOPED_TRACE(k.candle.open_time);
    EXPECT_EQ(c.open, k.candle.open);
    EXPECT_EQ(c.high, k.candle.high);
    EXPECT_EQ(c.low, k.candle.low);
    EXPECT_EQ(c.close, k.candle.close);
    EXPECT_EQ(c.volume, k.candle.volume);
    EXPECT_EQ(c.number_of_trades, k.candle.number_of_trades);
    EXPECT_EQ(c.taker_buy_base_asset_volume, k.candle.taker_buy_base_asset_volume);
  }
  EXPECT_EQ(next, data->trades.size());
}

TEST(TradeBar, RealBtcTradesMakeTheExchangesOneMinuteKlines) {
  expect_bars_equal_klines("BTCUSDT", "1m");
}

TEST(TradeBar, RealEthTradesMakeTheExchangesFiveMinuteKlines) {
  expect_bars_equal_klines("ETHUSDT", "5m");
}

TEST(TradeBar, FlowAndSizeAggregates) {
  TradeBar bar;
  // 2 @ 100 bought by a taker, 1 @ 101 sold by a taker, 10 @ 99 bought (a large one).
  bar.add({1, 0, 100'00000000, 2'00000000, false});
  bar.add({2, 1, 101'00000000, 1'00000000, true});
  bar.add({3, 2, 99'00000000, 10'00000000, false});
  EXPECT_EQ(bar.count(), 3);
  EXPECT_DOUBLE_EQ(bar.buy_notional(), 200 + 990);
  EXPECT_DOUBLE_EQ(bar.sell_notional(), 101);
  EXPECT_DOUBLE_EQ(bar.order_flow_imbalance(), (1190.0 - 101) / 1291);
  EXPECT_DOUBLE_EQ(bar.vwap(), 1291.0 / 13);
  const double rv = std::pow(std::log(101.0 / 100), 2) + std::pow(std::log(99.0 / 101), 2);
  EXPECT_NEAR(bar.realised_variance(), rv, 1e-15);
  EXPECT_DOUBLE_EQ(bar.large_share(500), 990.0 / 1291);
  EXPECT_DOUBLE_EQ(bar.large_share(5000), 0);
  EXPECT_EQ(bar.open8(), 100'00000000);
  EXPECT_EQ(bar.high8(), 101'00000000);
  EXPECT_EQ(bar.low8(), 99'00000000);
  EXPECT_EQ(bar.close8(), 99'00000000);
}

TEST(TradeBar, RejectsValuesWithMoreThanEightDecimals) {
  records::Trade t;
  t.price = records::Decimal::parse("1.000000001").value();
  t.quantity = records::Decimal::parse("1").value();
  EXPECT_FALSE(tick_of(t).ok());
}

}  // namespace
}  // namespace sf::graph
