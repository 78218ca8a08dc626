// viz_bench: the visualizer program under load, as a table beside issue 11's aims.
//
//   1. GET /api/candles for 10,000 candles: latency (median, p99), beside GET /health in the same
//      run (the server's floor).
//   2. 100 WebSocket clients on one Kafka topic carrying 10 messages/s (each client receives 10/s):
//      push latency from produce() to the client's read (p50, p99), and the visualizer's peak RSS.
// (Page weight and time to the first chart in Chromium are printed by tools/ui-test.mjs.)
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include "bench_util.h"
#include "sf/kafka/testing/embedded_kafka.h"
#include "sf/net/transport.h"
#include "sf/process/child.h"
#include "sf/records/writer.h"
#include "sf/store/store.h"

namespace {

using Clock = std::chrono::steady_clock;

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch())
      .count();
}

double pct(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
}

uint16_t free_port() {
  FILE* f = popen(
      "/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\",0)); "
      "print(s.getsockname()[1])'",
      "r");
  char buf[32] = {0};
  if (f && fgets(buf, sizeof buf, f)) pclose(f);
  return static_cast<uint16_t>(std::atoi(buf));
}

}  // namespace

int main(int argc, char** argv) {
  const int clients = argc > 1 ? std::atoi(argv[1]) : 100;
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 10;
  const auto dir =
      std::filesystem::temp_directory_path() / ("sf-viz-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string db = (dir / "store.db").string();
  {
    sf::store::SqliteOptions so;
    so.path = db;
    so.synchronous_full = false;
    auto store = sf::store::open_sqlite(so).value();
    std::vector<sf::store::Document> docs;
    for (int i = 0; i < 10'000; ++i) {
      sf::records::Candle c;
      c.symbol = "BTCUSDT";
      c.interval = "1m";
      c.open_time = 1717200000000 + int64_t{i} * 60'000;
      c.close_time = c.open_time + 59'999;
      auto d = [](double v) {
        return sf::records::Decimal::parse(fmt::format("{:.2f}", v)).value();
      };
      c.open = d(67000 + i % 50);
      c.close = d(67001 + i % 50);
      c.high = d(67010 + i % 50);
      c.low = d(66990 + i % 50);
      c.volume = d(10 + i % 7);
      c.number_of_trades = 100;
      docs.push_back(sf::store::make_document(sf::records::to_json(c), "").value());
    }
    (void)store->ensure_collection("candles");
    (void)store->upsert("candles", docs);
  }
  sf::kafka::testing::EmbeddedKafka kafka;
  kafka.create_topic("queue-events", 1);
  kafka.create_topic("bench-topic", 1);
  const uint16_t port = free_port();
  sf::process::SpawnOptions o;
  o.path = std::string(SF_BIN_DIR) + "/visualizer";
  o.env = {{"PORT", std::to_string(port)},
           {"STREAMFORGE_DB", db},
           {"KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrap_servers()},
           {"LOG_FORMAT", "text"},
           {"VISUALIZER_WEB_DIR", std::string(SF_SOURCE_DIR) + "/web/visualizer"}};
  o.log_file = (dir / "viz.log").string();
  auto child = sf::process::Child::spawn(o).value();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  std::unique_ptr<sf::net::HttpClient> http;
  for (int i = 0; i < 100; ++i) {
    auto c = sf::net::HttpClient::create(base);
    if (c) {
      auto r = (*c)->get("/health");
      if (r && r->status == 200) {
        http = std::move(c).value();
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!http) {
    std::printf("the visualizer did not start (see %s)\n", o.log_file.c_str());
    return 1;
  }
  auto time_get = [&](const std::string& target, int n) {
    std::vector<double> ms;
    size_t bytes = 0;
    for (int i = 0; i < n; ++i) {
      const auto t0 = Clock::now();
      auto r = http->get(target);
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      if (r) bytes = r->body.size();
    }
    return std::make_pair(ms, bytes);
  };
  auto [health, hb] = time_get("/health", 200);
  auto [candles, cb] = time_get("/api/candles/candles/BTCUSDT?limit=10000", 50);

  // WebSocket fan-out.
  std::vector<std::unique_ptr<sf::net::WsClient>> ws;
  for (int i = 0; i < clients; ++i) {
    ws.push_back(sf::net::WsClient::connect("ws://127.0.0.1:" + std::to_string(port) +
                                            "/ws/topic/bench-topic")
                     .value());
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));  // the feed assigns the topic's end
  std::mutex mu;
  std::vector<double> lat;
  std::atomic<bool> done{false};
  std::atomic<int64_t> received{0};
  std::vector<std::thread> readers;
  for (auto& c : ws) {
    readers.emplace_back([&, c = c.get()] {
      while (!done) {
        auto m = c->read(std::chrono::milliseconds(500));
        if (!m) continue;
        auto v = boost::json::parse(*m);
        const auto* val = v.as_object().if_contains("value");
        if (!val || !val->is_object() || !val->as_object().contains("sent_us")) continue;
        const double us = static_cast<double>(now_us() - val->as_object().at("sent_us").as_int64());
        ++received;
        std::lock_guard lock(mu);
        lat.push_back(us / 1000.0);
      }
    });
  }
  auto p = sf::kafka::Producer::create({kafka.settings(), "bench", {{"linger.ms", "0"}}}).value();
  long peak = 0;
  const int total = 10 * seconds;
  for (int i = 0; i < total; ++i) {
    (void)p->send("bench-topic", "BTCUSDT",
                  fmt::format("{{\"i\":{},\"sent_us\":{}}}", i, now_us()));
    (void)p->flush(std::chrono::seconds(5));
    peak = std::max(peak, sf::bench::vm_hwm_kib(child->pid()));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  done = true;
  for (auto& t : readers) t.join();
  peak = std::max(peak, sf::bench::vm_hwm_kib(child->pid()));

  std::printf("viz_bench: %d clients, %d s\n\n| measure | figure | aim |\n|---|---|---|\n", clients,
              seconds);
  std::printf("| GET /health (floor) | median %.2f ms, p99 %.2f ms | |\n", pct(health, 0.5),
              pct(health, 0.99));
  std::printf(
      "| GET /api/candles, 10,000 candles (%zu KB) | median %.1f ms, p99 %.1f ms | <= 30 ms |\n",
      cb / 1024, pct(candles, 0.5), pct(candles, 0.99));
  std::printf(
      "| WebSocket push, %d clients x 10 msg/s | %lld of %d received; p50 %.1f ms, p99 %.1f ms | "
      "p99 <= 50 ms |\n",
      clients, static_cast<long long>(received.load()), total * clients, pct(lat, 0.5),
      pct(lat, 0.99));
  std::printf("| visualizer peak RSS | %.1f MiB | |\n", peak / 1024.0);
  child->terminate(std::chrono::seconds(5));
  std::filesystem::remove_all(dir);
  return 0;
}
