// The visualizer over loopback: every endpoint against a store filled from the real captures and a
// real graph, the envelopes and errors, queue calls passed to a stand-in queue-manager with the
// token kept server-side, and the WebSockets: two clients on one topic both receive, a client that
// never reads does not hold up the other.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "sf/graph/graph.h"
#include "sf/kafka/testing/embedded_kafka.h"
#include "sf/net/http_server.h"
#include "sf/net/transport.h"
#include "sf/records/parser.h"
#include "sf/records/writer.h"
#include "sf/replay/testing/captures.h"
#include "sf/viz/visualizer.h"

namespace sf::viz {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

class VisualizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kafka_.create_topic("queue-events", 1);
    kafka_.create_topic("wf-x-ws_trades", 1);
    dir_ = std::filesystem::temp_directory_path() /
           ("sf-viz-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    store::SqliteOptions so;
    so.path = (dir_ / "store.db").string();
    so.synchronous_full = false;
    store_ = std::shared_ptr<store::Store>(store::open_sqlite(so).value());
    fill();
    // A stand-in queue-manager: records what it was asked, with which token.
    net::HttpServerOptions mo;
    manager_ =
        net::HttpServer::start(mo, [this](const net::ServerRequest& r) {
          std::lock_guard lock(mu_);
          seen_.push_back(r.method + " " + r.target + " auth=" + r.header("authorization"));
          net::ServerResponse resp;
          resp.body =
              R"({"status":"success","message":"ok","data":[{"queue_id":"wf-1","status":"loading","jobs":[]}]})";
          return resp;
        }).value();
    VisualizerOptions o;
    o.port = 0;
    o.web_dir = SF_WEB_SOURCE;
    o.vendor_dir = SF_VENDOR_DIR;
    o.manager_url = manager_->url();
    o.manager_token = config::Secret("manager-secret");
    o.api_token = config::Secret("ui-token");
    o.kafka = kafka_.settings();
    o.client_queue = 500;
    o.source = "graph";
    viz_ = Visualizer::start(o, store_).value();
    http_ = net::HttpClient::create(viz_->url()).value();
  }
  void TearDown() override {
    viz_.reset();
    std::filesystem::remove_all(dir_);
  }

  void put(const std::string& c, std::vector<store::Document> docs) {
    ASSERT_TRUE(store_->ensure_collection(c).ok());
    ASSERT_TRUE(store_->upsert(c, docs).ok());
  }

  void fill() {
    std::vector<store::Document> candles;
    std::ifstream in(std::string(SF_DATA_DIR) + "/vision/BTCUSDT-5m-2024-06.csv");
    std::string line;
    std::vector<records::Candle> cs;
    while (std::getline(in, line) && cs.size() < 3000) {
      if (line.empty()) continue;
      cs.push_back(records::parse_vision_kline_row(line, "BTCUSDT", "5m").value());
    }
    // Stored newest first on purpose: answers must come sorted by open_time.
    for (auto it = cs.rbegin(); it != cs.rend(); ++it) {
      candles.push_back(store::make_document(records::to_json(*it), "").value());
    }
    put("candles", candles);
    std::vector<store::Document> trades;
    for (const auto& t : replay::testing::captures()->find("BTCUSDT")->trades) {
      trades.push_back(store::make_document(records::to_json(t), "").value());
    }
    put("trades", trades);
    graph::GraphEngine e({}, *records::Interval::parse("5m"), "gnn_graph");
    std::vector<store::Document> g;
    for (size_t i = 0; i < 400; ++i) {
      ASSERT_TRUE(e.add_candle(cs[i]).ok());
      e.build(
          cs[i].open_time, [](const std::string&) { return graph::TradeCoverage{}; },
          [&](store::Document d) { g.push_back(std::move(d)); });
    }
    e.finish([&](store::Document d) { g.push_back(std::move(d)); });
    g.push_back(e.meta("", true));
    put("graph", g);
    candles_ = cs;
  }

  net::HttpResponse call(const std::string& method, const std::string& target,
                         const std::string& body = "", const std::string& token = "",
                         const std::string& type = "application/json") {
    net::HttpRequest r;
    r.method = method;
    r.target = target;
    r.body = body;
    if (!type.empty()) r.content_type = type;
    if (!token.empty()) r.headers["Authorization"] = "Bearer " + token;
    r.idempotent = method == "GET";
    auto res = http_->request(r);
    EXPECT_TRUE(res.ok());
    return res ? *res : net::HttpResponse{};
  }

  json::object ok_json(const std::string& target) {
    auto r = call("GET", target);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body.substr(0, 300);
    auto v = json::parse(r.body).as_object();
    EXPECT_EQ(v.at("status"), "success") << target;
    EXPECT_TRUE(v.contains("message") && v.contains("data"));
    return v;
  }

  kafka::testing::EmbeddedKafka kafka_;
  std::filesystem::path dir_;
  std::shared_ptr<store::Store> store_;
  std::unique_ptr<net::HttpServer> manager_;
  std::unique_ptr<Visualizer> viz_;
  std::unique_ptr<net::HttpClient> http_;
  std::vector<records::Candle> candles_;
  std::mutex mu_;
  std::vector<std::string> seen_;
};

TEST_F(VisualizerTest, CandlesAreSortedExactAndPaged) {
  auto v = ok_json("/api/candles/candles/BTCUSDT?limit=100");
  const auto& d = v.at("data").as_array();
  ASSERT_EQ(d.size(), 100u);
  for (size_t i = 1; i < d.size(); ++i) {
    EXPECT_LT(d[i - 1].at("open_time").as_int64(), d[i].at("open_time").as_int64());
  }
  // The newest 100, the last one exact.
  EXPECT_EQ(d.back().at("open_time").as_int64(), candles_.back().open_time);
  auto raw = call("GET", "/api/candles/candles/BTCUSDT?limit=1").body;
  EXPECT_NE(raw.find("\"close\":" + candles_.back().close.str()), std::string::npos) << raw;
  // A time range, and the original's endpoint.
  auto ranged = ok_json("/candles/candles/BTCUSDT?from=" + std::to_string(candles_[10].open_time) +
                        "&to=" + std::to_string(candles_[19].open_time));
  ASSERT_EQ(ranged.at("data").as_array().size(), 10u);
  EXPECT_EQ(ranged.at("data").as_array()[0].at("open_time").as_int64(), candles_[10].open_time);
  // Graph nodes serve as candles too.
  EXPECT_EQ(ok_json("/api/candles/graph/BTCUSDT").at("data").as_array().size(), 400u);
}

TEST_F(VisualizerTest, IndicatorsAndRsiAreComputed) {
  auto v = ok_json("/api/indicators/candles/BTCUSDT?limit=200");
  const auto& d = v.at("data").as_array();
  ASSERT_EQ(d.size(), 200u);
  EXPECT_TRUE(d[5].at("rsi14").is_null());
  EXPECT_FALSE(d[50].at("rsi14").is_null());
  const double rsi = d[50].at("rsi14").to_number<double>();
  EXPECT_GT(rsi, 0);
  EXPECT_LT(rsi, 100);
  // SMA-20 by hand at bar 50.
  double sum = 0;
  for (int i = 31; i <= 50; ++i) sum += d[i].at("close").to_number<double>();
  EXPECT_NEAR(d[50].at("sma20").to_number<double>(), sum / 20, 1e-6);
  auto r = ok_json("/rsi/candles/BTCUSDT?limit=200");
  EXPECT_NEAR(r.at("data").as_array()[50].at("rsi").to_number<double>(), rsi, 1e-9);
}

TEST_F(VisualizerTest, HeatmapAccountsForEveryTrade) {
  auto v = ok_json("/api/heatmap/trades/BTCUSDT?bucket_ms=60000&bins=20");
  const auto& d = v.at("data").as_object();
  const auto& trades = replay::testing::captures()->find("BTCUSDT")->trades;
  EXPECT_EQ(d.at("trades").as_int64(), static_cast<int64_t>(trades.size()));
  double total = 0, want = 0, buy = 0, want_buy = 0;
  for (const auto& b : d.at("buckets").as_array()) {
    for (size_t i = 0; i < 20; ++i) {
      total += b.at("buy").as_array()[i].to_number<double>() +
               b.at("sell").as_array()[i].to_number<double>();
      buy += b.at("buy").as_array()[i].to_number<double>();
    }
  }
  for (const auto& t : trades) {
    const double q = std::stod(t.quantity.str());
    want += q;
    if (!t.is_buyer_maker) want_buy += q;
  }
  EXPECT_NEAR(total, want, 1e-6);
  EXPECT_NEAR(buy, want_buy, 1e-6);
}

TEST_F(VisualizerTest, GraphModelAndErrors) {
  auto g = ok_json("/api/graph/graph?bars=30");
  EXPECT_EQ(g.at("data").at("nodes").as_array().size(), 30u);
  EXPECT_GT(g.at("data").at("edges").as_array().size(), 30u);
  EXPECT_EQ(g.at("data").at("meta").at("interval"), "5m");
  // Errors: the envelope, a message that says what to fix, never a 500.
  for (const auto& [target, code] :
       std::vector<std::pair<std::string, int>>{{"/api/graph/candles", 404},
                                                {"/api/model/graph", 404},
                                                {"/api/candles/bad!name/BTCUSDT", 400},
                                                {"/api/candles/candles/btc", 400},
                                                {"/api/candles/candles/BTCUSDT?limit=0", 400},
                                                {"/api/heatmap/trades/BTCUSDT?bins=9999", 400},
                                                {"/api/nothing", 404}}) {
    auto r = call("GET", target);
    EXPECT_EQ(r.status, code) << target << ": " << r.body;
    auto v = json::parse(r.body).as_object();
    EXPECT_EQ(v.at("status"), "error");
    EXPECT_FALSE(v.at("message").as_string().empty());
  }
  EXPECT_NE(call("GET", "/api/openapi.json").body.find("/api/candles/{collection}/{symbol}"),
            std::string::npos);
}

TEST_F(VisualizerTest, QueueCallsGoThroughWithTheManagersTokenOnly) {
  auto list = ok_json("/api/queues?limit=5");
  EXPECT_EQ(list.at("data").as_array()[0].at("queue_id"), "wf-1");
  EXPECT_EQ(call("POST", "/api/queues/start", "{}").status, 401);  // the UI's token is needed
  EXPECT_EQ(call("POST", "/api/queues/start", "{}", "wrong").status, 401);
  EXPECT_EQ(call("POST", "/api/queues/start", "{}", "ui-token", "text/plain").status, 415);
  EXPECT_EQ(call("POST", "/api/queues/start", R"({"symbol":"BTCUSDT"})", "ui-token").status, 200);
  EXPECT_EQ(call("POST", "/api/queues/stop?queue_id=wf-1", "", "ui-token").status, 200);
  // What a web page of another origin could send (the token is the visualizer's to add, so
  // these must never reach the manager): refused before the body is read.
  EXPECT_EQ(call("POST", "/api/queues/stop?queue_id=wf-1", "", "ui-token", "text/plain").status,
            415);
  auto with = [&](const std::string& name, const std::string& value, const std::string& host = "") {
    net::HttpRequest r;
    if (!host.empty()) r.headers["Host"] = host;
    r.method = "POST";
    r.target = "/api/queues/stop?queue_id=wf-1";
    r.headers["Authorization"] = "Bearer ui-token";
    r.headers[name] = value;
    r.idempotent = false;
    return net::HttpClient::create(viz_->url()).value()->request(r).value();
  };
  EXPECT_EQ(with("Origin", "http://evil.example").status, 403);
  EXPECT_EQ(with("Host", "rebound.example").status, 421);
  const std::string own = "http://127.0.0.1:" + std::to_string(viz_->port());
  // Its own pages (a browser's Host carries the port).
  EXPECT_EQ(with("Origin", own, "127.0.0.1:" + std::to_string(viz_->port())).status, 200);
  std::lock_guard lock(mu_);
  ASSERT_EQ(seen_.size(), 4u);
  EXPECT_EQ(seen_[0], "GET /queues?limit=5 auth=Bearer manager-secret");
  EXPECT_EQ(seen_[1], "POST /queues/start auth=Bearer manager-secret");
  EXPECT_EQ(seen_[2], "POST /queues/stop?queue_id=wf-1 auth=Bearer manager-secret");
}

TEST_F(VisualizerTest, StaticUiAndPinnedAssets) {
  auto index = call("GET", "/");
  EXPECT_EQ(index.status, 200);
  EXPECT_NE(index.body.find("/vendor/lightweight-charts/"), std::string::npos);
  EXPECT_EQ(call("GET", "/app.js").status, 200);
  auto lc =
      call("GET", "/vendor/lightweight-charts/dist/lightweight-charts.standalone.production.js");
  EXPECT_EQ(lc.status, 200) << "run tools/install-web.sh";
  EXPECT_EQ(call("GET", "/vendor/../../etc/passwd").status, 404);
}

TEST_F(VisualizerTest, TwoClientsOnOneTopicAndAStalledOneHoldsUpNobody) {
  const std::string base = "ws://127.0.0.1:" + std::to_string(viz_->port());
  auto a = net::WsClient::connect(base + "/ws/topic/wf-x-ws_trades").value();
  auto b = net::WsClient::connect(base + "/ws/topic/wf-x-ws_trades").value();
  auto stalled = net::WsClient::connect(base + "/ws/topic/wf-x-ws_trades").value();  // never read
  EXPECT_NE(a->read(5s).value().find("subscribed"), std::string::npos);
  EXPECT_NE(b->read(5s).value().find("subscribed"), std::string::npos);
  std::this_thread::sleep_for(2500ms);  // the feed assigns the topic's end
  auto p = kafka::Producer::create({kafka_.settings(), "t", {}}).value();
  const int n = 2000;
  std::string big(8000, 'x');
  // Both reading clients get every message, in order, though the third never reads.
  std::atomic<int> got_a{0}, got_b{0};
  auto reader = [&](net::WsClient* c, std::atomic<int>* got) {
    while (*got < n) {
      auto m = c->read(10s);
      if (!m) return;
      auto v = json::parse(*m).as_object();
      if (v.at("event") != "message") continue;
      if (v.at("value").at("i").as_int64() != *got) return;  // a gap: it lost messages
      ++*got;
    }
  };
  std::thread ta(reader, a.get(), &got_a), tb(reader, b.get(), &got_b);
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(p->send("wf-x-ws_trades", "BTCUSDT",
                        "{\"i\":" + std::to_string(i) + ",\"pad\":\"" + big + "\"}")
                    .ok());
    if (i % 100 == 99) {
      // A live topic's pace, not one burst: the producer stays within 200 messages of the
      // slower reader (the bound is 500), so a reader that keeps up is never dropped however
      // slow this machine (or a sanitizer build) makes it, while the stalled client falls
      // ever further behind.
      ASSERT_TRUE(p->flush(10s).ok());
      const auto until = std::chrono::steady_clock::now() + 30s;
      while (std::min(got_a.load(), got_b.load()) < i - 200 &&
             std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(5ms);
    }
  }
  ASSERT_TRUE(p->flush(10s).ok());
  ta.join();
  tb.join();
  EXPECT_EQ(got_a.load(), n);
  EXPECT_EQ(got_b.load(), n);
  // The stalled client, read at last: it was told it lost messages.
  bool told = false;
  for (int i = 0; i < 3000 && !told; ++i) {
    auto m = stalled->read(2s);
    if (!m) break;
    told = m->find("\"dropped\"") != std::string::npos;
  }
  EXPECT_TRUE(told);
}

TEST_F(VisualizerTest, SourceSocketPushesNewDocuments) {
  auto ws = net::WsClient::connect("ws://127.0.0.1:" + std::to_string(viz_->port()) + "/ws/source")
                .value();
  EXPECT_NE(ws->read(5s).value().find("subscribed"), std::string::npos);
  std::this_thread::sleep_for(700ms);
  put("graph",
      {store::make_document(
           R"({"_key":"m:BTCUSDT:5m:1717400000000","kind":"metrics","symbol":"BTCUSDT","open_time":1717400000000})",
           "")
           .value()});
  bool seen = false;
  for (int i = 0; i < 50 && !seen; ++i) {
    auto m = ws->read(2s);
    if (!m) {
      ADD_FAILURE() << m.error().message;
      break;
    }
    seen = m->find("m:BTCUSDT:5m:1717400000000") != std::string::npos;
  }
  EXPECT_TRUE(seen);
}

}  // namespace
}  // namespace sf::viz
