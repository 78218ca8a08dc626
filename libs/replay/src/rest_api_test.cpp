#include "sf/replay/rest_api.h"

#include <gtest/gtest.h>

#include "sf/replay/testing/captures.h"

#include "sf/core/testing/manual_clock.h"
#include "sf/records/parser.h"

namespace sf::replay {
namespace {

struct Api {
  explicit Api(RestOptions o = {}) : api(testing::captures(), o, clock) {}
  RestResponse get(const std::string& path, const std::string& query = "",
                   std::string client = "1.2.3.4") {
    return api.handle({"GET", path, query, std::move(client)});
  }
  std::shared_ptr<sf::testing::ManualClock> clock = std::make_shared<sf::testing::ManualClock>(
      1'763'000'040'000);  // 2025-11-13, on a minute start
  RestApi api;
};

TEST(RestApi, ErrorsAsBinanceWritesThem) {
  Api a;
  auto r = a.get("/api/v3/klines", "symbol=NOPE&interval=1m");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({"code":-1121,"msg":"Invalid symbol."})");
  EXPECT_EQ(a.get("/api/v3/klines", "symbol=ADABTC&interval=2m").body,
            R"({"code":-1120,"msg":"Invalid interval."})");
  EXPECT_NE(a.get("/api/v3/klines", "interval=1m").body.find("-1102"), std::string::npos);
  EXPECT_NE(a.get("/api/v3/klines", "symbol=ADABTC&interval=1m&limit=1001").body.find("-1130"),
            std::string::npos);
  EXPECT_NE(a.get("/api/v3/klines", "symbol=ADABTC&interval=1m&startTime=abc").body.find("-1100"),
            std::string::npos);
  EXPECT_NE(
      a.get("/api/v3/aggTrades", "symbol=BTCUSDT&startTime=0&endTime=3600001").body.find("-1127"),
      std::string::npos);
  EXPECT_EQ(a.get("/api/v3/nothing").status, 404);
  EXPECT_EQ(a.get("/api/v3/ping").body, "{}");
  EXPECT_EQ(a.get("/api/v3/time").body, "{\"serverTime\":1763000040000}");
}

TEST(RestApi, KlinesHonourStartEndAndLimit) {
  Api a;
  records::BinanceParser p;
  auto r = a.get("/api/v3/klines", "symbol=ADABTC&interval=1m&startTime=1637971230000&limit=3");
  auto ks = p.rest_klines(r.body, "ADABTC", "1m", 1'763'000'000'000).value();
  ASSERT_EQ(ks.size(), 3u);
  EXPECT_EQ(ks[0].open_time, 1637971260000) << "open time at or after startTime";
  auto end = a.get("/api/v3/klines",
                   "symbol=ADABTC&interval=1m&startTime=1637971200000&endTime=1637971320000");
  EXPECT_EQ(p.rest_klines(end.body, "ADABTC", "1m", 0).value().size(), 3u) << "endTime inclusive";
  auto recent = a.get("/api/v3/klines", "symbol=ADABTC&interval=1m&limit=2");
  auto rk = p.rest_klines(recent.body, "ADABTC", "1m", 0).value();
  ASSERT_EQ(rk.size(), 2u);
  EXPECT_EQ(rk[1].open_time, 1638143940000) << "without startTime: the most recent";
  auto dflt = a.get("/api/v3/klines", "symbol=ADABTC&interval=1m&startTime=0");
  EXPECT_EQ(p.rest_klines(dflt.body, "ADABTC", "1m", 0).value().size(), 500u)
      << "default limit 500";
}

TEST(RestApi, AggTradesByTimeAndHistoricalTradesById) {
  Api a;
  records::BinanceParser p;
  auto agg = p.rest_agg_trades(
                  a.get("/api/v3/aggTrades", "symbol=BTCUSDT&startTime=1723161600000&limit=1").body)
                 .value();
  ASSERT_EQ(agg.size(), 1u);
  EXPECT_GE(agg[0].timestamp, 1723161600000);
  auto before =
      p.rest_trades(a.get("/api/v3/historicalTrades", "symbol=BTCUSDT&limit=1&fromId=" +
                                                          std::to_string(agg[0].first_trade_id - 1))
                        .body,
                    "BTCUSDT")
          .value();
  ASSERT_EQ(before.size(), 1u);
  EXPECT_LT(before[0].timestamp, 1723161600000)
      << "the trade before the first agg is before the start";
  auto page =
      p.rest_trades(a.get("/api/v3/historicalTrades", "symbol=BTCUSDT&limit=1000&fromId=" +
                                                          std::to_string(agg[0].first_trade_id))
                        .body,
                    "BTCUSDT")
          .value();
  ASSERT_EQ(page.size(), 1000u);
  for (size_t i = 0; i < page.size(); ++i)
    EXPECT_EQ(page[i].trade_id, agg[0].first_trade_id + static_cast<int64_t>(i));
  auto recent =
      p.rest_trades(a.get("/api/v3/trades", "symbol=BTCUSDT&limit=5").body, "BTCUSDT").value();
  ASSERT_EQ(recent.size(), 5u);
  EXPECT_EQ(recent.back().trade_id, 3735703162);
}

TEST(RestApi, WeightsThen429ThenBanFor418) {
  RestOptions o;
  o.weight_limit = 10;
  o.ban_seconds = 120;
  Api a(o);
  auto r1 = a.get("/api/v3/klines", "symbol=ADABTC&interval=1m&limit=1");
  EXPECT_EQ(r1.header("X-MBX-USED-WEIGHT-1M"), "2");
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(a.get("/api/v3/klines", "symbol=ADABTC&interval=1m&limit=1").status, 200);
  auto limited = a.get("/api/v3/klines", "symbol=ADABTC&interval=1m&limit=1");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.header("Retry-After"), "60");
  EXPECT_NE(limited.body.find("-1003"), std::string::npos);
  EXPECT_EQ(a.get("/api/v3/ping", "", "5.6.7.8").status, 200) << "limits are per IP";
  a.clock->advance(std::chrono::seconds(10));
  auto banned = a.get("/api/v3/ping");
  EXPECT_EQ(banned.status, 418) << "sent while told to wait";
  EXPECT_EQ(banned.header("Retry-After"), "120");
  a.clock->advance(std::chrono::seconds(60));
  EXPECT_EQ(a.get("/api/v3/ping").status, 418) << "still banned though the minute has passed";
  a.clock->advance(std::chrono::seconds(61));
  EXPECT_EQ(a.get("/api/v3/ping").status, 200);
  const auto s = a.api.stats();
  EXPECT_EQ(s.rate_limited_429, 1);
  EXPECT_EQ(s.banned_418, 2);
}

TEST(RestApi, FaultsAreDeterministic) {
  RestOptions o;
  o.fail_rate = 0.5;
  o.seed = 42;
  Api a(o), b(o);
  int faults = 0;
  for (int i = 0; i < 40; ++i) {
    auto x = a.get("/api/v3/klines", "symbol=ADABTC&interval=1m&limit=5");
    auto y = b.get("/api/v3/klines", "symbol=ADABTC&interval=1m&limit=5");
    EXPECT_EQ(x.status, y.status);
    EXPECT_EQ(x.body, y.body);
    records::BinanceParser p;
    if (x.status != 200 || !p.rest_klines(x.body, "ADABTC", "1m", 0).ok()) ++faults;
  }
  EXPECT_EQ(faults, 20) << "exactly half of 40 answers";
  EXPECT_EQ(a.api.stats().faults, faults);
}

}  // namespace
}  // namespace sf::replay
