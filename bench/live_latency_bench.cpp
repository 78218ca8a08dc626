// Live latency, as a user of the topic sees it: the replay exchange paces a generated trade stream
// at about 1,000 msgs/s and notes the moment each frame left it (right after the socket write);
// the live trade loader runs in this process with its default settings; a consumer polls the
// topic and, for each record, takes now - that moment. So the figure is "frame sent -> record
// visible to a consumer": receive, parse, produce, the broker, and the consumer's fetch.
// The same run prints the consumer's own floor (a record produced here -> seen by the consumer).
// The consumer's fetch.wait.max.ms is the second argument (default 0): librdkafka's mock broker
// holds an empty fetch for that long even when a record arrives meanwhile (1 ms: p50 1.25 ms;
// 0: 0.2 ms, at the cost of a consumer that keeps fetching), where a real broker answers a
// fetch.min.bytes=1 fetch as soon as there is data.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "sf/kafka/client.h"
#include "sf/kafka/mock_cluster.h"
#include "sf/live/live.h"
#include "sf/loader/historical.h"
#include "sf/log/log.h"
#include "sf/replay/server.h"

namespace {

using Steady = std::chrono::steady_clock;

int64_t field(const std::string& json, const char* key) {
  const size_t at = json.find(key);
  return at == std::string::npos ? -1 : std::atoll(json.c_str() + at + std::strlen(key));
}

struct Quantiles {
  double p50 = 0, p99 = 0, max = 0;
  size_t n = 0;
};

Quantiles quantiles(std::vector<double> v) {
  Quantiles q;
  if (v.empty()) return q;
  std::sort(v.begin(), v.end());
  auto at = [&](double p) { return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))]; };
  q.p50 = at(0.5);
  q.p99 = at(0.99);
  q.max = v.back();
  q.n = v.size();
  return q;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sf;
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 10;
  const std::string fetch_wait = argc > 2 ? argv[2] : "0";
  const std::string loader_linger = argc > 3 ? argv[3] : "";  // empty: the loader default
  log::init({"live-latency-bench", log::Format::human, false});
  log::get().set_level(spdlog::level::warn);
  // Generated trades arrive ~30 ms apart in market time: speed 30 gives ~1,000 msgs/s.
  auto data = replay::Dataset::generate_trades("BENCHUSDT", 1'723'161'255'342, 200'000);
  std::mutex mu;
  std::unordered_map<int64_t, Steady::time_point> sent;  // trade id -> when its frame left
  std::unordered_map<int64_t, double> sent_wall_ms;      // the same on the system clock
  replay::ServerOptions so;
  so.speed = 30;
  so.on_sent = [&](const std::string& json) {
    const int64_t id = field(json, "\"t\":");
    const auto now = Steady::now();
    const double wall = std::chrono::duration<double, std::milli>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    std::lock_guard lock(mu);
    sent[id] = now;
    sent_wall_ms[id] = wall;
  };
  auto server = replay::ReplayServer::start(data, so).value();
  auto cluster = kafka::MockCluster::start(1).value();
  for (const char* t : {"queue-control", "queue-events", "lat", "floor"}) {
    (void)cluster->create_topic(t, 1);
  }
  config::KafkaSettings ks;
  ks.bootstrap_servers = cluster->bootstrap_servers();
  ks.security_protocol = "PLAINTEXT";
  auto consumer_for = [&](const std::string& topic) {
    kafka::ConsumerOptions co;
    co.settings = ks;
    co.client_id = "latency-reader";
    co.properties = {{"fetch.wait.max.ms", fetch_wait}, {"fetch.error.backoff.ms", "1"}};
    auto c = kafka::Consumer::create(co).value();
    (void)c->assign_from_beginning(topic, std::chrono::seconds(10));
    return c;
  };

  // The consumer's floor: records produced here (linger 0), each seen by the consumer.
  std::vector<double> floor_ms;
  {
    kafka::ProducerOptions po;
    po.settings = ks;
    po.properties = {{"linger.ms", "0"}};
    auto p = kafka::Producer::create(po).value();
    (void)p->prepare("floor", std::chrono::seconds(5));
    auto c = consumer_for("floor");
    for (int i = 0; i < 500; ++i) {
      const auto t0 = Steady::now();
      (void)p->send("floor", "k", std::to_string(i), i);
      for (;;) {
        auto m = c->poll(std::chrono::milliseconds(100));
        if (m && *m) break;
      }
      floor_ms.push_back(std::chrono::duration<double, std::milli>(Steady::now() - t0).count());
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  config::WorkerConfig cfg;
  cfg.queue_id = "wf-latency";
  cfg.symbol = "BENCHUSDT";
  cfg.type = "ws_trades";
  cfg.kind = config::DataKind::ws_trades;
  cfg.kafka_topic = "lat";
  cfg.producer_id = "loader-ws-trades__lat";
  cfg.kafka = ks;
  // The loader's producer linger (its default for live loaders is 0), as KAFKA_PROPERTIES would.
  if (!loader_linger.empty()) cfg.kafka.extra["linger.ms"] = loader_linger;
  cfg.binance_api_url = server->rest_url();
  cfg.binance_ws_url = server->ws_url();
  auto rest = loader::make_rest_client(cfg, SystemClock::shared()).value();

  std::vector<double> latencies_ms, arrivals_s;  // arrivals: when each was seen (LATENCY_DUMP)
  std::vector<double> created_after_ms;
  const auto bench_start = Steady::now();
  worker::StopSource stop;
  std::atomic<bool> reading{true};
  std::thread reader([&] {
    auto c = consumer_for("lat");
    const auto skip_until = Steady::now() + std::chrono::seconds(1);  // connecting, metadata
    while (reading) {
      auto m = c->poll(std::chrono::milliseconds(50));
      if (!m || !*m) continue;
      const auto now = Steady::now();
      const int64_t id = field((*m)->value, "\"trade_id\":");
      std::lock_guard lock(mu);
      auto it = sent.find(id);
      if (it == sent.end() || now < skip_until) continue;
      latencies_ms.push_back(std::chrono::duration<double, std::milli>(now - it->second).count());
      arrivals_s.push_back(std::chrono::duration<double>(now - bench_start).count());
      // The record's CreateTime (ms, set by the loader's producer) against the frame's send
      // time: where a slow one spent its time, to the millisecond.
      created_after_ms.push_back(static_cast<double>((*m)->timestamp_ms) - sent_wall_ms[id]);
    }
  });
  std::thread timer([&] {
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    stop.request_stop("bench over");
  });
  worker::run_worker(
      cfg,
      [&](worker::WorkerContext& ctx) -> Status {
        auto st = live::run_live_trades(ctx, *rest, {});
        return !st && ctx.stop.stop_requested() ? ok_status() : st;
      },
      {SystemClock::shared(), std::chrono::milliseconds(30'000), false}, stop);
  timer.join();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  reading = false;
  reader.join();
  if (const char* dump = std::getenv("LATENCY_DUMP")) {
    // "seconds_since_start latency_ms" per record, to see when the slow ones came.
    if (FILE* f = std::fopen(dump, "w")) {
      for (size_t i = 0; i < latencies_ms.size(); ++i) {
        std::fprintf(f, "%.6f %.3f %.3f\n", arrivals_s[i], latencies_ms[i], created_after_ms[i]);
      }
      std::fclose(f);
    }
  }
  const auto q = quantiles(latencies_ms);
  const auto f = quantiles(floor_ms);
  if (q.n < 100) {
    std::printf("live latency: too few records seen (%zu)\n", q.n);
    return 1;
  }
  std::printf(
      "live latency: frame sent by the exchange -> record seen by a consumer, %zu trades "
      "at ~%.0f/s (consumer fetch.wait.max.ms=%s, loader linger.ms=%s)\n",
      q.n, static_cast<double>(q.n) / (seconds - 1), fetch_wait.c_str(),
      loader_linger.empty() ? "0 (default)" : loader_linger.c_str());
  std::printf("%-34s %9s %9s %9s\n", "", "p50 ms", "p99 ms", "max ms");
  std::printf("%-34s %9.3f %9.3f %9.3f\n", "frame -> consumer (loader default)", q.p50, q.p99,
              q.max);
  std::printf("%-34s %9.3f %9.3f %9.3f\n", "floor: produce -> consumer", f.p50, f.p99, f.max);
  std::printf("aim: p99 <= 2 ms at 1,000 msgs/s\n");
  return 0;
}
