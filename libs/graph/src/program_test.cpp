// The graph-builder program as the manager runs it: a child process on the embedded Kafka, reading
// and writing an SQLite store filled with real candles (the seed month) and real trades.
#include "sf/graph/program.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <fmt/format.h>

#include <boost/json.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "sf/kafka/testing/embedded_kafka.h"
#include "sf/process/child.h"
#include "sf/records/parser.h"
#include "sf/records/writer.h"
#include "sf/replay/dataset.h"
#include "sf/replay/testing/captures.h"
#include "sf/store/testing/fake_arango.h"

namespace sf::graph {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using Env = std::map<std::string, std::string>;

std::vector<records::Candle> seed_month() {
  std::ifstream in(std::string(SF_DATA_DIR) + "/vision/BTCUSDT-5m-2024-06.csv");
  std::vector<records::Candle> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    out.push_back(records::parse_vision_kline_row(line, "BTCUSDT", "5m").value());
  }
  return out;
}

class GraphBuilderProgram : public ::testing::Test {
 protected:
  void SetUp() override {
    kafka_.create_topic("queue-control", 1);
    kafka_.create_topic("queue-events", 1);
    dir_ = std::filesystem::temp_directory_path() /
           ("sf-graph-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    store::SqliteOptions so;
    so.path = (dir_ / "store.db").string();
    so.synchronous_full = false;
    store_ = store::open_sqlite(so).value();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  template <class R>
  void put(const std::string& collection, const std::vector<R>& records) {
    ASSERT_TRUE(store_->ensure_collection(collection).ok());
    std::vector<store::Document> docs;
    for (const auto& r : records) {
      docs.push_back(store::make_document(records::to_json(r), "").value());
      if (docs.size() == 5000) {
        ASSERT_TRUE(store_->upsert(collection, docs).ok());
        docs.clear();
      }
    }
    ASSERT_TRUE(store_->upsert(collection, docs).ok());
  }

  Env env(const std::string& inputs, const std::string& output,
          const std::string& type = "gnn_graph") {
    return {{"QUEUE_ID", "wf-historical-20240601-abcdef"},
            {"SYMBOL", "BTCUSDT"},
            {"TYPE", type},
            {"TELEMETRY_PRODUCER_ID", "graph-builder__abcdef"},
            {"KAFKA_BOOTSTRAP_SERVERS", kafka_.bootstrap_servers()},
            {"TELEMETRY_INTERVAL", "1"},
            {"COLLECTION_INPUTS", inputs},
            {"COLLECTION_OUTPUT", output},
            {"STREAMFORGE_DB", (dir_ / "store.db").string()},
            {"LOG_FORMAT", "text"}};
  }

  std::unique_ptr<process::Child> start(const Env& e, const std::string& name = "graph") {
    process::SpawnOptions o;
    o.path = std::string(SF_BIN_DIR) + "/graph-builder";
    o.env = e;
    o.log_file = (dir_ / (name + ".log")).string();
    return process::Child::spawn(o).value();
  }

  int run(const Env& e, const std::string& name = "graph") {
    auto c = start(e, name);
    auto st = c->wait(120s);
    if (!st) return -1;
    return st->signaled ? -st->code : st->code;
  }

  std::string log(const std::string& name = "graph") {
    std::ifstream in(dir_ / (name + ".log"));
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::vector<json::object> events() {
    std::vector<json::object> out;
    for (auto& m : kafka_.read_topic("queue-events", -1, 5s)) {
      auto v = json::parse(m.value).as_object();
      if (v.at("producer") == "graph-builder__abcdef") out.push_back(v);
    }
    return out;
  }

  // sha256 over every document of `collection`, sorted by key (the store orders by time, key).
  std::string hash(const std::string& collection) {
    std::map<std::string, std::string> docs;
    auto all = store_->range_by_time(collection, INT64_MIN, INT64_MAX, 10'000'000).value();
    for (auto& d : all) docs[std::string(json::parse(d).at("_key").as_string())] = d;
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    for (auto& [k, d] : docs) EVP_DigestUpdate(ctx, d.data(), d.size());
    unsigned char md[32];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    std::string hex;
    for (unsigned i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
    return hex + ":" + std::to_string(docs.size());
  }

  int64_t count(const std::string& c) {
    auto n = store_->count(c);
    return n ? *n : 0;
  }

  json::object meta(const std::string& collection) {
    auto m = store_->get(collection, "meta").value();
    return m ? json::parse(*m).as_object() : json::object{};
  }

  kafka::testing::EmbeddedKafka kafka_;
  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(GraphBuilderProgram, SeedMonthBecomesACompleteGraph) {
  const auto month = seed_month();
  ASSERT_EQ(month.size(), 8640u);
  put("btc_candles_5m_2024_06", month);
  auto e = env("btc_candles_5m_2024_06", "btc_graph_2024_06");
  e["TIME_RANGE"] = "2024-06-01:2024-06-30";
  ASSERT_EQ(run(e), 0) << log();
  const auto m = meta("btc_graph_2024_06");
  ASSERT_FALSE(m.empty());
  EXPECT_TRUE(m.at("complete").as_bool());
  EXPECT_EQ(m.at("counts").at("nodes").as_int64(), 8640);
  EXPECT_EQ(m.at("counts").at("gap_nodes").as_int64(), 0);
  EXPECT_EQ(m.at("counts").at("candles_read").as_int64(), 8640);
  EXPECT_EQ(m.at("interval"), "5m");
  EXPECT_EQ(store_->count("btc_graph_2024_06").value(), 8641);
  const auto first =
      *store_->get("btc_graph_2024_06", node_key("BTCUSDT", "5m", month[0].open_time)).value();
  EXPECT_NE(first.find("\"o\":67540.01,"), std::string::npos) << first;  // digit for digit
  auto evs = events();
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs.front().at("status"), "started");
  EXPECT_EQ(evs.back().at("status"), "finished");
  EXPECT_EQ(evs.back().at("records_written").as_int64(), 8641);
  EXPECT_EQ(evs.back().at("nodes").to_number<double>(), 8640);
  EXPECT_DOUBLE_EQ(evs.back().at("progress").to_number<double>(), 1.0);
}

TEST_F(GraphBuilderProgram, CandlesAndRealTradesWithQualityCounts) {
  const auto* data = replay::testing::captures()->find("BTCUSDT");
  ASSERT_NE(data, nullptr);
  std::vector<records::Candle> cs;
  for (const auto& k : replay::klines_from_trades(data->trades, *records::Interval::parse("1m"))) {
    cs.push_back(k.candle);
  }
  put("btc_candles_1m", cs);
  put("btc_trades", data->trades);
  ASSERT_EQ(run(env("btc_candles_1m,btc_trades", "btc_graph")), 0) << log();
  const auto m = meta("btc_graph");
  EXPECT_EQ(m.at("counts").at("quality_mismatches").as_int64(), 0);
  EXPECT_EQ(m.at("counts").at("trades_read").as_int64(), static_cast<int64_t>(data->trades.size()));
  EXPECT_EQ(m.at("counts").at("bars_with_trades").as_int64(), static_cast<int64_t>(cs.size()) - 2);
  EXPECT_EQ(m.at("inputs").as_array()[1].at("kind"), "trades");
}

TEST_F(GraphBuilderProgram, RerunAndKilledRunGiveIdenticalCollections) {
  put("btc_candles_5m_2024_06", seed_month());
  auto e = env("btc_candles_5m_2024_06", "g1");
  e["GRAPH_BATCH_SIZE"] = "50";  // many small writes: the kill lands in the middle
  ASSERT_EQ(run(e), 0) << log();
  const std::string once = hash("g1");
  ASSERT_EQ(run(e), 0) << log();
  EXPECT_EQ(hash("g1"), once);

  auto e2 = env("btc_candles_5m_2024_06", "g2");
  e2["GRAPH_BATCH_SIZE"] = "50";
  auto child = start(e2, "killed");
  for (int i = 0; i < 2000 && count("g2") < 3000; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  child->signal(SIGKILL);
  child->wait(10s);
  const int64_t partial = count("g2");
  EXPECT_GT(partial, 0);
  EXPECT_LT(partial, 8641) << "the run ended before it was killed";
  EXPECT_FALSE(meta("g2").at("complete").as_bool());
  ASSERT_EQ(run(e2, "rerun"), 0) << log("rerun");
  const std::string h1 = once.substr(0, 64), h2 = hash("g2");
  EXPECT_EQ(h2.substr(0, 64), h1);
}

TEST_F(GraphBuilderProgram, ConfigErrorsExitTwoWithOneLine) {
  put("btc_candles_5m_2024_06", seed_month());
  auto e = env("btc_candles_5m_2024_06", "g");
  auto no_inputs = e;
  no_inputs.erase("COLLECTION_INPUTS");
  EXPECT_EQ(run(no_inputs), 2);
  EXPECT_NE(log().find("COLLECTION_INPUTS is missing"), std::string::npos) << log();
  auto bad_knob = e;
  bad_knob["GRAPH_LAGS"] = "1,x";
  EXPECT_EQ(run(bad_knob), 2);
  EXPECT_NE(log().find("GRAPH_LAGS='1,x' is invalid"), std::string::npos) << log();
  auto interval = e;
  interval["INTERVAL"] = "1h";
  EXPECT_EQ(run(interval), 2);
  EXPECT_NE(log().find("INTERVAL='1h' disagrees with the candles of btc_candles_5m_2024_06"),
            std::string::npos)
      << log();
  auto same = e;
  same["COLLECTION_OUTPUT"] = "btc_candles_5m_2024_06";
  EXPECT_EQ(run(same), 2);
  auto type = e;
  type["TYPE"] = "gnn_grph";
  EXPECT_EQ(run(type), 2);
  EXPECT_NE(log().find("gnn_graph or realtime_graph"), std::string::npos) << log();
}

TEST_F(GraphBuilderProgram, MissingInputIsAnErrorNamingIt) {
  put("btc_candles_5m_2024_06", seed_month());
  ASSERT_EQ(run(env("btc_candles_5m_2024_06,btc_trades_2024_06", "g")), 1) << log();
  auto evs = events();
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs.back().at("status"), "error");
  EXPECT_NE(std::string(evs.back().at("error_message").as_string()).find("btc_trades_2024_06"),
            std::string::npos);
}

TEST_F(GraphBuilderProgram, UnreadableInputDocumentIsAnError) {
  ASSERT_TRUE(store_->ensure_collection("junk").ok());
  ASSERT_TRUE(
      store_
          ->upsert(
              "junk",
              {store::make_document(R"({"_key":"a","open_time":1,"hello":"world"})", "").value()})
          .ok());
  EXPECT_EQ(run(env("junk", "g")), 1) << log();
  auto evs = events();
  ASSERT_FALSE(evs.empty());
  EXPECT_NE(
      std::string(evs.back().at("error_message").as_string()).find("neither candles nor trades"),
      std::string::npos)
      << evs.back();
}

// realtime_graph against collections filled bar by bar (as connectors fill them), killed with -9
// halfway and restarted, ending after the loaders' and connectors' final events: the same nodes,
// bar for bar, as a historical build of the same data, and a metrics document per bar.
TEST_F(GraphBuilderProgram, RealtimeFollowsRestartsAndEndsLikeTheHistoricalBuild) {
  const auto* data = replay::testing::captures()->find("BTCUSDT");
  ASSERT_NE(data, nullptr);
  const auto m1 = *records::Interval::parse("1m");
  std::vector<records::Candle> cs;
  for (const auto& k : replay::klines_from_trades(data->trades, m1)) cs.push_back(k.candle);
  ASSERT_TRUE(store_->ensure_collection("rt_candles").ok());
  ASSERT_TRUE(store_->ensure_collection("rt_trades").ok());
  auto e = env("rt_candles,rt_trades", "rt_graph", "realtime_graph");
  e["GRAPH_POLL_MS"] = "20";
  e["GRAPH_GRACE_MS"] = "0";
  e["GRAPH_TRADE_TIMEOUT_MS"] = "60000";
  auto child = start(e, "rt1");
  size_t ti = 0;
  auto feed_bar = [&](size_t i) {
    std::vector<records::Trade> bar;
    for (; ti < data->trades.size() && data->trades[ti].timestamp <= cs[i].close_time; ++ti) {
      bar.push_back(data->trades[ti]);
    }
    put("rt_trades", bar);
    put("rt_candles", std::vector<records::Candle>{cs[i]});
  };
  auto nodes = [&] {
    store::Query q;
    q.equals["kind"] = "node";
    q.limit = 1;
    auto p = store_->find("rt_graph", q);
    return p ? p->total : 0;
  };
  const size_t half = cs.size() / 2;
  for (size_t i = 0; i < half; ++i) feed_bar(i);
  // Bars up to the last fed one's predecessor are built as soon as a later trade shows them done.
  for (int i = 0; i < 500 && nodes() < static_cast<int64_t>(half) - 1; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(nodes(), static_cast<int64_t>(half) - 1) << log("rt1");
  child->signal(SIGKILL);
  child->wait(10s);
  auto again = start(e, "rt2");
  for (size_t i = half; i < cs.size(); ++i) feed_bar(i);
  put("rt_trades", std::vector<records::Trade>(data->trades.begin() + static_cast<long>(ti),
                                               data->trades.end()));
  // The queue's inputs end: both loaders and both connectors report.
  auto p = kafka::Producer::create({kafka_.settings(), "test", {}}).value();
  for (const char* who : {"loader-ws-candles__1", "loader-ws-trades__1", "arango-connector__1",
                          "arango-connector__2"}) {
    json::object ev{{"queue_id", "wf-historical-20240601-abcdef"},
                    {"producer", who},
                    {"status", "finished"},
                    {"type", "ws_trades"},
                    {"timestamp", 1.0}};
    ASSERT_TRUE(p->send("queue-events", "q", json::serialize(ev)).ok());
  }
  ASSERT_TRUE(p->flush(10s).ok());
  auto st = again->wait(60s);
  ASSERT_TRUE(st.has_value()) << log("rt2");
  EXPECT_EQ(st->code, 0) << log("rt2");
  EXPECT_TRUE(meta("rt_graph").at("complete").as_bool());

  ASSERT_EQ(run(env("rt_candles,rt_trades", "hist_graph"), "hist"), 0) << log("hist");
  int compared = 0;
  for (const auto& c : cs) {
    const auto key = node_key("BTCUSDT", "1m", c.open_time);
    auto a = store_->get("rt_graph", key).value(), b = store_->get("hist_graph", key).value();
    ASSERT_TRUE(a.has_value()) << key;
    ASSERT_TRUE(b.has_value()) << key;
    EXPECT_EQ(*a, *b);
    EXPECT_TRUE(
        store_->get("rt_graph", "m:BTCUSDT:1m:" + std::to_string(c.open_time)).value().has_value());
    ++compared;
  }
  EXPECT_EQ(compared, static_cast<int>(cs.size()));
  EXPECT_EQ(nodes(), static_cast<int64_t>(cs.size()));
}

// On ArangoDB (its fake): a store that stays down past STORE_RETRY_BUDGET_MS is an error saying
// so; once it is back, the same run builds the graph there.
TEST_F(GraphBuilderProgram, ArangoDownPastTheBudgetThenUp) {
  store::testing::FakeArango arango("market", "sf", "pw");
  store::ArangoOptions ao;
  ao.url = arango.url();
  ao.database = "market";
  ao.user = "sf";
  ao.password = "pw";
  auto remote = store::open_arango(ao).value();
  ASSERT_TRUE(remote->ensure_collection("btc_candles_5m_2024_06").ok());
  std::vector<store::Document> docs;
  for (const auto& c : seed_month())
    docs.push_back(store::make_document(records::to_json(c), "").value());
  for (size_t i = 0; i < docs.size(); i += 2000) {
    std::vector<store::Document> part(
        docs.begin() + static_cast<long>(i),
        docs.begin() + static_cast<long>(std::min(docs.size(), i + 2000)));
    ASSERT_TRUE(remote->upsert("btc_candles_5m_2024_06", part).ok());
  }
  auto e = env("btc_candles_5m_2024_06", "btc_graph_2024_06");
  e.erase("STREAMFORGE_DB");
  e["ARANGO_URL"] = arango.url();
  e["ARANGO_DB"] = "market";
  e["ARANGO_USER"] = "sf";
  e["ARANGO_PASSWORD"] = "pw";
  e["STORE_RETRY_BUDGET_MS"] = "1500";
  arango.fail_next(1'000'000, 503);
  EXPECT_EQ(run(e, "down"), 1) << log("down");
  auto evs = events();
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs.back().at("status"), "error");
  EXPECT_NE(std::string(evs.back().at("error_message").as_string()).find("stayed unavailable"),
            std::string::npos)
      << evs.back();
  EXPECT_EQ(log("down").find("pw\""), std::string::npos);  // the password never logged
  arango.fail_next(0);
  ASSERT_EQ(run(e, "up"), 0) << log("up");
  EXPECT_EQ(arango.documents("btc_graph_2024_06").size(), 8641u);
}

}  // namespace
}  // namespace sf::graph
