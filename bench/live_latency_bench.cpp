// Live latency: the replay exchange paces a generated trade stream at about 1,000 msgs/s; the live
// trade loader runs in this process, and each delivery report is compared with the moment the
// exchange was due to send that trade (server start + market time / speed). So the figure is
// "frame sent -> delivery report": receive, parse, produce and the broker's acknowledgement.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <vector>

#include "sf/kafka/mock_cluster.h"
#include "sf/live/live.h"
#include "sf/loader/historical.h"
#include "sf/log/log.h"
#include "sf/replay/server.h"

int main(int argc, char** argv) {
  using namespace sf;
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 10;
  log::init({"live-latency-bench", log::Format::human, false});
  log::get().set_level(spdlog::level::warn);
  // Generated trades arrive ~30 ms apart in market time: speed 30 gives ~1,000 msgs/s.
  auto data = replay::Dataset::generate_trades("BENCHUSDT", 1'723'161'255'342, 200'000);
  const double speed = 30;
  replay::ServerOptions so;
  so.speed = speed;
  const auto server_start = std::chrono::system_clock::now();
  auto server = replay::ReplayServer::start(data, so).value();
  const int64_t e0 = data->find("BENCHUSDT")->trades.front().timestamp;
  auto cluster = kafka::MockCluster::start(1).value();
  for (const char* t : {"queue-control", "queue-events", "lat"}) (void)cluster->create_topic(t, 1);

  config::WorkerConfig cfg;
  cfg.queue_id = "wf-latency";
  cfg.symbol = "BENCHUSDT";
  cfg.type = "ws_trades";
  cfg.kind = config::DataKind::ws_trades;
  cfg.kafka_topic = "lat";
  cfg.producer_id = "loader-ws-trades__lat";
  cfg.kafka.bootstrap_servers = cluster->bootstrap_servers();
  cfg.kafka.security_protocol = "PLAINTEXT";
  cfg.binance_api_url = server->rest_url();
  cfg.binance_ws_url = server->ws_url();
  cfg.kafka.extra["linger.ms"] = "0";  // latency, not batching
  auto rest = loader::make_rest_client(cfg, SystemClock::shared()).value();

  std::mutex mu;
  std::vector<double> latencies_ms;
  worker::StopSource stop;
  std::thread timer([&] {
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    stop.request_stop("bench over");
  });
  worker::run_worker(
      cfg,
      [&](worker::WorkerContext& ctx) -> Status {
        ctx.producer.on_delivery([&](const kafka::DeliveryReport& r) {
          if (!r.ok) return;
          const double due_ms =
              std::chrono::duration<double, std::milli>(server_start.time_since_epoch()).count() +
              static_cast<double>(r.tag - e0) / speed;
          const double now_ms = std::chrono::duration<double, std::milli>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
          std::lock_guard lock(mu);
          latencies_ms.push_back(now_ms - due_ms);
        });
        auto st = live::run_live_trades(ctx, *rest, {});
        return !st && ctx.stop.stop_requested() ? ok_status() : st;
      },
      {SystemClock::shared(), std::chrono::milliseconds(30'000), false}, stop);
  timer.join();
  std::lock_guard lock(mu);
  if (latencies_ms.size() < 10) {
    std::printf("live latency: too few deliveries (%zu)\n", latencies_ms.size());
    return 1;
  }
  // The first second includes connecting and metadata: leave it out.
  std::vector<double> v(latencies_ms.begin() + static_cast<long>(latencies_ms.size() / seconds),
                        latencies_ms.end());
  std::sort(v.begin(), v.end());
  auto pct = [&](double p) { return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))]; };
  std::printf("live latency: frame due at the exchange -> delivery report, %zu trades at ~%.0f/s\n",
              v.size(), static_cast<double>(latencies_ms.size()) / seconds);
  std::printf("%-10s %10s\n", "quantile", "ms");
  std::printf("%-10s %10.3f\n", "p50", pct(0.50));
  std::printf("%-10s %10.3f\n", "p99", pct(0.99));
  std::printf("%-10s %10.3f\n", "max", v.back());
  return 0;
}
