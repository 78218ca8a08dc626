// Live throughput: the replay exchange streams generated trades as fast as it can to one
// loader-ws-trades process, into the embedded Kafka. Prints msgs/s delivered, the loader's CPU time
// per message and peak RSS, beside the raw producer ceiling measured in the same run.
// Latency is measured by live_latency_bench.
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_util.h"
#include "sf/kafka/client.h"
#include "sf/kafka/mock_cluster.h"
#include "sf/records/writer.h"
#include "sf/replay/server.h"

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 500'000;
  auto data = sf::replay::Dataset::generate_trades("BENCHUSDT", 1'723'161'255'342, n);
  // The exchange writes its frames in batches (as a busy stream arrives over a real network):
  // the loader, not the sender, is what is measured. LIVE_BENCH_UNBATCHED=1: a write per frame.
  sf::replay::ServerOptions so;
  so.batch_frames = std::getenv("LIVE_BENCH_UNBATCHED") == nullptr;
  auto server = sf::replay::ReplayServer::start(data, so).value();
  auto cluster = sf::kafka::MockCluster::start(1).value();
  for (const char* t : {"queue-control", "queue-events", "live-data", "ceiling"}) {
    (void)cluster->create_topic(t, 1);
  }
  const std::string bootstrap = cluster->bootstrap_servers();
  const double ceiling = sf::bench::producer_ceiling(
      bootstrap, "ceiling", n, sf::records::to_json(data->find("BENCHUSDT")->trades.front()));

  sf::kafka::ConsumerOptions co;
  co.settings.bootstrap_servers = bootstrap;
  co.settings.security_protocol = "PLAINTEXT";
  auto watcher = sf::kafka::Consumer::create(co).value();

  std::vector<std::string> env = {"QUEUE_ID=wf-bench",
                                  "SYMBOL=BENCHUSDT",
                                  "TYPE=ws_trades",
                                  "KAFKA_TOPIC=live-data",
                                  "TELEMETRY_PRODUCER_ID=loader-ws-trades__bench",
                                  "KAFKA_BOOTSTRAP_SERVERS=" + bootstrap,
                                  "BINANCE_API_URL=" + server->rest_url(),
                                  "BINANCE_WS_URL=" + server->ws_url(),
                                  "LOG_FORMAT=json"};
  // Producer experiments: the bench's own KAFKA_PROPERTIES reach the loader.
  if (const char* props = std::getenv("KAFKA_PROPERTIES")) {
    env.push_back(std::string("KAFKA_PROPERTIES=") + props);
  }
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string path = std::string(SF_BIN_DIR) + "/loader-ws-trades";
  char* args[] = {path.data(), nullptr};
  const auto t0 = std::chrono::steady_clock::now();
  pid_t pid = 0;
  if (posix_spawn(&pid, path.c_str(), nullptr, nullptr, args, envp.data()) != 0) return 1;
  long peak = 0;
  double wall = 0;
  int64_t delivered = 0;
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(120)) {
    peak = std::max(peak, sf::bench::vm_hwm_kib(pid));
    auto w = watcher->watermarks("live-data", 0, std::chrono::seconds(2));
    if (w && w->high >= n) {
      delivered = w->high;
      wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      break;
    }
    usleep(20'000);
  }
  peak = std::max(peak, sf::bench::vm_hwm_kib(pid));
  kill(pid, SIGTERM);
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  const double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
                     ru.ru_stime.tv_usec / 1e6;
  std::printf("live: %d generated trades streamed at full speed to loader-ws-trades\n", n);
  std::printf("%-44s %14s\n", "figure", "value");
  std::printf("%-44s %14lld\n", "trades delivered", static_cast<long long>(delivered));
  std::printf("%-44s %14.2f\n", "wall time to deliver all (s, incl. start-up)", wall);
  std::printf("%-44s %14.0f\n", "trades/s end to end", wall > 0 ? delivered / wall : 0.0);
  std::printf("%-44s %14.0f\n", "raw producer ceiling (msgs/s, same run)", ceiling);
  std::printf("%-44s %14.3f\n", "ratio end-to-end / ceiling",
              wall > 0 ? delivered / wall / ceiling : 0.0);
  std::printf("%-44s %14.2f\n", "loader CPU per message (us)",
              delivered ? cpu * 1e6 / delivered : 0.0);
  std::printf("%-44s %14.1f\n", "loader peak RSS (MiB, VmHWM)", peak / 1024.0);
  std::printf("%-44s %14d\n", "loader exit code after SIGTERM", WEXITSTATUS(status));
  return delivered >= n ? 0 : 1;
}
