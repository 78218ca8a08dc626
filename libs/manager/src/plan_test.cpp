// Request validation and naming: both seeds' workflow examples, the QueueCreate form, and every
// kind of bad input, each named in the errors.
#include "sf/manager/plan.h"

#include <gtest/gtest.h>

#include "sf/records/time_range.h"

namespace sf::manager {
namespace {

const int64_t kNow = records::parse_utc_date("2026-11-22").value() + 3600'000;

std::string hex_counter() {
  static int n = 0;
  char buf[8];
  std::snprintf(buf, sizeof buf, "%06x", ++n);
  return buf;
}

const char* kSeedHistorical = R"({
  "symbol": "BTCUSDT", "time_range": "2024-06-01:2024-06-30",
  "requests": [
    {"target": "loader-producer", "type": "api_candles_5m", "interval": "5m"},
    {"target": "loader-producer", "type": "api_trades"},
    {"target": "arango-connector", "type": "api_candles_5m"},
    {"target": "arango-connector", "type": "api_trades"},
    {"target": "graph-builder", "type": "gnn_graph",
     "collection_inputs": ["btc_candles_5m_2024_06", "btc_trades_2024_06"],
     "collection_output": "btc_graph_2024_06"},
    {"target": "gnn-trainer", "type": "gnn_train", "graph_collection": "btc_graph_2024_06",
     "model_output": "gnn_model_btc_2024_06"}]})";

const char* kSeedRealtime = R"({
  "symbol": "BTCUSDT", "time_range": "2024-08-01:2024-08-01",
  "requests": [
    {"target": "loader-producer", "type": "ws_candles_1m"},
    {"target": "loader-producer", "type": "ws_trades"},
    {"target": "arango-connector", "type": "ws_candles_1m"},
    {"target": "arango-connector", "type": "ws_trades"},
    {"target": "graph-builder", "type": "realtime_graph",
     "collection_inputs": ["btc_ws_candles_1m_2024_08_01", "btc_ws_trades_2024_08_01"],
     "collection_output": "btc_graph_rt_2024_08_01"},
    {"target": "gnn-trainer", "type": "realtime_gnn_infer",
     "graph_collection": "btc_graph_rt_2024_08_01", "inference_interval": "5m"},
    {"target": "visualizer", "type": "graph_metrics_stream", "source": "btc_graph_rt_2024_08_01"}]})";

TEST(Plan, SeedHistoricalWorkflowAsWritten) {
  auto r = plan_request(kSeedHistorical, kNow, hex_counter);
  ASSERT_TRUE(r.plan.has_value()) << (r.errors.empty()
                                          ? r.parse_error
                                          : r.errors[0].field + ": " + r.errors[0].problem);
  const auto& p = *r.plan;
  EXPECT_EQ(p.kind, "historical");
  EXPECT_EQ(p.queue_id.substr(0, 25), "wf-historical-20240601-00");
  ASSERT_EQ(p.jobs.size(), 6u);
  // Connectors read their loaders' topics and write the collections the graph-builder names.
  EXPECT_EQ(p.jobs[2].kafka_topic, p.jobs[0].kafka_topic);
  EXPECT_EQ(p.jobs[0].kafka_topic, p.queue_id + "-api_candles_5m");
  EXPECT_EQ(p.jobs[2].collection, "btc_candles_5m_2024_06");
  EXPECT_EQ(p.jobs[3].collection, "btc_trades_2024_06");
  EXPECT_EQ(p.jobs[4].waits_for,
            (std::vector<std::string>{"btc_candles_5m_2024_06", "btc_trades_2024_06"}));
  EXPECT_EQ(p.jobs[5].waits_for, (std::vector<std::string>{"btc_graph_2024_06"}));
  for (const auto& j : p.jobs) {
    EXPECT_TRUE(dns1123_label(j.job_name)) << j.job_name;
    EXPECT_EQ(j.producer_id.substr(0, j.target.size() + 2), j.target + "__");
  }
}

TEST(Plan, SeedRealtimeWorkflowAsWritten) {
  auto r = plan_request(kSeedRealtime, kNow, hex_counter);
  ASSERT_TRUE(r.plan.has_value());
  const auto& p = *r.plan;
  EXPECT_EQ(p.kind, "realtime");
  ASSERT_EQ(p.jobs.size(), 7u);
  EXPECT_EQ(p.jobs[2].collection, "btc_ws_candles_1m_2024_08_01");
  EXPECT_EQ(p.jobs[3].collection, "btc_ws_trades_2024_08_01");
  for (const auto& j : p.jobs) {
    EXPECT_TRUE(j.realtime) << j.target;
    EXPECT_TRUE(j.waits_for.empty()) << j.target;  // real-time jobs all start at once
  }
}

TEST(Plan, QueueCreateFormsIncludingTheSeedsCoarseTypes) {
  auto a = plan_request(R"({"symbol":"BTCUSDT","type":"api","time_range":"2024-01-01:2024-01-03"})",
                        kNow, hex_counter);
  ASSERT_TRUE(a.plan.has_value());
  ASSERT_EQ(a.plan->jobs.size(), 2u);
  EXPECT_EQ(a.plan->jobs[0].type, "api_candles_1m");
  EXPECT_EQ(a.plan->jobs[1].target, "arango-connector");
  EXPECT_EQ(a.plan->jobs[1].collection, "btc_candles_1m_2024_01");
  auto b = plan_request(
      R"({"symbol":"ETHUSDT","type":"api_candles","interval":"1h","time_range":"2024-01-01:2024-02-03"})",
      kNow, hex_counter);
  ASSERT_TRUE(b.plan.has_value());
  EXPECT_EQ(b.plan->jobs[0].type, "api_candles_1h");
  EXPECT_EQ(b.plan->jobs[1].collection, "eth_candles_1h_2024_01_2024_02");
  auto c = plan_request(R"({"symbol":"BTCUSDT","type":"ws_trade"})", kNow, hex_counter);
  ASSERT_TRUE(c.plan.has_value());
  EXPECT_EQ(c.plan->jobs[0].type, "ws_trades");
  EXPECT_EQ(c.plan->jobs[1].collection, "btc_ws_trades_2026_11_22");
}

struct BadCase {
  const char* body;
  const char* field;
};

TEST(Plan, EveryBadInputIsNamed) {
  const BadCase cases[] = {
      {R"({"symbol":"btc usdt","type":"api_trades","time_range":"2024-01-01:2024-01-02"})",
       "symbol"},
      {R"({"symbol":"BTCUSDT","type":"api_candles_7m","time_range":"2024-01-01:2024-01-02"})",
       "type"},
      {R"({"symbol":"BTCUSDT","type":"api_trades"})", "time_range"},
      {R"({"symbol":"BTCUSDT","type":"api_trades","time_range":"2024-01-05:2024-01-02"})",
       "time_range"},
      {R"({"symbol":"BTCUSDT","type":"api_trades","time_range":"2027-01-01:2027-01-02"})",
       "time_range"},
      {R"({"symbol":"BTCUSDT","type":"api_candles_1m","interval":"1h","time_range":"2024-01-01:2024-01-02"})",
       "interval"},
      {R"({"symbol":"BTCUSDT","time_range":"2024-01-01:2024-01-02","requests":[{"target":"loader-x","type":"api_trades"}]})",
       "requests[0].target"},
      {R"({"symbol":"BTCUSDT","time_range":"2024-01-01:2024-01-02","requests":[{"target":"arango-connector","type":"api_trades"}]})",
       "requests"},
      {R"({"symbol":"BTCUSDT","time_range":"2024-01-01:2024-01-02","requests":[{"target":"graph-builder","type":"gnn_graph","collection_inputs":["a"]}]})",
       "requests[0].collection_output"},
      {R"({"symbol":"BTCUSDT","time_range":"2024-01-01:2024-01-02","requests":[{"target":"gnn-trainer","type":"gnn_train","graph_collection":"g"}]})",
       "requests[0].model_output"},
      {R"({"symbol":"BTCUSDT","requests":[{"target":"gnn-trainer","type":"realtime_gnn_infer","graph_collection":"g","inference_interval":"7x"}]})",
       "requests[0].inference_interval"},
      {R"({"symbol":"BTCUSDT","requests":[]})", "requests"},
      {R"({"symbol":"BTCUSDT","requests":[{"target":"loader-ws-trades","type":"ws_candles_1m"}]})",
       "requests[0].type"},
      {R"({"symbol":"BTCUSDT","requests":[{"target":"loader-producer","type":"ws_trades"},{"target":"loader-producer","type":"ws_trades"}]})",
       "requests"},
      {R"({"symbol":5,"type":"ws_trades"})", "symbol"},
      // Review #24: the control plane's collections are not a workflow's to write or read.
      {R"({"symbol":"BTCUSDT","time_range":"2024-01-01:2024-01-02","requests":[{"target":"graph-builder","type":"gnn_graph","collection_inputs":["a"],"collection_output":"queue_state"}]})",
       "requests[0].collection_output"},
      {R"({"symbol":"BTCUSDT","time_range":"2024-01-01:2024-01-02","requests":[{"target":"graph-builder","type":"gnn_graph","collection_inputs":["queue_state"],"collection_output":"g"}]})",
       "requests[0].collection_inputs[0]"},
      {R"({"symbol":"BTCUSDT","time_range":"2024-01-01:2024-01-02","requests":[{"target":"gnn-trainer","type":"gnn_train","graph_collection":"g","model_output":"sf_models"}]})",
       "requests[0].model_output"},
      {R"({"symbol":"BTCUSDT","requests":[{"target":"gnn-trainer","type":"realtime_gnn_infer","graph_collection":"queue_state","inference_interval":"5m"}]})",
       "requests[0].graph_collection"},
  };
  for (const auto& c : cases) {
    auto r = plan_request(c.body, kNow, hex_counter);
    EXPECT_FALSE(r.plan.has_value()) << c.body;
    bool named = false;
    for (const auto& e : r.errors) {
      named |= e.field == c.field;
      EXPECT_FALSE(e.expected.empty());
    }
    EXPECT_TRUE(named) << c.body << " -> " << (r.errors.empty() ? "no errors" : r.errors[0].field);
  }
  // Several problems at once are all reported.
  auto many = plan_request(R"({"symbol":"x","type":"nope"})", kNow, hex_counter);
  EXPECT_GE(many.errors.size(), 2u);
  EXPECT_FALSE(plan_request("{not json", kNow, hex_counter).parse_error.empty());
  EXPECT_FALSE(plan_request("[1]", kNow, hex_counter).parse_error.empty());
}

TEST(Naming, AssetsCollectionsAndJobNames) {
  EXPECT_EQ(base_asset("BTCUSDT"), "btc");
  EXPECT_EQ(base_asset("ETHBTC"), "eth");
  EXPECT_EQ(base_asset("ADAFDUSD"), "ada");
  const auto june = records::TimeRange::parse("2024-06-01:2024-06-30").value();
  EXPECT_EQ(collection_name("BTCUSDT", "api_candles_5m", june, kNow), "btc_candles_5m_2024_06");
  EXPECT_EQ(collection_name("BTCUSDT", "api_candles_1M", june, kNow), "btc_candles_1M_2024_06");
  const std::string long_queue = "wf-historical-20240601-abcdef";
  const std::string name = job_name(long_queue, "arango-connector", "ws_candles_1M");
  EXPECT_TRUE(dns1123_label(name)) << name;
  EXPECT_NE(name, job_name(long_queue, "arango-connector", "ws_candles_1m"));
  EXPECT_LE(job_name(long_queue, "loader-producer-with-a-very-long-name-indeed",
                     "api_candles_12h_and_more_words")
                .size(),
            63u);
  EXPECT_FALSE(dns1123_label("Bad_Name"));
  EXPECT_FALSE(dns1123_label(std::string(64, 'a')));
}

}  // namespace
}  // namespace sf::manager
