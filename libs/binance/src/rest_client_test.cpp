// RestClient against the replay exchange over real HTTP on loopback. Server and client share one
// ManualClock, so minute windows, Retry-After and backoff all pass without sleeping.
#include "sf/binance/rest_client.h"

#include <gtest/gtest.h>

#include "sf/replay/testing/captures.h"

#include <set>

#include "sf/core/testing/manual_clock.h"
#include "sf/replay/server.h"

namespace sf::binance {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<replay::Dataset> data() {
  return replay::testing::captures();
}

struct Fixture {
  explicit Fixture(replay::RestOptions rest = {}, RestPolicy policy = {}) {
    replay::ServerOptions o;
    o.rest = rest;
    server = std::move(replay::ReplayServer::start(data(), o, clock).value());
    auto http = HttpClient::create(server->rest_url());
    client = std::make_unique<RestClient>(std::move(http).value(), clock, policy);
  }
  std::shared_ptr<testing::ManualClock> clock =
      std::make_shared<testing::ManualClock>(1'763'000'000'000);
  std::unique_ptr<replay::ReplayServer> server;
  std::unique_ptr<RestClient> client;
};

std::vector<records::Candle> all_klines(RestClient& c, const std::string& symbol, int64_t start,
                                        int64_t end, int limit = 1000) {
  std::vector<records::Candle> out;
  for (int64_t cursor = start; cursor <= end;) {
    auto page = c.klines(symbol, "1m", cursor, end, limit);
    EXPECT_TRUE(page.ok()) << page.error().message;
    if (!page || page->empty()) break;
    out.insert(out.end(), page->begin(), page->end());
    cursor = page->back().open_time + 60'000;
  }
  return out;
}

TEST(RestClient, KlinePagesCoverTheRangeExactlyOnce) {
  Fixture f;
  ASSERT_TRUE(f.client->load_limits("ADABTC").ok());
  EXPECT_EQ(f.client->policy().weight_limit, 6000);
  const auto got = all_klines(*f.client, "ADABTC", 1637971200000, 1638143999999);
  const auto& truth = data()->find("ADABTC")->klines_1m;
  ASSERT_EQ(got.size(), 2880u);
  ASSERT_EQ(got.size(), truth.size());
  for (size_t i = 0; i < got.size(); ++i) {
    auto expected = truth[i];
    expected.closed = true;
    EXPECT_EQ(got[i], expected) << i;
  }
}

TEST(RestClient, HistoricalTradesPageThroughEveryId) {
  Fixture f;
  const auto& truth = data()->find("BTCUSDT")->trades;
  std::vector<records::Trade> got;
  for (int64_t id = truth.front().trade_id;;) {
    auto page = f.client->historical_trades("BTCUSDT", id, 1000);
    ASSERT_TRUE(page.ok()) << page.error().message;
    if (page->empty()) break;
    got.insert(got.end(), page->begin(), page->end());
    id = page->back().trade_id + 1;
  }
  ASSERT_EQ(got.size(), truth.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], truth[i]) << i;
}

TEST(RestClient, PacesUnderTheWeightLimitWithoutA429) {
  replay::RestOptions rest;
  rest.weight_limit = 50;  // exchangeInfo (20) + 10 klines pages per minute at 80%
  Fixture f(rest);
  ASSERT_TRUE(f.client->load_limits("ADABTC").ok());
  EXPECT_EQ(f.client->policy().weight_limit, 50);
  std::vector<records::Candle> got;
  for (int64_t cursor = 1637971200000; cursor < 1638143999999;) {
    auto page = f.client->klines("ADABTC", "1m", cursor, 1638143999999, 100);
    ASSERT_TRUE(page.ok()) << page.error().message;
    if (page->empty()) break;
    got.insert(got.end(), page->begin(), page->end());
    cursor = page->back().open_time + 60'000;
  }
  EXPECT_EQ(got.size(), 2880u);
  EXPECT_GT(f.client->counters().paced_ms, 0) << "29 pages cannot fit in one minute";
  EXPECT_EQ(f.server->rest_stats().rate_limited_429, 0);
  EXPECT_EQ(f.server->rest_stats().banned_418, 0);
}

TEST(RestClient, HonoursRetryAfterSoNeverBanned) {
  replay::RestOptions rest;
  rest.weight_limit = 30;
  RestPolicy policy;
  policy.weight_share = 1.0;
  policy.weight_limit = 100000;  // the client believes the limit is huge: the server must say 429
  Fixture f(rest, policy);
  const auto got = all_klines(*f.client, "ADABTC", 1637971200000, 1638143999999, 100);
  EXPECT_EQ(got.size(), 2880u);
  EXPECT_GT(f.server->rest_stats().rate_limited_429, 0);
  EXPECT_EQ(f.server->rest_stats().banned_418, 0) << "no request while told to wait";
  EXPECT_GT(f.client->counters().rate_limited, 0);
}

TEST(RestClient, FaultyAnswersAreRetriedToTheSameResult) {
  replay::RestOptions rest;
  rest.fail_rate = 0.1;
  rest.seed = 7;
  Fixture f(rest);
  const auto got = all_klines(*f.client, "ADABTC", 1637971200000, 1638143999999);
  const auto& truth = data()->find("ADABTC")->klines_1m;
  ASSERT_EQ(got.size(), truth.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].open_time, truth[i].open_time);
  auto trades =
      f.client->historical_trades("BTCUSDT", data()->find("BTCUSDT")->trades.front().trade_id);
  ASSERT_TRUE(trades.ok());
  for (int i = 0; i < 30; ++i) {  // enough requests that some hit a fault
    ASSERT_TRUE(f.client->klines("ADABTC", "1m", 1637971200000, 1638143999999, 10).ok());
  }
  EXPECT_GT(f.server->rest_stats().faults, 0);
  EXPECT_GT(f.client->counters().retries, 0);
}

TEST(RestClient, ApiErrorsAreClearAndNotRetried) {
  Fixture f;
  auto bad = f.client->klines("NOSUCHPAIR", "1m", 0, 1, 10);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("-1121 Invalid symbol."), std::string::npos)
      << bad.error().message;
  EXPECT_FALSE(bad.error().retryable);
  auto interval = f.client->klines("ADABTC", "7m", 0, 1, 10);
  ASSERT_FALSE(interval.ok());
  EXPECT_NE(interval.error().message.find("-1120"), std::string::npos) << interval.error().message;
  EXPECT_EQ(f.client->counters().retries, 0);
}

TEST(RestClient, UnreachableApiGivesUpWithTheCause) {
  auto clock = std::make_shared<testing::ManualClock>();
  auto http = HttpClient::create("http://127.0.0.1:1");
  RestPolicy p;
  p.max_attempts = 3;
  RestClient c(std::move(http).value(), clock, p);
  auto r = c.klines("BTCUSDT", "1m", 0, 1, 10);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("cannot connect to 127.0.0.1:1"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("3 attempts"), std::string::npos);
  EXPECT_GT(clock->slept_ms(), 0) << "backed off between attempts";
}

TEST(Url, Parses) {
  auto u = Url::parse("wss://stream.binance.com:9443/ws").value();
  EXPECT_EQ(u.host, "stream.binance.com");
  EXPECT_EQ(u.port, "9443");
  EXPECT_EQ(u.path, "/ws");
  EXPECT_TRUE(u.tls());
  EXPECT_EQ(Url::parse("https://api.binance.com").value().port, "443");
  EXPECT_FALSE(Url::parse("ftp://x").ok());
  EXPECT_FALSE(Url::parse("api.binance.com").ok());
}

}  // namespace
}  // namespace sf::binance
