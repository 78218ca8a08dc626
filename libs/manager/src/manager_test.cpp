// The queue-manager end to end on the embedded stack: its HTTP API and WebSocket over loopback,
// the embedded Kafka, SQLite, the local launcher running the real programs, and the replay
// exchange serving the real captures.
#include <gtest/gtest.h>
#include <unistd.h>

#include <sys/wait.h>
#include <boost/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <openssl/evp.h>

#include <cstring>

#include "sf/kafka/testing/embedded_kafka.h"
#include "sf/net/testing/raw_client.h"
#ifdef SF_HAVE_TRAINER
#include "sf/gnn/trainer.h"
#include "sf/graph/graph.h"
#endif
#include "sf/log/log.h"
#include "sf/manager/api.h"
#include "sf/manager/service.h"
#include "sf/manager/state.h"
#include "sf/net/transport.h"
#include "sf/records/time_range.h"
#include "sf/replay/server.h"
#include "sf/replay/testing/captures.h"
#include "sf/store/store.h"

namespace sf::manager {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

template <class F>
bool eventually_true(F f, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return f();
}

class ManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kafka_.create_topic("queue-control", 1);
    kafka_.create_topic("queue-events", 1);
    dir_ = std::filesystem::temp_directory_path() /
           ("sf-manager-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    replay::ServerOptions so;
    replay_ = replay::ReplayServer::start(replay::testing::captures(), so).value();
    cfg_.kafka = kafka_.settings();
    cfg_.worker_bootstrap = kafka_.bootstrap_servers();
    cfg_.binance_api_url = replay_->rest_url();
    cfg_.binance_ws_url = replay_->ws_url();
    cfg_.binance_vision_url = replay_->rest_url();
    cfg_.telemetry_interval = "0.5";
    cfg_.store.sqlite.path = (dir_ / "state.db").string();
    cfg_.stop_grace = 5s;
    cfg_.death_grace = 1500ms;
    cfg_.tick = 100ms;
  }
  void TearDown() override {
    server_.reset();
    manager_.reset();
  }

  void start_manager(const std::string& token = "", std::shared_ptr<store::Store> st = nullptr,
                     std::unique_ptr<Launcher> launcher = nullptr) {
    store::SqliteOptions so;
    so.path = cfg_.store.sqlite.path;
    if (!st) st = store::open_sqlite(so).value();
    LocalLauncherOptions lo;
    lo.bin_dir = SF_BIN_DIR;
    lo.log_dir = (dir_ / "logs").string();
    metrics_ = std::make_shared<Metrics>();
    if (!launcher) launcher = make_local_launcher(lo);
    auto m = QueueManager::start(cfg_, st, std::move(launcher), metrics_);
    ASSERT_TRUE(m.ok()) << m.error().message;
    manager_ = std::move(m).value();
    ApiOptions ao;
    ao.host = "127.0.0.1";
    ao.port = 0;
    ao.api_token = token;
    ao.heartbeat = 500ms;
    ao.ready_check = 200ms;
    ao.swagger_dir = (dir_ / "swagger").string();
    auto s = ApiServer::start(*manager_, metrics_, ao);
    ASSERT_TRUE(s.ok()) << s.error().message;
    server_ = std::move(s).value();
    http_ = net::HttpClient::create(server_->url()).value();
  }

  net::HttpResponse call(const std::string& method, const std::string& target,
                         const std::string& body = "", const std::string& token = "") {
    net::HttpRequest r;
    r.method = method;
    r.target = target;
    r.body = body;
    if (!token.empty()) r.headers["Authorization"] = "Bearer " + token;
    r.idempotent = method != "POST";
    auto res = http_->request(r);
    EXPECT_TRUE(res.ok()) << (res ? "" : res.error().message);
    return res ? *res : net::HttpResponse{};
  }

  json::object data(const net::HttpResponse& r) {
    auto v = json::parse(r.body).as_object();
    EXPECT_TRUE(v.contains("status") && v.contains("message") && v.contains("data")) << r.body;
    return v;
  }

  std::string start(const std::string& body) {
    auto r = call("POST", "/queues/start", body);
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) return "";
    return std::string(data(r).at("data").at("queue_id").as_string());
  }

  json::object queue(const std::string& id) {
    auto r = call("GET", "/queues/" + id);
    EXPECT_EQ(r.status, 200) << r.body;
    return data(r).at("data").as_object();
  }

  // Polls until the queue's status is one of `want` (or the time is up); returns the last state.
  json::object wait_status(const std::string& id, std::set<std::string> want,
                           std::chrono::seconds timeout = 60s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    json::object q;
    while (std::chrono::steady_clock::now() < deadline) {
      q = queue(id);
      if (want.count(std::string(q.at("status").as_string()))) return q;
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "queue " << id << " never reached the wanted status: " << json::serialize(q);
    return q;
  }

  kafka::testing::EmbeddedKafka kafka_;
  std::filesystem::path dir_;
  std::unique_ptr<replay::ReplayServer> replay_;
  ManagerConfig cfg_;
  std::shared_ptr<Metrics> metrics_;
  std::unique_ptr<QueueManager> manager_;
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<net::HttpClient> http_;
};

// The manager's store, with faults switched on and off by the test: writes that fail (a full
// disk, a locked database, ArangoDB down) and a ping that hangs (a store that never answers).
class FaultyStore : public store::Store {
 public:
  explicit FaultyStore(std::shared_ptr<store::Store> inner) : inner_(std::move(inner)) {}
  std::atomic<bool> fail_writes{false}, hang{false}, hang_reads{false};
  std::atomic<int> hung_reads{0};
  std::atomic<int> failed_writes{0};

  std::string describe() const override { return "faulty:" + inner_->describe(); }
  Status ping() override {
    while (hang) std::this_thread::sleep_for(10ms);
    return inner_->ping();
  }
  Status ensure_collection(const std::string& c) override { return inner_->ensure_collection(c); }
  Result<store::WriteResult> upsert(const std::string& c,
                                    const std::vector<store::Document>& docs) override {
    if (fail_writes) {
      ++failed_writes;
      return make_error("database or disk is full (SQLITE_FULL, injected by the test)");
    }
    return inner_->upsert(c, docs);
  }
  Result<std::optional<std::string>> get(const std::string& c, const std::string& k) override {
    if (hang_reads) {
      ++hung_reads;
      while (hang_reads) std::this_thread::sleep_for(10ms);
    }
    return inner_->get(c, k);
  }
  Result<std::vector<std::string>> range_by_time(const std::string& c, int64_t a, int64_t b,
                                                 int64_t n) override {
    return inner_->range_by_time(c, a, b, n);
  }
  Result<int64_t> count(const std::string& c) override { return inner_->count(c); }
  Result<store::Page> find(const std::string& c, const store::Query& q) override {
    return inner_->find(c, q);
  }

 private:
  std::shared_ptr<store::Store> inner_;
};

const char* kAdaWorkflow = R"({"symbol":"ADABTC","time_range":"2021-11-27:2021-11-28","requests":[
  {"target":"loader-producer","type":"api_candles_1m"},
  {"target":"arango-connector","type":"api_candles_1m"}]})";

// A launcher that answers alive() only when the test lets it (a slow Kubernetes API at start-up).
class SlowToAnswerLauncher final : public Launcher {
 public:
  explicit SlowToAnswerLauncher(std::shared_future<void> go) : go_(std::move(go)) {}
  std::string kind() const override { return "slow"; }
  Result<Launched> launch(const LaunchSpec&) override { return make_error("not in this test"); }
  std::vector<JobEnd> reap() override { return {}; }
  Status kill(const std::string&) override { return ok_status(); }
  std::optional<bool> alive(const std::string&, int64_t, int64_t) override {
    go_.wait();
    return true;
  }
  void shutdown(std::chrono::milliseconds) override {}

 private:
  std::shared_future<void> go_;
};

// Review #16: the start-up checks of the earlier run's jobs happen once the API listens, without
// the manager's lock; /health/startup says how far they are and turns 200 when they are done.
TEST_F(ManagerTest, StartupChecksRunOnceTheApiListensAndTheStartupProbeFollowsThem) {
  {
    store::SqliteOptions so;
    so.path = cfg_.store.sqlite.path;
    auto st = store::open_sqlite(so).value();
    ASSERT_TRUE(st->ensure_collection("queue_state").ok());
    QueueState q;
    q.id = "wf-realtime-20240801-aaaaaa";
    q.symbol = "BTCUSDT";
    q.created_at_ms = 1;
    for (const char* name : {"sf-aaaaaa-loader-producer-ws-trades", "sf-aaaaaa-arango-connector"}) {
      JobState j;
      j.plan.job_name = name;
      j.plan.target = "loader-producer";
      j.plan.type = "ws_trades";
      j.plan.producer_id = std::string(name) + "__p";
      j.status = "loading";
      q.jobs.push_back(j);
    }
    q.derive_status("2024-08-01T00:00:00.000Z");
    ASSERT_TRUE(st->upsert("queue_state", {{q.id, to_json(q), q.created_at_ms}}).ok());
  }
  std::promise<void> go;
  start_manager("", nullptr, std::make_unique<SlowToAnswerLauncher>(go.get_future().share()));
  auto r = call("GET", "/health/startup");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("starting:"), std::string::npos) << r.body;
  EXPECT_EQ(call("GET", "/health/live").status, 200);
  // Reads do not wait for the checks: they do not hold the manager's lock.
  EXPECT_EQ(queue("wf-realtime-20240801-aaaaaa").at("status").as_string(), "loading");
  go.set_value();
  int status = 0;
  for (int i = 0; i < 200 && status != 200; ++i) {
    status = call("GET", "/health/startup").status;
    if (status != 200) std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(status, 200);
}

TEST_F(ManagerTest, HistoricalWorkflowRunsToFinishedAndTheWebSocketSeesEachTransition) {
  start_manager();
  auto ws =
      net::WsClient::connect("ws://127.0.0.1:" + std::to_string(server_->port()) + "/ws/topic")
          .value();
  EXPECT_NE(ws->read(5s).value().find("\"connected\""), std::string::npos);
  const std::string id = start(kAdaWorkflow);
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(id.substr(0, 23), "wf-historical-20211127-");
  auto q = wait_status(id, {"finished", "error", "interrupted"});
  ASSERT_EQ(q.at("status").as_string(), "finished") << json::serialize(q);
  EXPECT_EQ(q.at("records_written").as_int64(), 2880);
  const auto& jobs = q.at("jobs").as_array();
  ASSERT_EQ(jobs.size(), 2u);
  for (const auto& j : jobs) {
    EXPECT_EQ(j.at("status").as_string(), "finished") << json::serialize(j);
    EXPECT_EQ(j.at("records_written").as_int64(), 2880);
    EXPECT_FALSE(j.at("started_at").is_null());
    EXPECT_FALSE(j.at("finished_at").is_null());
  }
  const std::string collection(jobs[1].at("collection").as_string());
  EXPECT_EQ(collection, "ada_candles_1m_2021_11");
  store::SqliteOptions so;
  so.path = cfg_.store.sqlite.path;
  EXPECT_EQ(store::open_sqlite(so).value()->count(collection).value(), 2880);

  // The WebSocket saw the queue go through loading to finished, each change once, in order.
  std::vector<std::string> statuses;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto m = ws->read(1s);
    if (!m) continue;
    auto v = json::parse(*m).as_object();
    if (v.at("event").as_string() != "queue") continue;
    const std::string s(v.at("status").as_string());
    if (statuses.empty() || statuses.back() != s) statuses.push_back(s);
    if (s == "finished") break;
  }
  ASSERT_FALSE(statuses.empty());
  EXPECT_EQ(statuses.back(), "finished");
  EXPECT_NE(std::find(statuses.begin(), statuses.end(), "loading"), statuses.end());

  // Stopping a finished queue is a conflict.
  EXPECT_EQ(call("POST", "/queues/stop?queue_id=" + id).status, 409);
  // Metrics saw it.
  auto metrics = call("GET", "/metrics").body;
  EXPECT_NE(
      metrics.find(
          "streamforge_jobs_finished_total{status=\"finished\",target=\"loader-producer\"} 1"),
      std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("streamforge_queues{status=\"finished\"} 1"), std::string::npos);
  EXPECT_NE(
      metrics.find("streamforge_http_request_duration_seconds_bucket{route=\"/queues/start\",le="),
      std::string::npos);
}

// The seeds' historical workflow shape on real captured trades (BTCUSDT across midnight
// 2024-08-08/09): loaders -> connectors -> graph-builder, which waits for both collections.
TEST_F(ManagerTest, HistoricalWorkflowBuildsTheGraphAfterItsInputs) {
  start_manager();
  const std::string id =
      start(R"({"symbol":"BTCUSDT","time_range":"2024-08-08:2024-08-09","requests":[
    {"target":"loader-producer","type":"api_candles_1m"},
    {"target":"loader-producer","type":"api_trades"},
    {"target":"arango-connector","type":"api_candles_1m"},
    {"target":"arango-connector","type":"api_trades"},
    {"target":"graph-builder","type":"gnn_graph","collection_inputs":["btc_candles_1m_2024_08","btc_trades_2024_08"],"collection_output":"btc_graph_2024_08"}]})");
  ASSERT_FALSE(id.empty());
  auto q = wait_status(id, {"finished", "error", "interrupted"}, 120s);
  ASSERT_EQ(q.at("status").as_string(), "finished") << json::serialize(q);
  const auto& gb = q.at("jobs").as_array()[4].as_object();
  EXPECT_EQ(gb.at("target"), "graph-builder");
  EXPECT_EQ(gb.at("status"), "finished") << json::serialize(gb);
  const auto& m = gb.at("metrics").as_object();
  EXPECT_GT(m.at("nodes").to_number<double>(), 2);
  EXPECT_EQ(m.at("quality_mismatches").to_number<double>(), 0) << json::serialize(gb);
  EXPECT_GT(m.at("trades_read").to_number<double>(), 10'000);
  store::SqliteOptions so;
  so.path = cfg_.store.sqlite.path;
  auto st = store::open_sqlite(so).value();
  auto meta = json::parse(*st->get("btc_graph_2024_08", "meta").value()).as_object();
  EXPECT_TRUE(meta.at("complete").as_bool());
  EXPECT_EQ(meta.at("counts").at("nodes").as_int64(), st->count("btc_candles_1m_2024_08").value());
  EXPECT_EQ(meta.at("counts").at("nodes").to_number<double>(), m.at("nodes").to_number<double>());
}

// The seed month itself (8,640 real 5m candles of June 2024, served by the replay exchange from
// data.binance.vision's file) through loader -> connector -> graph-builder.
TEST_F(ManagerTest, SeedMonthWorkflowReachesACompleteGraph) {
  start_manager();
  const std::string id =
      start(R"({"symbol":"BTCUSDT","time_range":"2024-06-01:2024-06-30","requests":[
    {"target":"loader-producer","type":"api_candles_5m","interval":"5m"},
    {"target":"arango-connector","type":"api_candles_5m"},
    {"target":"graph-builder","type":"gnn_graph","collection_inputs":["btc_candles_5m_2024_06"],"collection_output":"btc_graph_2024_06"}]})");
  ASSERT_FALSE(id.empty());
  auto q = wait_status(id, {"finished", "error", "interrupted"}, 180s);
  ASSERT_EQ(q.at("status").as_string(), "finished") << json::serialize(q);
  EXPECT_EQ(q.at("jobs").as_array()[2].at("metrics").at("nodes").to_number<double>(), 8640);
  store::SqliteOptions so;
  so.path = cfg_.store.sqlite.path;
  auto st = store::open_sqlite(so).value();
  auto meta = json::parse(*st->get("btc_graph_2024_06", "meta").value()).as_object();
  EXPECT_TRUE(meta.at("complete").as_bool());
  EXPECT_EQ(meta.at("counts").at("gap_nodes").as_int64(), 0);
}

#ifdef SF_HAVE_TRAINER
// The seeds' historical shape to its end: candles -> connector -> graph-builder -> gnn-trainer, on
// the real seed month; the model card holds the test scores beside the baselines, the weight
// chunks reassemble to their sha256, every test node has a prediction.
TEST_F(ManagerTest, SeedMonthWorkflowEndsWithAModelCard) {
  cfg_.worker_env["GNN_EPOCHS"] = "25";
  start_manager();
  const std::string id =
      start(R"({"symbol":"BTCUSDT","time_range":"2024-06-01:2024-06-30","requests":[
    {"target":"loader-producer","type":"api_candles_5m","interval":"5m"},
    {"target":"arango-connector","type":"api_candles_5m"},
    {"target":"graph-builder","type":"gnn_graph","collection_inputs":["btc_candles_5m_2024_06"],"collection_output":"btc_graph_2024_06"},
    {"target":"gnn-trainer","type":"gnn_train","graph_collection":"btc_graph_2024_06","model_output":"gnn_model_btc_2024_06"}]})");
  ASSERT_FALSE(id.empty());
  auto q = wait_status(id, {"finished", "error", "interrupted"}, 300s);
  ASSERT_EQ(q.at("status").as_string(), "finished") << json::serialize(q);
  const auto& trainer = q.at("jobs").as_array()[3].as_object();
  EXPECT_EQ(trainer.at("target"), "gnn-trainer");
  EXPECT_GT(trainer.at("metrics").at("test_accuracy").to_number<double>(), 0.3);
  store::SqliteOptions so;
  so.path = cfg_.store.sqlite.path;
  auto st = store::open_sqlite(so).value();
  auto model = json::parse(*st->get("gnn_model_btc_2024_06", "model").value()).as_object();
  const auto& m = model.at("metrics").as_object();
  for (const char* b : {"majority", "persistence", "no_graph"}) {
    EXPECT_TRUE(m.at("baselines").as_object().contains(b));
  }
  const int64_t n_test = m.at("test").at("n").as_int64();
  EXPECT_GT(n_test, 1000);
  EXPECT_EQ(m.at("baselines").at("majority").at("n").as_int64(), n_test);
  EXPECT_EQ(model.at("split").at("embargo_bars").as_int64(), 1);
  EXPECT_LT(model.at("split").at("train").at("to_ms").as_int64(),
            model.at("split").at("val").at("from_ms").as_int64());
  EXPECT_LT(model.at("split").at("val").at("to_ms").as_int64(),
            model.at("split").at("test").at("from_ms").as_int64());
  store::Query preds;
  preds.equals["kind"] = "prediction";
  EXPECT_EQ(st->find("gnn_model_btc_2024_06", preds).value().total, n_test);
  // Weight chunks -> bytes -> sha256.
  const auto& w = model.at("weights").as_object();
  std::string bytes;
  for (int64_t c = 0; c < w.at("chunks").as_int64(); ++c) {
    char key[32];
    std::snprintf(key, sizeof key, "weights:%04lld", static_cast<long long>(c));
    auto doc = json::parse(*st->get("gnn_model_btc_2024_06", key).value()).as_object();
    const std::string b64(doc.at("base64").as_string());
    std::string out;
    int val = 0, bits = -8;
    for (char ch : b64) {
      const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      const char* at = std::strchr(t, ch);
      if (!at || ch == '\0') break;
      val = (val << 6) + static_cast<int>(at - t);
      bits += 6;
      if (bits >= 0) {
        out.push_back(static_cast<char>((val >> bits) & 0xFF));
        bits -= 8;
      }
    }
    bytes += out;
  }
  EXPECT_EQ(static_cast<int64_t>(bytes.size()), w.at("bytes").as_int64());
  unsigned char md[32];
  unsigned len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    char h[3];
    std::snprintf(h, sizeof h, "%02x", md[i]);
    hex += h;
  }
  EXPECT_EQ(hex, std::string(w.at("sha256").as_string()));
  EXPECT_TRUE(st->get("gnn_models", "gnn_model_btc_2024_06").value().has_value());
  std::printf("seed month model card: %s\n", std::string(model.at("summary").as_string()).c_str());
}
#endif

// The seeds' real-time tail: live inference and the graph's visualizer (when this build has them).
#ifdef SF_HAVE_TRAINER
const std::string kRealtimeTail = R"(,
    {"target":"gnn-trainer","type":"realtime_gnn_infer","graph_collection":"btc_graph_rt","inference_interval":"1m"},
    {"target":"visualizer","type":"graph_metrics_stream","source":"btc_graph_rt"}]})";
#else
const std::string kRealtimeTail = R"(,
    {"target":"visualizer","type":"graph_metrics_stream","source":"btc_graph_rt"}]})";
#endif

#ifdef SF_HAVE_TRAINER
// A model for BTCUSDT 1m in the registry, as an earlier gnn_train would have left it: trained here
// on a synthetic history through the real graph engine (the captures hold 12 minutes of trades,
// too few bars to train on).
void seed_registry(store::Store& st) {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> e(0, 0.001);
  graph::GraphEngine eng({}, *records::Interval::parse("1m"), "gnn_graph");
  std::vector<std::string> docs;
  auto sink = [&](store::Document d) { docs.push_back(std::move(d.json)); };
  double price = 60000, r = 0;
  for (int i = 0; i < 1500; ++i) {
    r = 0.3 * r + e(rng);
    const double next = price * std::exp(r);
    records::Candle c;
    c.symbol = "BTCUSDT";
    c.interval = "1m";
    c.open_time = 1722000000000 + int64_t{i} * 60'000;
    c.close_time = c.open_time + 59'999;
    auto d = [](double v) {
      return records::Decimal::parse(std::to_string(v).substr(0, 12)).value();
    };
    c.open = d(price);
    c.close = d(next);
    c.high = d(std::max(price, next));
    c.low = d(std::min(price, next));
    c.volume = d(5);
    c.number_of_trades = 100;
    c.taker_buy_base_asset_volume = d(2);
    ASSERT_TRUE(eng.add_candle(c).ok());
    eng.build(
        c.open_time, [](const std::string&) { return graph::TradeCoverage{}; }, sink);
    price = next;
  }
  eng.finish(sink);
  docs.push_back(eng.meta("", true).json);
  auto g = gnn::graph_from_documents(docs).value();
  gnn::TrainOptions o;
  o.epochs = 10;
  o.hidden = 8;
  o.bootstrap_resamples = 100;
  auto rep = gnn::train_and_evaluate(g, o);
  ASSERT_TRUE(rep.ok()) << rep.error().message;
  ASSERT_TRUE(gnn::write_model(st, "gnn_model_btc_1m_seed", "synthetic", g, o, *rep, nullptr).ok());
}
#endif

// The real-time shape: WebSocket loaders -> connectors -> realtime_graph, nodes appear while
// the data flows; stop -> every job interrupted, and the graph keeps every bar it built.
TEST_F(ManagerTest, RealtimeGraphFollowsTheConnectorsAndStops) {
  cfg_.worker_env["GRAPH_TRADE_TIMEOUT_MS"] = "1500";
  cfg_.worker_env["GRAPH_POLL_MS"] = "100";
  cfg_.worker_env["GNN_POLL_MS"] = "100";
#ifdef SF_HAVE_TRAINER
  {
    store::SqliteOptions seed;
    seed.path = cfg_.store.sqlite.path;
    seed_registry(*store::open_sqlite(seed).value());
  }
  // Market time at 60x: a bar closes every second, so inference sees bars come, as it would live
  // (at full speed every bar is in before the inference job has started).
  replay::ServerOptions paced;
  paced.speed = 60;
  replay_ = replay::ReplayServer::start(replay::testing::captures(), paced).value();
  cfg_.binance_api_url = replay_->rest_url();
  cfg_.binance_ws_url = replay_->ws_url();
#endif
  start_manager();
  // The connectors' collections are named by the day the queue starts (SPEC §5).
  std::string day = records::format_utc(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count())
                        .substr(0, 10);
  std::replace(day.begin(), day.end(), '-', '_');
  const std::string candles = "btc_ws_candles_1m_" + day, trades = "btc_ws_trades_" + day;
  const std::string id = start(R"({"symbol":"BTCUSDT","requests":[
    {"target":"loader-ws-candles","type":"ws_candles_1m"},
    {"target":"loader-ws-trades","type":"ws_trades"},
    {"target":"arango-connector","type":"ws_candles_1m"},
    {"target":"arango-connector","type":"ws_trades"},
    {"target":"graph-builder","type":"realtime_graph","collection_inputs":[")" +
                               candles + R"(",")" + trades +
                               R"("],"collection_output":"btc_graph_rt"})" + kRealtimeTail);
  ASSERT_FALSE(id.empty());
  store::SqliteOptions so;
  so.path = cfg_.store.sqlite.path;
  auto st = store::open_sqlite(so).value();
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  int64_t nodes = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    store::Query query;
    query.equals["kind"] = "node";
    query.limit = 1;
    auto page = st->find("btc_graph_rt", query);
    nodes = page ? page->total : 0;
    if (nodes >= 10) break;
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_GE(nodes, 10) << json::serialize(queue(id));
  store::Query metrics_query;
  metrics_query.equals["kind"] = "metrics";
  EXPECT_GE(st->find("btc_graph_rt", metrics_query).value().total, 10);
#ifdef SF_HAVE_TRAINER
  // realtime_gnn_infer found the registry's model: predictions written into the graph and scored.
  bool scored = false;
  for (int i = 0; i < 150 && !scored; ++i) {
    scored = st->get("btc_graph_rt", "im:BTCUSDT:1m:h1").value().has_value();
    if (!scored) std::this_thread::sleep_for(200ms);
  }
  ASSERT_TRUE(scored) << json::serialize(queue(id));
  store::Query preds;
  preds.equals["kind"] = "prediction";
  preds.limit = 1000;
  auto p = st->find("btc_graph_rt", preds).value();
  EXPECT_GE(p.total, 2);
  int with_outcome = 0;
  for (const auto& d : p.documents) {
    auto v = json::parse(d).as_object();
    EXPECT_EQ(v.at("model"), "model collection gnn_model_btc_1m_seed");
    if (!v.at("outcome").is_null()) {
      ++with_outcome;
      EXPECT_EQ(v.at("correct").as_bool(), v.at("pred") == v.at("outcome"));
    }
  }
  EXPECT_GE(with_outcome, 1);
#endif
  EXPECT_EQ(call("POST", "/queues/stop?queue_id=" + id).status, 200);
  auto q = wait_status(id, {"interrupted", "error", "finished"}, 30s);
  EXPECT_EQ(q.at("status").as_string(), "interrupted") << json::serialize(q);
  for (const auto& j : q.at("jobs").as_array()) {
    EXPECT_EQ(j.at("status").as_string(), "interrupted") << json::serialize(j);
  }
  // Every node has its candle; none is duplicated (keys are the bars).
  store::Query all;
  all.equals["kind"] = "node";
  all.limit = 100000;
  auto built = st->find("btc_graph_rt", all).value();
  std::set<int64_t> bars;
  for (const auto& d : built.documents) {
    auto v = json::parse(d).as_object();
    EXPECT_TRUE(bars.insert(v.at("open_time").as_int64()).second);
    const auto key = "BTCUSDT:1m:" + std::to_string(v.at("open_time").as_int64());
    if (!v.at("gap").as_bool()) {
      EXPECT_TRUE(st->get(candles, key).value().has_value()) << key;
    }
  }
}

TEST_F(ManagerTest, LiveWorkflowStoppedEndsInterrupted) {
  start_manager();
  const std::string id = start(R"({"symbol":"BTCUSDT","type":"ws_trades"})");
  ASSERT_FALSE(id.empty());
  auto q = wait_status(id, {"loading"});
  // Let some trades flow, then stop.
  std::this_thread::sleep_for(1500ms);
  auto r = call("POST", "/queues/stop?queue_id=" + id);
  EXPECT_EQ(r.status, 200) << r.body;
  q = wait_status(id, {"interrupted", "error", "finished"}, 30s);
  EXPECT_EQ(q.at("status").as_string(), "interrupted") << json::serialize(q);
  for (const auto& j : q.at("jobs").as_array()) {
    EXPECT_EQ(j.at("status").as_string(), "interrupted") << json::serialize(j);
  }
  EXPECT_GT(q.at("records_written").as_int64(), 0);
  EXPECT_EQ(call("POST", "/queues/stop?queue_id=" + id).status, 409);
}

// Review #12: every start and stop leaves an audit line: the client's address, the call, the
// outcome's HTTP code and the queue.
TEST_F(ManagerTest, StartsAndStopsLeaveAnAuditLineWithTheClientAndTheQueue) {
  auto out = std::make_shared<std::ostringstream>();
  log::init_for_test({"queue-manager", log::Format::json, false}, *out);
  start_manager();
  const std::string id = start(R"({"symbol":"BTCUSDT","type":"ws_trades"})");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(call("POST", "/queues/start", R"({"symbol":"nope"})").status, 422);
  EXPECT_EQ(call("POST", "/queues/stop?queue_id=" + id).status, 200);
  EXPECT_EQ(call("POST", "/queues/stop?queue_id=wf-none").status, 404);
  const std::string text = out->str();
  for (const std::string& line :
       {"audit: 127.0.0.1 POST /queues/start -> 200 queue " + id,
        std::string("audit: 127.0.0.1 POST /queues/start -> 422"),
        "audit: 127.0.0.1 POST /queues/stop -> 200 queue " + id,
        std::string("audit: 127.0.0.1 POST /queues/stop -> 404 queue wf-none")}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text.substr(0, 3000);
  }
  server_.reset();
  manager_.reset();
  log::init({"manager-test", log::Format::human, false});
}

TEST_F(ManagerTest, CrashingJobsEndInErrorWithTheirMessage) {
  // A loader that fails at run time (an unreachable exchange): its own error event.
  cfg_.binance_api_url = "http://127.0.0.1:1";
  cfg_.worker_env["BINANCE_MAX_ATTEMPTS"] = "1";
  start_manager();
  const std::string id = start(kAdaWorkflow);
  auto q = wait_status(id, {"error", "finished", "interrupted"});
  EXPECT_EQ(q.at("status").as_string(), "error");
  const auto& loader = q.at("jobs").as_array()[0];
  EXPECT_EQ(loader.at("status").as_string(), "error");
  EXPECT_FALSE(loader.at("error_message").as_string().empty());
  EXPECT_FALSE(q.at("error_message").is_null());
}

TEST_F(ManagerTest, AJobThatDiesWithoutAFinalEventIsAnError) {
  cfg_.telemetry_interval = "not-a-number";  // every worker exits 2 before it says anything
  start_manager();
  const std::string id = start(kAdaWorkflow);
  auto q = wait_status(id, {"error", "finished", "interrupted"});
  EXPECT_EQ(q.at("status").as_string(), "error");
  // The queue is in error with its first dead job; the other one may still be dying (slowly,
  // in the sanitizer build): wait until each has its message.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  auto all_told = [](const json::object& queue) {
    for (const auto& j : queue.at("jobs").as_array()) {
      if (!j.at("error_message").is_string()) return false;
    }
    return true;
  };
  while (!all_told(q) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
    q = queue(id);
  }
  for (const auto& j : q.at("jobs").as_array()) {
    ASSERT_TRUE(j.at("error_message").is_string()) << json::serialize(q);
    const std::string why(j.at("error_message").as_string());
    EXPECT_NE(why.find("exit code 2"), std::string::npos) << why;
    EXPECT_NE(why.find("TELEMETRY_INTERVAL"), std::string::npos) << why;
  }
}

// Review #15: the manager concluded "ended without a final event" (here: every worker exits 2
// before it says anything), then the workers' real final events arrive late. They count: the
// jobs are finished, and the graph-builder that had been failed for want of its input is
// launched after all (it then dies like the others, for the same bad TELEMETRY_INTERVAL).
TEST_F(ManagerTest, ALateFinalEventOverridesTheManagersConclusion) {
  cfg_.telemetry_interval = "not-a-number";
  start_manager();
  const std::string id =
      start(R"({"symbol":"ADABTC","time_range":"2021-11-27:2021-11-28","requests":[
    {"target":"loader-producer","type":"api_candles_1m"},
    {"target":"arango-connector","type":"api_candles_1m"},
    {"target":"graph-builder","type":"gnn_graph","collection_inputs":["ada_candles_1m_2021_11"],"collection_output":"ada_graph_2021_11"}]})");
  ASSERT_FALSE(id.empty());
  auto q = queue(id);
  ASSERT_TRUE(eventually_true(
      [&] {
        q = queue(id);
        const auto& jobs = q.at("jobs").as_array();
        return q.at("status") == "error" && jobs[2].at("status") == "error" &&
               jobs[0].at("status") == "error" && jobs[1].at("status") == "error";
      },
      60s))
      << json::serialize(q);
  const auto& jobs = q.at("jobs").as_array();
  EXPECT_NE(std::string(jobs[2].at("error_message").as_string()).find("was not completed"),
            std::string::npos)
      << json::serialize(jobs[2]);
  auto p = kafka::Producer::create({kafka_.settings(), "late-events", {}}).value();
  for (int i = 0; i < 2; ++i) {
    const std::string producer(jobs[i].at("producer_id").as_string());
    const std::string ev = R"({"queue_id":")" + id + R"(","producer":")" + producer +
                           R"(","status":"finished","records_written":2880,"timestamp":1.7e9})";
    ASSERT_TRUE(p->send("queue-events", producer, ev).ok());
  }
  ASSERT_TRUE(p->flush(10s).ok());
  ASSERT_TRUE(eventually_true(
      [&] {
        q = queue(id);
        const auto& j = q.at("jobs").as_array();
        return j[0].at("status") == "finished" && j[1].at("status") == "finished" &&
               j[2].at("log").as_string() != "" && j[2].at("status") == "error";
      },
      60s))
      << json::serialize(q);
  const auto& after = q.at("jobs").as_array();
  EXPECT_TRUE(after[0].at("error_message").is_null()) << json::serialize(after[0]);
  EXPECT_EQ(after[1].at("records_written").as_int64(), 2880);
  EXPECT_NE(std::string(after[2].at("error_message").as_string()).find("exit code 2"),
            std::string::npos)
      << "the graph-builder was launched after all: " << json::serialize(after[2]);
}

// Review #9 / issue 12 item 7: memory follows what is active. Ended queues past the newest
// `retained_ended` stay in the store only: GET, lists, filters, the gauge and stop still answer
// for them, a late event for one changes nothing, and start-up does not hold them.
// `n` finished one-job queues wf-historical-20240601-00000<i> in the state store, the newest
// last: queue i written by its loader's 100 + i records; ETHUSDT for even i, BTCUSDT for odd.
void store_ended_queues(const std::string& sqlite_path, int n) {
  store::SqliteOptions so;
  so.path = sqlite_path;
  auto st = store::open_sqlite(so).value();
  std::vector<store::Document> batch;
  for (int i = 0; i < n; ++i) {
    QueueState q;
    q.id = "wf-historical-20240601-00000" + std::to_string(i);
    q.symbol = i % 2 ? "BTCUSDT" : "ETHUSDT";
    q.type = q.form = "workflow";
    q.kind = "historical";
    q.time_range = "2024-06-01:2024-06-30";
    q.created_at_ms = 1717200000000 + i;
    JobState j;
    j.plan.target = "loader-producer";
    j.plan.type = "api_candles_5m";
    j.plan.job_name = "sf-00000" + std::to_string(i) + "-loader-producer";
    j.plan.producer_id = "loader-producer__00000" + std::to_string(i);
    j.status = "finished";
    j.records_written = 100 + i;
    q.jobs.push_back(j);
    q.derive_status("2024-06-01T00:00:00.000Z");
    batch.push_back({q.id, to_json(q), q.created_at_ms});
  }
  ASSERT_TRUE(st->upsert("queue_state", batch).ok());
}

TEST_F(ManagerTest, EndedQueuesPastTheRetentionAreServedFromTheStore) {
  store_ended_queues(cfg_.store.sqlite.path, 6);
  cfg_.retained_ended = 2;
  start_manager();
  EXPECT_EQ(metrics_->value("streamforge_queues_in_memory"), 2);
  EXPECT_EQ(metrics_->value("streamforge_queues", {{"status", "finished"}}), 6);
  // The oldest, from the store.
  auto old = call("GET", "/queues/wf-historical-20240601-000000");
  ASSERT_EQ(old.status, 200) << old.body;
  EXPECT_EQ(data(old).at("data").at("jobs").as_array()[0].at("records_written").as_int64(), 100);
  EXPECT_EQ(call("GET", "/queues/wf-historical-20240601-999999").status, 404);
  // Lists: newest first across memory and store, filters on every queue.
  auto all = data(call("GET", "/queues?limit=10")).at("data").as_array();
  ASSERT_EQ(all.size(), 6u);
  EXPECT_EQ(all[0].at("id").as_string(), "wf-historical-20240601-000005");
  EXPECT_EQ(all[5].at("id").as_string(), "wf-historical-20240601-000000");
  auto btc = data(call("GET", "/queues?symbol=BTCUSDT&limit=10")).at("data").as_array();
  EXPECT_EQ(btc.size(), 3u);
  auto page = data(call("GET", "/queues?limit=2&offset=3")).at("data").as_array();
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].at("id").as_string(), "wf-historical-20240601-000002");
  EXPECT_EQ(call("POST", "/queues/stop?queue_id=wf-historical-20240601-000000").status, 409);
  // A late event for a queue that left memory: counted, not applied.
  auto p = kafka::Producer::create({kafka_.settings(), "late", {}}).value();
  ASSERT_TRUE(
      p->send(
           "queue-events", "x",
           R"({"queue_id":"wf-historical-20240601-000000","producer":"loader-producer__000000","status":"error","timestamp":1.7e9})")
          .ok());
  ASSERT_TRUE(p->flush(10s).ok());
  EXPECT_TRUE(eventually_true(
      [&] {
        return metrics_->value("streamforge_telemetry_events_ignored_total",
                               {{"reason", "retired"}}) == 1;
      },
      10s));
  EXPECT_EQ(data(call("GET", "/queues/wf-historical-20240601-000000"))
                .at("data")
                .at("status")
                .as_string(),
            "finished");
  // A new queue that ends pushes the oldest resident one out, once stored.
  const std::string id = start(kAdaWorkflow);
  wait_status(id, {"finished"});
  EXPECT_TRUE(
      eventually_true([&] { return metrics_->value("streamforge_queues_in_memory") == 2; }, 10s));
  EXPECT_EQ(metrics_->value("streamforge_queues", {{"status", "finished"}}), 7);
  EXPECT_EQ(call("GET", "/queues/wf-historical-20240601-000004").status, 200);
  EXPECT_EQ(call("GET", "/queues/" + id).status, 200);
}

// Review #5 with one io thread (the default): a route that waits on the store runs on the
// server's blocking threads, so a store read that hangs holds up no other request, even with
// more such reads waiting than there are blocking threads.
TEST_F(ManagerTest, StoreReadsThatHangHoldUpNoOtherRequest) {
  store_ended_queues(cfg_.store.sqlite.path, 3);
  store::SqliteOptions so;
  so.path = cfg_.store.sqlite.path;
  cfg_.retained_ended = 1;  // 000002 in memory, 000000 and 000001 in the store only
  auto faulty = std::make_shared<FaultyStore>(store::open_sqlite(so).value());
  start_manager("", faulty);
  faulty->hang_reads = true;
  constexpr int kHung = 6;  // more than the manager's 2 blocking threads
  std::vector<std::thread> readers;
  std::atomic<int> answered{0}, answered_200{0};
  for (int i = 0; i < kHung; ++i) {
    readers.emplace_back([&, i] {
      auto c = net::HttpClient::create(server_->url()).value();
      auto r = c->get("/queues/wf-historical-20240601-00000" + std::to_string(i % 2));
      ++answered;
      if (r && r->status == 200) ++answered_200;
    });
  }
  const bool both_hung = eventually_true([&] { return faulty->hung_reads.load() >= 2; }, 10s);
  EXPECT_TRUE(both_hung) << faulty->hung_reads.load() << " reads reached the store";
  if (!both_hung) {  // the reads ran one at a time, where nothing else can run beside them
    faulty->hang_reads = false;
    for (auto& t : readers) t.join();
    return;
  }
  double worst_ms = 0;
  for (int i = 0; i < 20; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(call("GET", "/health/live").status, 200);
    EXPECT_EQ(call("GET", "/queues/wf-historical-20240601-000002").status, 200);  // in memory
    EXPECT_EQ(call("GET", "/queues/wf-historical-20240601-999999").status, 404);
    worst_ms = std::max(
        worst_ms,
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::printf("[ figures ] three calls beside %d hung store reads: at most %.2f ms\n", kHung,
              worst_ms);
  EXPECT_LT(worst_ms, 1000.0);  // not behind the hung reads (a bound, not a benchmark)
  EXPECT_EQ(answered.load(), 0) << "a read answered while the store hung";
  faulty->hang_reads = false;
  for (auto& t : readers) t.join();
  EXPECT_EQ(answered_200.load(), kHung);  // each hung read answered once the store did
}

long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

// Issue 12's test list: a /ws/topic client that never reads while 20,000 state changes are
// pushed (one event for each of 20,000 running queues: the dispatcher coalesces a queue's changes
// within a batch, so distinct queues make distinct pushes): the manager's memory stays bounded,
// that client is closed, and a client that reads gets every change the manager pushed.
TEST_F(ManagerTest, AWebSocketClientThatNeverReadsIsClosedAndAReaderGetsEveryChange) {
  constexpr int kChanges = 20'000;
  auto id_of = [](int i) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "%06x", i);
    return std::string(hex);
  };
  {
    store::SqliteOptions so;
    so.path = cfg_.store.sqlite.path;
    auto st = store::open_sqlite(so).value();
    std::vector<store::Document> batch;
    for (int i = 0; i < kChanges; ++i) {
      QueueState q;
      q.id = "wf-live-20240601-" + id_of(i);
      q.symbol = "BTCUSDT";
      q.type = q.form = "workflow";
      q.kind = "live";
      q.created_at_ms = 1717200000000 + i;
      JobState j;
      j.plan.target = "loader-producer";
      j.plan.type = "ws_trades";
      j.plan.job_name = "sf-" + id_of(i) + "-loader-producer";
      j.plan.producer_id = "loader-producer__" + id_of(i);
      j.status = "loading";
      q.jobs.push_back(j);
      q.derive_status("2024-06-01T00:00:00.000Z");
      batch.push_back({q.id, to_json(q), q.created_at_ms});
    }
    ASSERT_TRUE(st->upsert("queue_state", batch).ok());
  }
  start_manager();
  const std::string ws_url = "ws://127.0.0.1:" + std::to_string(server_->port()) + "/ws/topic";
  // The stalled client: upgrades with a tiny receive window, then never reads.
  net::testing::RawClient stalled(server_->port(), 4096);
  ASSERT_TRUE(stalled.send(
      "GET /ws/topic HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: "
      "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: "
      "13\r\n\r\n"));
  auto reader = net::WsClient::connect(ws_url).value();
  std::set<std::string> seen;
  size_t received = 0;
  std::atomic<bool> done{false};
  std::mutex mu;
  std::thread reading([&] {
    while (!done.load()) {
      auto m = reader->read(200ms);
      if (!m) continue;
      if (m->find("\"event\":\"queue\"") == std::string::npos) continue;
      auto v = json::parse(*m).as_object();
      std::lock_guard lock(mu);
      ++received;
      if (v.at("queue").at("jobs").as_array()[0].at("records_written").as_int64() == 7) {
        seen.insert(std::string(v.at("queue_id").as_string()));
      }
    }
  });
  // Joined on every way out, a failed assertion included.
  struct Joiner {
    std::atomic<bool>& done;
    std::thread& t;
    ~Joiner() {
      done = true;
      if (t.joinable()) t.join();
    }
  } joiner{done, reading};
  ASSERT_TRUE(eventually_true(
      [&] {
        auto m = call("GET", "/metrics");
        return m.body.find("streamforge_websocket_clients 2") != std::string::npos;
      },
      5s));
  const long rss_before = rss_kib();
  auto p = kafka::Producer::create({kafka_.settings(), "pushes", {}}).value();
  // In rounds of 4,000: the reader is a client that keeps up, so it must never fall a whole
  // per-client cap (10,000 messages) behind, as it could on a loaded machine if all 20,000 went
  // at once; the stalled client falls 20,000 behind all the same.
  constexpr int kRound = 4'000;
  for (int i = 0; i < kChanges; ++i) {
    const std::string id = "wf-live-20240601-" + id_of(i);
    ASSERT_TRUE(p->send("queue-events", id,
                        R"({"queue_id":")" + id + R"(","producer":"loader-producer__)" + id_of(i) +
                            R"(","status":"loading","records_written":7,)"
                            R"("timestamp":1.7e9})")
                    .ok());
    if ((i + 1) % kRound == 0) {
      ASSERT_TRUE(p->flush(30s).ok());
      ASSERT_TRUE(eventually_true(
          [&] {
            std::lock_guard lock(mu);
            return seen.size() == static_cast<size_t>(i + 1);
          },
          60s))
          << seen.size() << " of the first " << i + 1 << " changes reached the reader";
    }
  }
  ASSERT_TRUE(p->flush(30s).ok());
  ASSERT_TRUE(eventually_true(
      [&] { return metrics_->value("streamforge_telemetry_events_applied_total") >= kChanges; },
      120s));
  ASSERT_TRUE(eventually_true(
      [&] {
        std::lock_guard lock(mu);
        return seen.size() == static_cast<size_t>(kChanges);
      },
      60s))
      << seen.size() << " of " << kChanges << " changes reached the reader";
  const double pushes = metrics_->value("streamforge_websocket_pushes_total");
  const long rss_after = rss_kib();
  done = true;
  reading.join();
  EXPECT_TRUE(stalled.closed_within(10'000)) << "the client that never read is closed";
  EXPECT_GE(pushes, kChanges);
  EXPECT_EQ(static_cast<double>(received), pushes) << "the reader got every push";
  // The per-client cap (4 MiB or 10,000 messages) is what closes the stalled client above; this
  // bound catches a leak on top (the 20,000 updated states themselves take ~40 MiB here). Not
  // under AddressSanitizer, whose quarantine keeps freed memory resident (+180 MiB seen).
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(rss_after - rss_before, 96 * 1024) << "memory stays bounded";
#endif
  std::printf("[ %d changes in %.0f pushes, all read by the reader; RSS %+ld KiB ]\n", kChanges,
              pushes, rss_after - rss_before);
}

TEST_F(ManagerTest, RestartKeepsEveryQueueAndResumesTheDispatcher) {
  start_manager();
  const std::string done = start(kAdaWorkflow);
  wait_status(done, {"finished"});
  const std::string live = start(R"({"symbol":"BTCUSDT","type":"ws_trades"})");
  // Both jobs running (they said `started`), so they can answer the manager's SIGTERM.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  for (;;) {
    auto q = queue(live);
    const auto& jobs = q.at("jobs").as_array();
    if (jobs[0].at("status").as_string() == "loading" && jobs[1].at("status") != "launched") break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << json::serialize(q);
    std::this_thread::sleep_for(100ms);
  }
  const auto before = queue(done);
  // The manager goes (its local jobs are ended: they send `interrupted` while it is down).
  server_.reset();
  manager_.reset();
  start_manager();
  EXPECT_EQ(json::serialize(queue(done)), json::serialize(before));
  auto q = wait_status(live, {"interrupted", "error"}, 30s);
  EXPECT_EQ(q.at("status").as_string(), "interrupted") << json::serialize(q);
  auto list = data(call("GET", "/queues")).at("data").as_array();
  EXPECT_EQ(list.size(), 2u);
}

TEST_F(ManagerTest, ReplayedTelemetryLeavesTheStateUnchanged) {
  start_manager();
  const std::string id = start(kAdaWorkflow);
  wait_status(id, {"finished"});
  std::this_thread::sleep_for(500ms);
  const std::string before = json::serialize(queue(id));
  const double applied = metrics_->value("streamforge_telemetry_events_applied_total");
  auto events = kafka_.read_topic("queue-events", -1, 10s);
  auto p = kafka::Producer::create({kafka_.settings(), "replayer", {}}).value();
  int replayed = 0;
  for (const auto& m : events) {
    if (m.value.find(id) == std::string::npos) continue;
    ASSERT_TRUE(p->send("queue-events", m.key, m.value).ok());
    ++replayed;
  }
  ASSERT_TRUE(p->flush(10s).ok());
  // Each job's started and finished at least; "loading" ones only when a job outlasts the 0.5 s
  // telemetry interval (the connector did while the loader's end took up to 0.5 s more).
  ASSERT_GE(replayed, 4);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline &&
         metrics_->value("streamforge_telemetry_events_ignored_total", {{"reason", "no_change"}}) <
             replayed) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_GE(
      metrics_->value("streamforge_telemetry_events_ignored_total", {{"reason", "no_change"}}),
      replayed);
  EXPECT_EQ(metrics_->value("streamforge_telemetry_events_applied_total"), applied);
  EXPECT_EQ(json::serialize(queue(id)), before);
}

TEST_F(ManagerTest, EveryEndpointAndErrorPath) {
  start_manager("s3cret");
  // Auth: mutating calls need the token; reads do not.
  EXPECT_EQ(call("POST", "/queues/start", kAdaWorkflow).status, 401);
  EXPECT_EQ(call("POST", "/queues/stop?queue_id=x").status, 401);
  EXPECT_EQ(call("GET", "/queues").status, 200);
  // 400 / 422, never a 500.
  auto bad = call("POST", "/queues/start", "{oops", "s3cret");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(data(bad).at("status").as_string(), "error");
  auto invalid = call(
      "POST", "/queues/start",
      R"({"symbol":"btc","type":"api_candles_7m","time_range":"2024-13-01:2024-01-02"})", "s3cret");
  EXPECT_EQ(invalid.status, 422);
  auto errs = data(invalid).at("data").at("errors").as_array();
  EXPECT_GE(errs.size(), 3u);
  for (const auto& body : {"[]", "null", "\"x\"", "{}", R"({"symbol":"BTCUSDT","requests":{}})"}) {
    const int s = call("POST", "/queues/start", body, "s3cret").status;
    EXPECT_TRUE(s == 400 || s == 422) << body << " -> " << s;
  }
  // 404s, 405, stop without an id.
  EXPECT_EQ(call("GET", "/queues/wf-nope").status, 404);
  EXPECT_EQ(call("POST", "/queues/stop?queue_id=wf-nope", "", "s3cret").status, 404);
  EXPECT_EQ(call("POST", "/queues/stop", "", "s3cret").status, 422);
  EXPECT_EQ(call("GET", "/queues/start").status, 405);
  EXPECT_EQ(call("GET", "/nowhere").status, 404);
  // Review #27: every route checks its method; a read answers HEAD with its head only.
  for (const char* path : {"/health/live", "/metrics", "/openapi.json", "/queues", "/docs"}) {
    auto r = call("DELETE", path);
    EXPECT_EQ(r.status, 405) << path;
    EXPECT_EQ(r.header("allow"), "GET, HEAD") << path;
  }
  {
    net::testing::RawClient raw(server_->port());
    ASSERT_TRUE(
        raw.send("HEAD /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
    const std::string head = raw.read_all(2000);
    EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
    const size_t end = head.find("\r\n\r\n");
    ASSERT_NE(end, std::string::npos) << head;
    EXPECT_EQ(head.size(), end + 4) << "no body after the head of a HEAD answer";
    EXPECT_EQ(head.find("Content-Length: 0\r\n"), std::string::npos) << head;
  }
  // Both seeds' workflow examples are accepted as written.
  for (const char* seed : {R"({"symbol":"BTCUSDT","time_range":"2024-06-01:2024-06-30","requests":[
      {"target":"loader-producer","type":"api_candles_5m","interval":"5m"},
      {"target":"loader-producer","type":"api_trades"},
      {"target":"arango-connector","type":"api_candles_5m"},
      {"target":"arango-connector","type":"api_trades"},
      {"target":"graph-builder","type":"gnn_graph","collection_inputs":["btc_candles_5m_2024_06","btc_trades_2024_06"],"collection_output":"btc_graph_2024_06"},
      {"target":"gnn-trainer","type":"gnn_train","graph_collection":"btc_graph_2024_06","model_output":"gnn_model_btc_2024_06"}]})",
                           R"({"symbol":"BTCUSDT","time_range":"2024-08-01:2024-08-01","requests":[
      {"target":"loader-producer","type":"ws_candles_1m"},
      {"target":"loader-producer","type":"ws_trades"},
      {"target":"arango-connector","type":"ws_candles_1m"},
      {"target":"arango-connector","type":"ws_trades"},
      {"target":"graph-builder","type":"realtime_graph","collection_inputs":["btc_ws_candles_1m_2024_08_01","btc_ws_trades_2024_08_01"],"collection_output":"btc_graph_rt_2024_08_01"},
      {"target":"gnn-trainer","type":"realtime_gnn_infer","graph_collection":"btc_graph_rt_2024_08_01","inference_interval":"5m"},
      {"target":"visualizer","type":"graph_metrics_stream","source":"btc_graph_rt_2024_08_01"}]})"}) {
    auto r = call("POST", "/queues/start", seed, "s3cret");
    ASSERT_EQ(r.status, 200) << r.body;
    auto d = data(r).at("data").as_object();
    const std::string id(d.at("queue_id").as_string());
    const auto& jobs = d.at("jobs").as_array();
    EXPECT_GE(jobs.size(), 6u);
    auto q = queue(id);
    if (id.find("historical") != std::string::npos) {
      // graph-builder waits for its input collections; gnn-trainer for the graph.
      EXPECT_EQ(q.at("jobs").as_array()[4].at("status").as_string(), "pending");
      EXPECT_EQ(q.at("jobs").as_array()[5].at("status").as_string(), "pending");
    }
    EXPECT_EQ(call("POST", "/queues/stop?queue_id=" + id, "", "s3cret").status, 200);
    wait_status(id, {"interrupted", "error"}, 30s);
  }
  // Lists: filters, paging, and bad parameters.
  auto all = data(call("GET", "/queues?limit=1"));
  EXPECT_EQ(all.at("data").as_array().size(), 1u);
  EXPECT_NE(all.at("message").as_string().find("of 2"), std::string::npos) << all.at("message");
  EXPECT_EQ(data(call("GET", "/queues?symbol=ETHUSDT")).at("data").as_array().size(), 0u);
  EXPECT_EQ(data(call("GET", "/queues?offset=1&limit=5")).at("data").as_array().size(), 1u);
  EXPECT_EQ(call("GET", "/queues?limit=0").status, 422);
  EXPECT_EQ(call("GET", "/queues?status=weird").status, 422);
  EXPECT_EQ(call("GET", "/queues?symbol=bad%20one").status, 422);
  // Health, metrics, OpenAPI, docs.
  EXPECT_EQ(call("GET", "/health/live").status, 200);
  EXPECT_EQ(call("GET", "/health/startup").status, 200);
  EXPECT_EQ(call("GET", "/health/ready").status, 200);
  auto metrics = call("GET", "/metrics");
  EXPECT_EQ(metrics.header("content-type").rfind("text/plain", 0), 0u);
  EXPECT_NE(metrics.body.find("streamforge_http_requests_total{code=\"401\""), std::string::npos);
  auto spec = json::parse(call("GET", "/openapi.json").body).as_object();
  EXPECT_TRUE(spec.at("paths").as_object().contains("/queues/start"));
  auto docs = call("GET", "/docs");
  EXPECT_NE(docs.body.find("swagger-ui-bundle.js"), std::string::npos);
  std::filesystem::create_directories(dir_ / "swagger");
  { std::ofstream(dir_ / "swagger" / "swagger-ui.css") << "body{}"; }
  auto css = call("GET", "/docs/swagger-ui.css");
  EXPECT_EQ(css.status, 200);
  EXPECT_EQ(css.header("content-type"), "text/css");
  EXPECT_EQ(call("GET", "/docs/..%2Fstate.db").status, 404);
}

TEST_F(ManagerTest, SwaggerUiIsServedFromTheInstalledNpmPackage) {
  start_manager();
  server_.reset();
  ApiOptions ao;
  ao.host = "127.0.0.1";
  ao.port = 0;
  ao.swagger_dir = SF_WEB_DIR;  // tools/install-web.sh (make build) puts it there
  server_ = ApiServer::start(*manager_, metrics_, ao).value();
  http_ = net::HttpClient::create(server_->url()).value();
  auto js = call("GET", "/docs/swagger-ui-bundle.js");
  ASSERT_EQ(js.status, 200) << "run tools/install-web.sh: " << js.body.substr(0, 200);
  EXPECT_GT(js.body.size(), 500'000u);
  EXPECT_EQ(js.header("content-type"), "application/javascript");
  EXPECT_EQ(call("GET", "/docs/swagger-ui.css").status, 200);
}

}  // namespace
}  // namespace sf::manager

namespace sf::manager {
namespace {

struct Run {
  int code = -1;
  std::string out;
};

// The streamforge CLI, as a script would run it.
// Review #6: a failed state write was dropped and its telemetry committed anyway, so the state
// stayed stale for good and a restart turned finished jobs into errors.
TEST_F(ManagerTest, AStateWriteThatFailsIsRetriedAndNothingIsCommittedBeforeIt) {
  store::SqliteOptions so;
  so.path = cfg_.store.sqlite.path;
  auto faulty = std::make_shared<FaultyStore>(store::open_sqlite(so).value());
  start_manager("", faulty);
  const std::string id = start(kAdaWorkflow);
  ASSERT_FALSE(id.empty());
  faulty->fail_writes = true;  // the disk fills while the queue runs
  // Both jobs finish meanwhile (their ends are counted as they are applied in memory).
  ASSERT_TRUE(eventually_true(
      [&] {
        const std::string m = metrics_->text();
        return m.find(
                   "streamforge_jobs_finished_total{status=\"finished\",target=\"arango-"
                   "connector\"}") != std::string::npos &&
               m.find(
                   "streamforge_jobs_finished_total{status=\"finished\",target=\"loader-"
                   "producer\"}") != std::string::npos;
      },
      60s))
      << metrics_->text();
  std::this_thread::sleep_for(1s);
  EXPECT_GE(faulty->failed_writes.load(), 2);  // retried, not dropped
  EXPECT_GE(metrics_->value("streamforge_state_write_failures_total"), 2) << metrics_->text();
  // The stored state is still the old one; the manager goes down before the disk is freed.
  auto stored = store::open_sqlite(so).value()->get("queue_state", id).value();
  ASSERT_TRUE(stored.has_value());
  EXPECT_NE(json::parse(*stored).at("status").as_string(), "finished");
  server_.reset();
  manager_.reset();
  // Space again, a new manager: the telemetry it was not allowed to commit is read again.
  start_manager();
  auto q = wait_status(id, {"finished", "error"});
  EXPECT_EQ(q.at("status").as_string(), "finished") << json::serialize(q);
  EXPECT_EQ(q.at("records_written").as_int64(), 2880);
  // And a write that fails while the manager runs is stored once it succeeds again. (The live
  // queue starts under this manager: one started before a restart has its job ended by the
  // restart, and its `interrupted` event races the stop.)
  server_.reset();
  manager_.reset();
  faulty = std::make_shared<FaultyStore>(store::open_sqlite(so).value());
  start_manager("", faulty);
  const std::string live = start(R"({"symbol":"BTCUSDT","type":"ws_trades"})");
  wait_status(live, {"loading"});
  faulty->fail_writes = true;
  ASSERT_EQ(call("POST", "/queues/stop?queue_id=" + live).status, 200);
  std::this_thread::sleep_for(2s);
  faulty->fail_writes = false;
  wait_status(live, {"interrupted"});
  EXPECT_TRUE(eventually_true(
      [&] {
        auto doc = store::open_sqlite(so).value()->get("queue_state", live).value();
        return doc && json::parse(*doc).at("status").as_string() == "interrupted";
      },
      20s));
}

// Review #5: /health/live took the manager's lock, /health/ready did its I/O on an io thread.
TEST_F(ManagerTest, AStoreThatNeverAnswersLeavesLivenessFastAndReadinessFalse) {
  store::SqliteOptions so;
  so.path = cfg_.store.sqlite.path;
  auto faulty = std::make_shared<FaultyStore>(store::open_sqlite(so).value());
  start_manager("", faulty);
  ASSERT_TRUE(eventually_true([&] { return call("GET", "/health/ready").status == 200; }, 10s));
  faulty->hang = true;
  std::vector<double> live_ms;
  bool went_unready = false;
  for (int i = 0; i < 40; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(call("GET", "/health/live").status, 200);
    live_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    auto ready = call("GET", "/health/ready");
    if (ready.status == 503) {
      went_unready = true;
      EXPECT_NE(ready.body.find("not ready"), std::string::npos);
    }
    std::this_thread::sleep_for(50ms);
  }
  faulty->hang = false;
  std::sort(live_ms.begin(), live_ms.end());
  std::printf("[ figures ] /health/live with the store hung: median %.2f ms, max %.2f ms\n",
              live_ms[live_ms.size() / 2], live_ms.back());
  EXPECT_LT(live_ms.back(), 1000.0);  // not behind the hung check (a bound, not a benchmark)
  // The check that hung has not returned, so readiness cannot have been refreshed to true; it
  // goes false when the cached result is older than the check interval.
  EXPECT_TRUE(went_unready);
  EXPECT_TRUE(eventually_true([&] { return call("GET", "/health/ready").status == 200; }, 10s));
}

// Review #10: 24 random bits per name; a collision killed the other queue's running job.
TEST_F(ManagerTest, ANameAlreadyTakenIsDrawnAgain) {
  int draws = 0;
  cfg_.random_hex = [&draws] {
    // The first two queues draw the same suffixes; later draws differ.
    ++draws;
    static const char* kSeq[] = {"aaaaaa", "bbbbbb", "cccccc", "aaaaaa", "bbbbbb", "cccccc"};
    if (draws <= 6) return std::string(kSeq[draws - 1]);
    char buf[16];
    std::snprintf(buf, sizeof buf, "%06x", 0x100000 + draws);
    return std::string(buf);
  };
  start_manager();
  const std::string a = start(kAdaWorkflow);
  const std::string b = start(kAdaWorkflow);
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  EXPECT_NE(a, b);
  std::set<std::string> names;
  for (const auto& id : {a, b}) {
    auto q = wait_status(id, {"finished", "error"});
    EXPECT_EQ(q.at("status").as_string(), "finished") << json::serialize(q);
    for (const auto& j : q.at("jobs").as_array()) {
      names.insert(std::string(j.as_object().at("job_name").as_string()));
      names.insert(std::string(j.as_object().at("producer_id").as_string()));
    }
  }
  EXPECT_EQ(names.size(), 8u);  // 2 queues x 2 jobs x (job name, producer id), all distinct
}

Run cli(const std::string& args, const std::string& url) {
  const std::string cmd =
      std::string(SF_BIN_DIR) + "/streamforge --url " + url + " " + args + " 2>&1";
  FILE* f = popen(cmd.c_str(), "r");
  Run r;
  char buf[4096];
  while (f && fgets(buf, sizeof buf, f)) r.out += buf;
  const int st = f ? pclose(f) : -1;
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

TEST_F(ManagerTest, CliDrivesTheApiWithExitCodesScriptsCanTrust) {
  start_manager("tok");
  const std::string url = server_->url();
  // Errors first: no token, invalid request, unknown queue, unreachable server.
  EXPECT_EQ(
      cli("start --symbol ADABTC --type api_candles_1m --time-range 2021-11-27:2021-11-28", url)
          .code,
      1);
  auto invalid = cli("--token tok start --symbol btc --type api_candles_7m", url);
  EXPECT_EQ(invalid.code, 2);
  EXPECT_NE(invalid.out.find("symbol"), std::string::npos) << invalid.out;
  EXPECT_NE(invalid.out.find("expected"), std::string::npos) << invalid.out;
  EXPECT_EQ(cli("get wf-nope", url).code, 4);
  auto down = cli("list", "http://127.0.0.1:1");
  EXPECT_EQ(down.code, 3);
  EXPECT_NE(down.out.find("cannot reach"), std::string::npos);
  EXPECT_EQ(cli("frobnicate", url).code, 2);

  // A workflow from a file, waited for, then read back as JSON.
  const auto wf = dir_ / "workflow.json";
  { std::ofstream(wf) << kAdaWorkflow; }
  auto started = cli("--token tok --json start --file " + wf.string(), url);
  ASSERT_EQ(started.code, 0) << started.out;
  const std::string id(json::parse(started.out).at("data").at("queue_id").as_string());
  auto watch = std::async(std::launch::async, [&] { return cli("watch " + id, url); });
  auto waited = cli("wait " + id + " --timeout 60", url);
  EXPECT_EQ(waited.code, 0) << waited.out;
  EXPECT_NE(waited.out.find("finished records=2880"), std::string::npos) << waited.out;
  auto watched = watch.get();
  EXPECT_EQ(watched.code, 0) << watched.out;
  EXPECT_NE(watched.out.find(id + " finished records=2880"), std::string::npos) << watched.out;
  auto got = cli("--json get " + id, url);
  EXPECT_EQ(got.code, 0);
  EXPECT_EQ(json::parse(got.out).at("data").at("records_written").as_int64(), 2880);
  auto human = cli("get " + id, url);
  EXPECT_NE(human.out.find("arango-connector"), std::string::npos) << human.out;
  auto listed = cli("list --status finished", url);
  EXPECT_EQ(listed.code, 0);
  EXPECT_NE(listed.out.find(id), std::string::npos);
  EXPECT_EQ(cli("--token tok stop " + id, url).code, 5);  // it has ended: conflict

  // A live queue started from flags and stopped.
  auto live = cli("--token tok --json start --symbol BTCUSDT --type ws_trades", url);
  ASSERT_EQ(live.code, 0) << live.out;
  const std::string lid(json::parse(live.out).at("data").at("queue_id").as_string());
  wait_status(lid, {"loading"});
  EXPECT_EQ(cli("--token tok stop " + lid, url).code, 0);
  EXPECT_EQ(cli("wait " + lid + " --timeout 30", url).code, 1);  // interrupted, not finished
}

}  // namespace
}  // namespace sf::manager
