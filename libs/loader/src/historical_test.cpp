// loader-producer's historical loading end to end: the replay exchange serving the real captures
// over HTTP, the embedded Kafka, the worker runtime. Server and loader share a ManualClock, so
// weight windows, Retry-After and backoff pass without sleeping.
#include "sf/loader/historical.h"

#include <gtest/gtest.h>

#include <spawn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <sys/wait.h>
#include "sf/net/testing/tls_certs.h"
#include "sf/replay/testing/captures.h"

#include <boost/json.hpp>
#include <set>
#include <thread>

#include "sf/core/testing/manual_clock.h"
#include "sf/kafka/testing/embedded_kafka.h"
#include "sf/records/writer.h"
#include "sf/replay/server.h"

namespace sf::loader {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<replay::Dataset> data() {
  return replay::testing::captures();
}

struct LoadResult {
  int exit_code = -1;
  std::vector<std::string> records;
  std::vector<boost::json::object> events;
  replay::RestStats server;
};

class HistoricalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kafka_.create_topic("queue-control", 1);
    kafka_.create_topic("queue-events", 1);
  }

  // `source`: BINANCE_HISTORY_SOURCE (the REST tests pin rest; the archive tests say theirs).
  config::WorkerConfig config(const std::string& symbol, const std::string& type,
                              const std::string& range, const std::string& source = "rest") {
    std::map<std::string, std::string> env = {
        {"QUEUE_ID", "wf-test-" + std::to_string(++runs_)},
        {"SYMBOL", symbol},
        {"TYPE", type},
        {"TIME_RANGE", range},
        {"KAFKA_TOPIC", "data-" + std::to_string(runs_)},
        {"TELEMETRY_PRODUCER_ID", "loader-producer__abcdef"},
        {"KAFKA_BOOTSTRAP_SERVERS", kafka_.bootstrap_servers()},
        {"TELEMETRY_INTERVAL", "0.2"},
        {"BINANCE_HISTORY_SOURCE", source}};
    auto r = config::load_worker_config(config::map_env(env));
    EXPECT_TRUE(std::holds_alternative<config::WorkerConfig>(r));
    return std::get<config::WorkerConfig>(r);
  }

  LoadResult run(const config::WorkerConfig& cfg, replay::ServerOptions server = {},
                 std::function<void(worker::StopSource&)> during = nullptr) {
    kafka_.create_topic(cfg.kafka_topic, 1);
    auto s = replay::ReplayServer::start(data(), server, clock_).value();
    auto c = cfg;
    c.binance_api_url = s->rest_url();
    c.binance_vision_url = s->rest_url();  // the replay serves its archive under /data/
    auto rest = make_rest_client(c, clock_).value();
    worker::StopSource stop;
    std::thread helper;
    if (during) helper = std::thread([&] { during(stop); });
    LoadResult out;
    out.exit_code = worker::run_worker(
        c, [&](worker::WorkerContext& ctx) { return run_historical(ctx, *rest); },
        worker::RuntimeOptions{clock_, 30'000ms, false}, stop);
    if (helper.joinable()) helper.join();
    out.server = s->rest_stats();
    for (auto& m : kafka_.read_topic(c.kafka_topic, -1, 10s)) out.records.push_back(m.value);
    for (auto& m : kafka_.read_topic("queue-events", -1, 10s)) {
      auto ev = boost::json::parse(m.value).as_object();
      if (ev.at("queue_id").as_string() == c.queue_id) out.events.push_back(ev);
    }
    return out;
  }

  static std::vector<std::string> expected_candles(const std::vector<records::Candle>& candles) {
    std::vector<std::string> out;
    for (const auto& c : candles) out.push_back(records::to_json(c));
    return out;
  }

  kafka::testing::EmbeddedKafka kafka_;
  std::shared_ptr<testing::ManualClock> clock_ =
      std::make_shared<testing::ManualClock>(1'763'000'040'000);
  int runs_ = 0;
};

// An aggregation of 1m candles written independently of the replay exchange's own.
std::vector<records::Candle> aggregate(const std::vector<records::Candle>& minutes,
                                       int64_t period_ms, const std::string& interval) {
  std::vector<records::Candle> out;
  std::map<std::string, __int128> sums;
  for (const auto& m : minutes) {
    const int64_t open = m.open_time / period_ms * period_ms;
    if (out.empty() || out.back().open_time != open) {
      out.push_back(m);
      out.back().open_time = open;
      out.back().close_time = open + period_ms - 1;
      out.back().interval = interval;
      out.back().number_of_trades = 0;
      for (auto* d :
           {&out.back().volume, &out.back().quote_asset_volume,
            &out.back().taker_buy_base_asset_volume, &out.back().taker_buy_quote_asset_volume}) {
        *d = records::Decimal::from_scaled8(0);
      }
    }
    auto& c = out.back();
    if (records::compare(m.high, c.high) > 0) c.high = m.high;
    if (records::compare(m.low, c.low) < 0) c.low = m.low;
    c.close = m.close;
    c.number_of_trades += m.number_of_trades;
    auto add = [](records::Decimal& to, const records::Decimal& v) {
      to = records::Decimal::from_scaled8(to.to_scaled8().value() + v.to_scaled8().value());
    };
    add(c.volume, m.volume);
    add(c.quote_asset_volume, m.quote_asset_volume);
    add(c.taker_buy_base_asset_volume, m.taker_buy_base_asset_volume);
    add(c.taker_buy_quote_asset_volume, m.taker_buy_quote_asset_volume);
  }
  return out;
}

TEST_F(HistoricalTest, AdaBtcTwoDaysGivesExactlyTheVisionRows) {
  auto r = run(config("ADABTC", "api_candles_1m", "2021-11-27:2021-11-28"));
  EXPECT_EQ(r.exit_code, 0);
  const auto& minutes = data()->find("ADABTC")->klines_1m;
  ASSERT_EQ(r.records.size(), 2880u);
  EXPECT_EQ(r.records, expected_candles(minutes));
  ASSERT_FALSE(r.events.empty());
  EXPECT_EQ(r.events.front().at("status").as_string(), "started");
  EXPECT_EQ(r.events.back().at("status").as_string(), "finished");
  EXPECT_EQ(r.events.back().at("records_written").as_int64(), 2880);
  EXPECT_DOUBLE_EQ(r.events.back().at("progress").to_number<double>(), 1.0);
}

TEST_F(HistoricalTest, OtherIntervalsAreAggregationsOfTheMinutes) {
  const auto& minutes = data()->find("ADABTC")->klines_1m;
  for (auto [interval, ms] : std::vector<std::pair<std::string, int64_t>>{
           {"5m", 300'000}, {"1h", 3'600'000}, {"1d", 86'400'000}}) {
    auto r = run(config("ADABTC", "api_candles_" + interval, "2021-11-27:2021-11-28"));
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.records, expected_candles(aggregate(minutes, ms, interval))) << interval;
  }
}

TEST_F(HistoricalTest, PartialSingleDayEmptyRanges) {
  const auto& minutes = data()->find("ADABTC")->klines_1m;
  auto one_day = run(config("ADABTC", "api_candles_1m", "2021-11-28:2021-11-28"));
  EXPECT_EQ(one_day.records,
            expected_candles(std::vector<records::Candle>(minutes.begin() + 1440, minutes.end())));
  auto past_the_data = run(config("ADABTC", "api_candles_1m", "2021-11-28:2021-11-30"));
  EXPECT_EQ(past_the_data.records.size(), 1440u)
      << "the range runs past the data: only what exists";
  auto before_the_data = run(config("ADABTC", "api_candles_1m", "2021-11-25:2021-11-27"));
  EXPECT_EQ(before_the_data.records.size(), 1440u);
  auto none = run(config("ADABTC", "api_candles_1m", "2021-12-01:2021-12-02"));
  EXPECT_EQ(none.exit_code, 0);
  EXPECT_TRUE(none.records.empty());
  EXPECT_EQ(none.events.back().at("status").as_string(), "finished");
  EXPECT_EQ(none.events.back().at("records_written").as_int64(), 0);
}

TEST_F(HistoricalTest, BtcUsdtTradesAfterMidnightContiguous) {
  auto r = run(config("BTCUSDT", "api_trades", "2024-08-09:2024-08-09"));
  EXPECT_EQ(r.exit_code, 0);
  std::vector<std::string> expected;
  for (const auto& t : data()->find("BTCUSDT")->trades) {
    if (t.timestamp >= 1723161600000) expected.push_back(records::to_json(t));
  }
  ASSERT_GT(expected.size(), 10'000u);
  EXPECT_EQ(r.records, expected);
  auto before = run(config("BTCUSDT", "api_trades", "2024-08-08:2024-08-08"));
  EXPECT_EQ(before.records.size(), data()->find("BTCUSDT")->trades.size() - expected.size());
}

TEST_F(HistoricalTest, FaultsAndPacingChangeNothing) {
  replay::ServerOptions faulty;
  faulty.rest.fail_rate = 0.1;
  faulty.rest.seed = 9;  // the first answer of each run is a fault, then every 10th
  faulty.rest.weight_limit =
      60;  // exchangeInfo (20) + 1 historicalTrades page (25) per minute at 80%
  // One page at a time here: with a ManualClock every sleeping thread moves the shared time, so
  // parallel waiters would skew the windows in ways real time does not.
  auto sequential = [&](config::WorkerConfig c) {
    c.binance_parallel_pages = 1;
    return c;
  };
  auto candles =
      run(sequential(config("ADABTC", "api_candles_1m", "2021-11-27:2021-11-28")), faulty);
  EXPECT_EQ(candles.exit_code, 0);
  EXPECT_EQ(candles.records, expected_candles(data()->find("ADABTC")->klines_1m));
  EXPECT_EQ(candles.server.banned_418, 0);
  auto trades = run(sequential(config("BTCUSDT", "api_trades", "2024-08-09:2024-08-09")), faulty);
  EXPECT_EQ(trades.exit_code, 0);
  auto clean = run(config("BTCUSDT", "api_trades", "2024-08-09:2024-08-09"));
  EXPECT_EQ(trades.records, clean.records);
  EXPECT_GT(trades.server.faults + candles.server.faults, 0);
  EXPECT_EQ(trades.server.banned_418, 0);
  EXPECT_EQ(trades.server.rate_limited_429, 0) << "paced under the limit, never over it";
}

TEST_F(HistoricalTest, ParallelPagesWithFaultsKeepOrderAndExactness) {
  replay::ServerOptions faulty;
  faulty.rest.fail_rate = 0.1;
  faulty.rest.seed = 9;
  auto cfg = config("BTCUSDT", "api_trades", "2024-08-09:2024-08-09");
  cfg.binance_parallel_pages = 4;
  auto trades = run(cfg, faulty);
  EXPECT_EQ(trades.exit_code, 0);
  std::vector<std::string> expected;
  for (const auto& t : data()->find("BTCUSDT")->trades) {
    if (t.timestamp >= 1723161600000) expected.push_back(records::to_json(t));
  }
  EXPECT_EQ(trades.records, expected);
  EXPECT_GT(trades.server.faults, 0);
  auto ccfg = config("ADABTC", "api_candles_5m", "2021-11-27:2021-11-28");
  ccfg.binance_parallel_pages = 4;
  auto candles = run(ccfg, faulty);
  EXPECT_EQ(candles.records.size(), 576u);
}

// ---------------------------------------------------------------- the archive path (issue 13)

double metric(const LoadResult& r, const char* name) {
  const auto& last = r.events.back();
  return last.contains(name) ? last.at(name).to_number<double>() : -1;
}

TEST_F(HistoricalTest, ArchiveAndRestGiveIdenticalTopics) {
  struct Case {
    const char* symbol;
    const char* type;
    const char* range;
    double archive_days;
  };
  for (const Case& k : {Case{"BTCUSDT", "api_trades", "2024-08-08:2024-08-09", 2},
                        Case{"ADABTC", "api_candles_1m", "2021-11-27:2021-11-28", 2},
                        // A whole month: one monthly file (8,640 candles of the seed month).
                        Case{"BTCUSDT", "api_candles_5m", "2024-06-01:2024-06-30", 30},
                        // 2025 on, the archive's spot files are in microseconds.
                        Case{"BTCUSDT", "api_candles_5m", "2025-01-01:2025-01-31", 31}}) {
    SCOPED_TRACE(std::string(k.symbol) + " " + k.type + " " + k.range);
    auto by_rest = run(config(k.symbol, k.type, k.range, "rest"));
    auto by_archive = run(config(k.symbol, k.type, k.range, "archive"));
    EXPECT_EQ(by_rest.exit_code, 0);
    EXPECT_EQ(by_archive.exit_code, 0);
    ASSERT_GT(by_rest.records.size(), 100u);
    EXPECT_EQ(by_archive.records, by_rest.records);
    EXPECT_EQ(metric(by_archive, "archive_days"), k.archive_days);
    EXPECT_EQ(metric(by_archive, "rest_days"), 0);
    // The archive path asks REST only for the exchange's limits (and, for trades, nothing else).
    EXPECT_LT(by_archive.server.requests, 5) << by_archive.server.requests;
  }
}

TEST_F(HistoricalTest, ArchiveFaultsAreCaughtRefetchedThenAnError) {
  const auto expected = run(config("ADABTC", "api_candles_1m", "2021-11-27:2021-11-28")).records;
  ASSERT_EQ(expected.size(), 2880u);
  for (const bool checksum : {false, true}) {
    SCOPED_TRACE(checksum ? "checksum mismatch" : "corrupt zip");
    // Once: fetched again, and the load is exact.
    replay::ServerOptions once;
    (checksum ? once.vision.bad_checksum : once.vision.corrupt)["ADABTC-1m-2021-11-28.zip"] = 1;
    auto healed = run(config("ADABTC", "api_candles_1m", "2021-11-27:2021-11-28", "auto"), once);
    EXPECT_EQ(healed.exit_code, 0);
    EXPECT_EQ(healed.records, expected);
    // Every time: an error naming the file; nothing of that day was published.
    replay::ServerOptions always;
    (checksum ? always.vision.bad_checksum : always.vision.corrupt)["ADABTC-1m-2021-11-28.zip"] =
        100;
    auto failed = run(config("ADABTC", "api_candles_1m", "2021-11-27:2021-11-28", "auto"), always);
    EXPECT_EQ(failed.exit_code, 1);
    const std::string why(failed.events.back().at("error_message").as_string());
    EXPECT_NE(why.find("ADABTC-1m-2021-11-28.zip failed its check twice"), std::string::npos)
        << why;
    EXPECT_EQ(failed.records.size(), 1440u);  // the first day only, whole
    EXPECT_TRUE(std::equal(failed.records.begin(), failed.records.end(), expected.begin()));
  }
}

TEST_F(HistoricalTest, DaysTheArchiveLacksComeFromRestWithoutASeam) {
  const auto expected = run(config("BTCUSDT", "api_trades", "2024-08-08:2024-08-09")).records;
  ASSERT_GT(expected.size(), 1000u);
  // The first day missing: REST, then the archive's next day joined by trade id.
  replay::ServerOptions missing;
  missing.vision.missing = {"BTCUSDT-trades-2024-08-08.zip"};
  auto first_missing =
      run(config("BTCUSDT", "api_trades", "2024-08-08:2024-08-09", "auto"), missing);
  EXPECT_EQ(first_missing.exit_code, 0);
  EXPECT_EQ(first_missing.records, expected);
  EXPECT_EQ(metric(first_missing, "rest_days"), 1);
  EXPECT_EQ(metric(first_missing, "archive_days"), 1);
  // Recent days not published yet: the archive, then REST from where it ended.
  replay::ServerOptions recent;
  recent.vision.published_until_ms = 1723161599999;  // 2024-08-08 is published, 08-09 is not
  auto late = run(config("BTCUSDT", "api_trades", "2024-08-08:2024-08-09", "auto"), recent);
  EXPECT_EQ(late.exit_code, 0);
  EXPECT_EQ(late.records, expected);
  EXPECT_EQ(metric(late, "rest_days"), 1);
  // The candles' seam, by open time, the same way.
  const auto candles = run(config("ADABTC", "api_candles_1m", "2021-11-27:2021-11-28")).records;
  replay::ServerOptions second_missing;
  second_missing.vision.missing = {"ADABTC-1m-2021-11-28.zip"};
  auto c = run(config("ADABTC", "api_candles_1m", "2021-11-27:2021-11-28", "auto"), second_missing);
  EXPECT_EQ(c.records, candles);
  // archive (not auto): a missing day is an error that names it.
  auto strict = run(config("BTCUSDT", "api_trades", "2024-08-08:2024-08-09", "archive"), missing);
  EXPECT_EQ(strict.exit_code, 1);
  EXPECT_NE(std::string(strict.events.back().at("error_message").as_string())
                .find("no BTCUSDT-trades-2024-08-08.zip"),
            std::string::npos);
}

TEST_F(HistoricalTest, UnknownSymbolIsAnErrorEventAndExitOne) {
  auto r = run(config("NOSUCHPAIR", "api_candles_1m", "2021-11-27:2021-11-28"));
  EXPECT_EQ(r.exit_code, 1);
  ASSERT_FALSE(r.events.empty());
  EXPECT_EQ(r.events.back().at("status").as_string(), "error");
  EXPECT_NE(r.events.back().at("error_message").as_string().find("-1121 Invalid symbol."),
            std::string::npos);
}

TEST_F(HistoricalTest, StopMidLoadKeepsEverythingReadOnce) {
  replay::ServerOptions slow;
  slow.slow_ms = 200;
  auto cfg = config("BTCUSDT", "api_trades", "2024-08-09:2024-08-09");
  auto r = run(cfg, slow, [&](worker::StopSource& stop) {
    // Let a few pages through, then stop as the control topic would.
    std::this_thread::sleep_for(250ms);
    stop.request_stop("stop command");
  });
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.events.back().at("status").as_string(), "interrupted");
  const auto written = r.events.back().at("records_written").as_int64();
  EXPECT_EQ(static_cast<int64_t>(r.records.size()), written);
  std::set<std::string> distinct(r.records.begin(), r.records.end());
  EXPECT_EQ(distinct.size(), r.records.size()) << "none twice";
  EXPECT_LT(r.records.size(), 10'000u) << "it did stop early";
}

// The program itself: exit codes and messages for bad input.
std::pair<int, std::string> run_program(const std::vector<std::string>& env) {
  std::string cmd = "env -i";
  for (const auto& e : env) cmd += " '" + e + "'";
  cmd += " " + std::string(SF_BIN_DIR) + "/loader-producer 2>&1";
  FILE* f = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (fgets(buf, sizeof buf, f)) out += buf;
  const int status = pclose(f);
  return {WEXITSTATUS(status), out};
}

// HTTPS with a certificate the test makes: trusted through SSL_CERT_FILE, the exact rows; the
// real program against a certificate it does not trust exits 1 at once, naming why.
TEST_F(HistoricalTest, OverHttpsExactAndAnUntrustedCertificateIsRefusedAtOnce) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("sf-loader-tls-" + std::to_string(::getpid()));
  const auto certs = net_testing::make_test_certificates(dir);
  replay::ServerOptions so;
  so.tls_cert_file = certs.cert_file;
  so.tls_key_file = certs.key_file;
  ::setenv("SSL_CERT_FILE", certs.ca_file.c_str(), 1);
  auto r = run(config("ADABTC", "api_candles_1m", "2021-11-27:2021-11-28"), so);
  ::unsetenv("SSL_CERT_FILE");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.records, expected_candles(data()->find("ADABTC")->klines_1m));

  auto server = replay::ReplayServer::start(data(), so).value();
  const std::vector<std::string> env = {"QUEUE_ID=wf-tls",
                                        "SYMBOL=ADABTC",
                                        "TYPE=api_candles_1m",
                                        "TIME_RANGE=2021-11-27:2021-11-28",
                                        "KAFKA_TOPIC=data-tls",
                                        "TELEMETRY_PRODUCER_ID=loader-producer__tls",
                                        "KAFKA_BOOTSTRAP_SERVERS=" + kafka_.bootstrap_servers(),
                                        "BINANCE_HISTORY_SOURCE=rest",
                                        "BINANCE_API_URL=" + server->rest_url(),
                                        "LOG_FORMAT=text"};
  const auto t0 = std::chrono::steady_clock::now();
  auto untrusted = run_program(env);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(untrusted.first, 1) << untrusted.second;
  EXPECT_NE(untrusted.second.find("is not trusted: unable to get local issuer certificate"),
            std::string::npos)
      << untrusted.second;
  EXPECT_EQ(server->rest_stats().requests, 0) << "no request went over the refused connection";
  std::printf("  untrusted certificate: exit %d after %.2f s\n", untrusted.first, seconds);
  auto trusted = env;
  trusted.push_back("SSL_CERT_FILE=" + certs.ca_file);
  trusted[0] = "QUEUE_ID=wf-tls-trusted";
  auto ok = run_program(trusted);
  EXPECT_EQ(ok.first, 0) << ok.second;
  std::filesystem::remove_all(dir);
}

TEST_F(HistoricalTest, ProgramRejectsBadInputClearly) {
  std::vector<std::string> base = {"QUEUE_ID=wf-x",
                                   "SYMBOL=ADABTC",
                                   "TYPE=api_candles_1m",
                                   "TIME_RANGE=2021-11-27:2021-11-28",
                                   "KAFKA_TOPIC=data-x",
                                   "TELEMETRY_PRODUCER_ID=loader-producer__x",
                                   "KAFKA_BOOTSTRAP_SERVERS=" + kafka_.bootstrap_servers(),
                                   "LOG_FORMAT=text"};
  auto with = [&](const std::string& kv) {
    auto e = base;
    e.push_back(kv);
    return e;
  };
  auto interval = run_program(with("TYPE=api_candles_7m"));
  EXPECT_EQ(interval.first, 2);
  EXPECT_NE(interval.second.find("config error: TYPE='api_candles_7m'"), std::string::npos)
      << interval.second;
  auto malformed = run_program(with("TIME_RANGE=2021-11-27"));
  EXPECT_EQ(malformed.first, 2);
  EXPECT_NE(malformed.second.find("config error: TIME_RANGE"), std::string::npos);
  auto reversed = run_program(with("TIME_RANGE=2021-11-28:2021-11-27"));
  EXPECT_EQ(reversed.first, 2);
  EXPECT_NE(reversed.second.find("reversed"), std::string::npos);
  auto future = run_program(with("TIME_RANGE=2099-01-01:2099-01-02"));
  EXPECT_EQ(future.first, 2);
  EXPECT_NE(future.second.find("future"), std::string::npos) << future.second;
  auto unreachable = run_program(with("BINANCE_API_URL=http://127.0.0.1:1"));
  EXPECT_EQ(unreachable.first, 1) << unreachable.second;
  EXPECT_NE(unreachable.second.find("cannot connect to 127.0.0.1:1"), std::string::npos)
      << unreachable.second;
  bool error_event = false;
  for (auto& m : kafka_.read_topic("queue-events", -1, 5s)) {
    auto ev = boost::json::parse(m.value).as_object();
    if (ev.at("queue_id").as_string() == "wf-x" && ev.at("status").as_string() == "error") {
      error_event = true;
    }
  }
  EXPECT_TRUE(error_event) << "Kafka is up, so the failure is reported as an error event";
}

}  // namespace
}  // namespace sf::loader
