#include "sf/replay/dataset.h"

#include <gtest/gtest.h>

#include "sf/replay/testing/captures.h"

#include "sf/records/parser.h"
#include "sf/replay/streams.h"

namespace sf::replay {
namespace {

std::shared_ptr<Dataset> captures() {
  return testing::captures();
}

TEST(Dataset, LoadsTheRealCaptures) {
  if (!std::filesystem::exists(std::filesystem::path(SF_DATA_DIR) / "ws")) GTEST_SKIP();
  auto ds = Dataset::load(SF_DATA_DIR).value();
  const auto* btc = ds->find("BTCUSDT");
  ASSERT_NE(btc, nullptr);
  ASSERT_EQ(btc->trades.size(), 19904u);
  EXPECT_EQ(btc->trades.front().trade_id, 3735683259);
  EXPECT_EQ(btc->trades.back().trade_id, 3735703162);
  for (size_t i = 1; i < btc->trades.size(); ++i) {
    ASSERT_EQ(btc->trades[i].trade_id, btc->trades[i - 1].trade_id + 1);
  }
  EXPECT_EQ(ds->find("ETHUSDT")->trades.size(), 14515u);
  EXPECT_EQ(ds->find("ADABTC")->klines_1m.size(), 2880u);
}

// The seed month (data.binance.vision BTCUSDT-5m-2024-06.csv) is served as the exchange's own 5m
// klines; 1m klines of the same symbol still come from its captured trades.
TEST(Dataset, ServesVisionFilesOfOtherIntervalsAsTheyAre) {
  const auto* btc = captures()->find("BTCUSDT");
  ASSERT_NE(btc, nullptr);
  const auto& five = btc->klines(*records::Interval::parse("5m"));
  const int64_t june = 1717200000000, july = 1719792000000;
  int64_t in_june = 0;
  for (const auto& k : five) in_june += k.candle.open_time >= june && k.candle.open_time < july;
  EXPECT_EQ(in_june, 8640);
  EXPECT_EQ(five.front().candle.open_time, june);
  EXPECT_EQ(five.front().candle.open.str(), "67540.01");
  EXPECT_EQ(five.front().candle.number_of_trades, 4390);
  for (size_t i = 1; i < five.size(); ++i) {
    ASSERT_LT(five[i - 1].candle.open_time, five[i].candle.open_time);
  }
  EXPECT_EQ(btc->klines(*records::Interval::parse("1m")).front().candle.open_time,
            btc->trades.front().timestamp / 60000 * 60000);
}

TEST(Dataset, GeneratedIsDeterministicAndRoundTripsThroughFiles) {
  auto a = Dataset::generate(), b = Dataset::generate();
  ASSERT_EQ(a->symbols(), b->symbols());
  EXPECT_EQ(a->find("BTCUSDT")->trades, b->find("BTCUSDT")->trades);
  EXPECT_EQ(a->find("ADABTC")->klines_1m, b->find("ADABTC")->klines_1m);
  const auto dir = std::filesystem::path(::testing::TempDir()) / "sf-generated";
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(a->write(dir).ok());
  auto back = Dataset::load(dir);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ((*back)->find("BTCUSDT")->trades, a->find("BTCUSDT")->trades);
  EXPECT_EQ((*back)->find("ETHUSDT")->trades, a->find("ETHUSDT")->trades);
  EXPECT_EQ((*back)->find("ADABTC")->klines_1m, a->find("ADABTC")->klines_1m);
}

TEST(Dataset, KlinesFromTradesAccountForEveryTrade) {
  const auto* btc = captures()->find("BTCUSDT");
  const auto& ks = btc->klines(*records::Interval::parse("1m"));
  int64_t n = 0;
  __int128 volume = 0, trades_volume = 0;
  for (const auto& k : ks) {
    n += k.candle.number_of_trades;
    volume += k.candle.volume.to_scaled8().value();
    EXPECT_EQ(k.candle.close_time, k.candle.open_time + 59'999);
    EXPECT_LE(records::compare(k.candle.low, k.candle.open), 0);
    EXPECT_GE(records::compare(k.candle.high, k.candle.close), 0);
  }
  for (const auto& t : btc->trades) trades_volume += t.quantity.to_scaled8().value();
  EXPECT_EQ(n, static_cast<int64_t>(btc->trades.size()));
  EXPECT_TRUE(volume == trades_volume);
  EXPECT_EQ(ks.front().first_trade_id, btc->trades.front().trade_id);
  EXPECT_EQ(ks.back().last_trade_id, btc->trades.back().trade_id);
}

TEST(Dataset, LargerIntervalsAggregateTheMinutes) {
  const auto* ada = captures()->find("ADABTC");
  const auto& days = ada->klines(*records::Interval::parse("1d"));
  ASSERT_EQ(days.size(), 2u);
  int64_t n = 0;
  for (int i = 0; i < 1440; ++i) n += ada->klines_1m[i].number_of_trades;
  EXPECT_EQ(days[0].candle.number_of_trades, n);
  EXPECT_EQ(days[0].candle.open, ada->klines_1m[0].open);
  EXPECT_EQ(days[0].candle.close, ada->klines_1m[1439].close);
  EXPECT_EQ(days[1].candle.close_time, ada->klines_1m.back().close_time);
  EXPECT_EQ(ada->klines(*records::Interval::parse("5m")).size(), 576u);
}

TEST(Dataset, AggTradesCoverEveryTradeOnce) {
  const auto* btc = captures()->find("BTCUSDT");
  const auto& aggs = btc->agg_trades();
  int64_t next = btc->trades.front().trade_id;
  for (const auto& a : aggs) {
    ASSERT_EQ(a.first_trade_id, next);
    ASSERT_GE(a.last_trade_id, a.first_trade_id);
    next = a.last_trade_id + 1;
  }
  EXPECT_EQ(next, btc->trades.back().trade_id + 1);
  EXPECT_LT(aggs.size(), btc->trades.size()) << "some trades share time, price and side";
}

TEST(Streams, ClosedKlineEventsEqualTheRestKlines) {
  auto msgs = build_stream(*captures(), "btcusdt@kline_1m");
  ASSERT_TRUE(msgs.ok()) << msgs.error().message;
  const auto& rest = captures()->find("BTCUSDT")->klines(*records::Interval::parse("1m"));
  records::BinanceParser p;
  std::vector<records::Candle> closed;
  int updates = 0;
  int64_t last_e = 0;
  for (const auto& m : **msgs) {
    auto c = p.ws_kline(m.json);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_GE(m.event_time, last_e) << "event times never go back";
    last_e = m.event_time;
    if (c->closed) {
      closed.push_back(*c);
    } else {
      ++updates;
    }
  }
  ASSERT_EQ(closed.size(), rest.size());
  for (size_t i = 0; i < rest.size(); ++i) EXPECT_EQ(closed[i], rest[i].candle) << i;
  EXPECT_GT(updates, static_cast<int>(rest.size())) << "x:false updates between closes";
  EXPECT_FALSE(build_stream(*captures(), "nosuch@trade").ok());
  EXPECT_FALSE(build_stream(*captures(), "btcusdt@depth").ok());
  EXPECT_FALSE(build_stream(*captures(), "btcusdt@kline_7m").ok());
}

TEST(Streams, TradeEventsRoundTripThroughTheParser) {
  auto msgs = build_stream(*captures(), "ethusdt@trade").value();
  const auto& trades = captures()->find("ETHUSDT")->trades;
  ASSERT_EQ(msgs->size(), trades.size());
  records::BinanceParser p;
  for (size_t i = 0; i < trades.size(); i += 97)
    EXPECT_EQ(p.ws_trade((*msgs)[i].json).value(), trades[i]);
}

}  // namespace
}  // namespace sf::replay
