// realtime_gnn_infer as the manager runs it (the gnn-trainer program, a child process): a model
// trained on earlier bars, a graph collection growing bar by bar as realtime_graph writes it;
// predictions written, scored against the stored outcomes, live accuracy kept; the registry found
// when no MODEL_INPUT is given.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "sf/gnn/trainer.h"
#include "sf/graph/graph.h"
#include "sf/kafka/testing/embedded_kafka.h"
#include "sf/process/child.h"

namespace sf::gnn {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
constexpr int64_t kStart = 1717200000000;

// An AR(1) market: the first `train` bars as a finished graph, the rest fed later.
struct Market {
  std::vector<std::vector<store::Document>> bars;  // real-time documents, bar by bar
  std::vector<store::Document> history;            // the historical graph of the first bars
  store::Document history_meta, live_meta_open, live_meta_done;
};

Market make_market(size_t history, size_t live) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> e(0, 0.002);
  std::vector<double> r(history + live, 0);
  for (size_t i = 1; i < r.size(); ++i) r[i] = 0.5 * r[i - 1] + std::sqrt(0.75) * e(rng);
  const auto iv = *records::Interval::parse("5m");
  graph::GraphOptions hist_o, live_o;
  hist_o.lags = live_o.lags = {1, 2, 3};
  live_o.realtime = true;
  graph::GraphEngine hist(hist_o, iv, "gnn_graph"), rt(live_o, iv, "realtime_graph");
  Market m;
  double price = 100;
  for (size_t i = 0; i < r.size(); ++i) {
    const double next = price * std::exp(r[i]);
    records::Candle c;
    c.symbol = "ARRUSDT";
    c.interval = "5m";
    c.open_time = kStart + static_cast<int64_t>(i) * 300'000;
    c.close_time = c.open_time + 299'999;
    auto d = [](double v) { return records::Decimal::parse(fmt::format("{:.8f}", v)).value(); };
    c.open = d(price);
    c.close = d(next);
    c.high = d(std::max(price, next));
    c.low = d(std::min(price, next));
    c.volume = d(10);
    c.number_of_trades = 100;
    c.taker_buy_base_asset_volume = d(5);
    price = next;
    auto none = [](const std::string&) { return graph::TradeCoverage{}; };
    if (i < history) {
      EXPECT_TRUE(hist.add_candle(c).ok());
      hist.build(c.open_time, none,
                 [&](store::Document doc) { m.history.push_back(std::move(doc)); });
    }
    EXPECT_TRUE(rt.add_candle(c).ok());
    std::vector<store::Document> bar;
    rt.build(c.open_time, none, [&](store::Document doc) { bar.push_back(std::move(doc)); });
    if (i >= history) m.bars.push_back(std::move(bar));
    if (i + 1 == history) m.live_meta_open = rt.meta("", false);
  }
  hist.finish([&](store::Document doc) { m.history.push_back(std::move(doc)); });
  m.history_meta = hist.meta("", true);
  m.live_meta_done = rt.meta("", true);
  return m;
}

class InferProgram : public ::testing::Test {
 protected:
  void SetUp() override {
    kafka_.create_topic("queue-control", 1);
    kafka_.create_topic("queue-events", 1);
    dir_ = std::filesystem::temp_directory_path() /
           ("sf-infer-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    store::SqliteOptions so;
    so.path = (dir_ / "store.db").string();
    so.synchronous_full = false;
    store_ = store::open_sqlite(so).value();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<process::Child> start(std::map<std::string, std::string> extra) {
    process::SpawnOptions o;
    o.path = std::string(SF_BIN_DIR) + "/gnn-trainer";
    o.env = {{"QUEUE_ID", "wf-realtime-20240601-abcdef"},
             {"SYMBOL", "ARRUSDT"},
             {"TYPE", "realtime_gnn_infer"},
             {"TELEMETRY_PRODUCER_ID", "gnn-trainer__abcdef"},
             {"KAFKA_BOOTSTRAP_SERVERS", kafka_.bootstrap_servers()},
             {"GRAPH_COLLECTION", "graph_rt"},
             {"INFERENCE_INTERVAL", "5m"},
             {"GNN_POLL_MS", "30"},
             {"STREAMFORGE_DB", (dir_ / "store.db").string()},
             {"LOG_FORMAT", "text"},
             {"TELEMETRY_INTERVAL", "0.5"}};
    for (auto& [k, v] : extra) o.env[k] = v;
    o.log_file = (dir_ / "infer.log").string();
    return process::Child::spawn(o).value();
  }

  std::string log() {
    std::ifstream in(dir_ / "infer.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  // Trains on the history and stores the model as gnn_train would (card, chunks, registry).
  void train_model(const Market& m) {
    std::vector<std::string> docs;
    for (const auto& d : m.history) docs.push_back(d.json);
    docs.push_back(m.history_meta.json);
    auto g = graph_from_documents(docs).value();
    TrainOptions o;
    o.epochs = 40;
    o.hidden = 16;
    o.lr = 3e-3;
    o.bootstrap_resamples = 200;
    auto r = train_and_evaluate(g, o);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_TRUE(write_model(*store_, "model_ar", "graph_hist", g, o, *r, nullptr).ok());
  }

  kafka::testing::EmbeddedKafka kafka_;
  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(InferProgram, PredictsEachNewBarAndScoresItWhenTheOutcomeIsStored) {
  const auto m = make_market(2000, 120);
  train_model(m);
  ASSERT_TRUE(store_->ensure_collection("graph_rt").ok());
  ASSERT_TRUE(store_->upsert("graph_rt", {m.live_meta_open}).ok());
  auto child = start({{"MODEL_INPUT", "model_ar"}, {"GNN_LIVE_WINDOW", "1000"}});
  for (const auto& bar : m.bars) {
    ASSERT_TRUE(store_->upsert("graph_rt", bar).ok());
    std::this_thread::sleep_for(60ms);  // longer than a poll: every bar is seen as the newest
  }
  ASSERT_TRUE(store_->upsert("graph_rt", {m.live_meta_done}).ok());
  auto st = child->wait(60s);
  ASSERT_TRUE(st.has_value()) << log();
  EXPECT_EQ(st->code, 0) << log();
  store::Query q;
  q.equals["kind"] = "prediction";
  q.limit = 100'000;
  auto preds = store_->find("graph_rt", q).value();
  EXPECT_GE(preds.total, 100) << log();  // nearly every one of the 120 bars
  int scored = 0, right = 0;
  for (const auto& d : preds.documents) {
    auto p = json::parse(d).as_object();
    EXPECT_EQ(p.at("model"), "model collection model_ar");
    if (p.at("outcome").is_null()) continue;
    // The outcome is the stored node's y.r1, classed.
    auto node =
        json::parse(
            *store_->get("graph_rt", fmt::format("n:ARRUSDT:5m:{}", p.at("open_time").as_int64()))
                 .value())
            .as_object();
    const double y = node.at("y").at("r1").to_number<double>();
    EXPECT_EQ(p.at("outcome").as_int64(), y > 0 ? 1 : 0);
    EXPECT_EQ(p.at("correct").as_bool(), p.at("pred").as_int64() == p.at("outcome").as_int64());
    EXPECT_EQ(p.at("p").as_array().size(), 2u);
    EXPECT_FALSE(p.at("top_attention").as_array().empty());
    ++scored;
    right += p.at("correct").as_bool();
  }
  EXPECT_GE(scored, preds.total - 2);  // all but the newest have their outcome
  auto live = store_->get("graph_rt", "im:ARRUSDT:5m:h1").value();
  ASSERT_TRUE(live.has_value());
  auto lm = json::parse(*live).as_object();
  EXPECT_EQ(lm.at("scored").as_int64(), scored);
  EXPECT_NEAR(lm.at("accuracy").to_number<double>(), double(right) / scored, 1e-9);
  EXPECT_TRUE(lm.contains("persistence_accuracy") && lm.contains("majority_accuracy"));
  std::printf("live: %d scored, accuracy %.3f, persistence %.3f, majority %.3f\n", scored,
              lm.at("accuracy").to_number<double>(),
              lm.at("persistence_accuracy").to_number<double>(),
              lm.at("majority_accuracy").to_number<double>());
}

TEST_F(InferProgram, FindsTheModelInTheRegistryWithoutModelInput) {
  const auto m = make_market(2000, 5);
  train_model(m);
  ASSERT_TRUE(store_->ensure_collection("graph_rt").ok());
  for (const auto& bar : m.bars) ASSERT_TRUE(store_->upsert("graph_rt", bar).ok());
  ASSERT_TRUE(store_->upsert("graph_rt", {m.live_meta_done}).ok());
  auto child = start({});
  auto st = child->wait(60s);
  ASSERT_TRUE(st.has_value()) << log();
  EXPECT_EQ(st->code, 0) << log();
  store::Query q;
  q.equals["kind"] = "prediction";
  auto preds = store_->find("graph_rt", q).value();
  ASSERT_GE(preds.total, 1) << log();
  EXPECT_EQ(json::parse(preds.documents.front()).at("model"), "model collection model_ar");
}

TEST_F(InferProgram, BadVariablesExitTwo) {
  auto c = start({{"INFERENCE_INTERVAL", "7x"}});
  auto st = c->wait(20s);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->code, 2);
  EXPECT_NE(log().find("INFERENCE_INTERVAL='7x' is invalid"), std::string::npos) << log();
}

TEST_F(InferProgram, CompleteGraphWithoutAnyModelIsAnErrorWithTheCounts) {
  const auto m = make_market(100, 5);
  ASSERT_TRUE(store_->ensure_collection("graph_rt").ok());
  for (const auto& bar : m.bars) ASSERT_TRUE(store_->upsert("graph_rt", bar).ok());
  ASSERT_TRUE(store_->upsert("graph_rt", {m.live_meta_done}).ok());
  auto child = start({});
  auto st = child->wait(60s);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->code, 1) << log();
  EXPECT_NE(log().find("labelled bars"), std::string::npos) << log();
}

}  // namespace
}  // namespace sf::gnn
