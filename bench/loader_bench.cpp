// End-to-end historical load: one year of 1m candles (525,600, generated) served by the replay
// exchange without a weight limit, loaded by the loader-producer program into the embedded Kafka.
// Prints wall time, candles/s, the loader's CPU time and peak RSS, beside the raw producer ceiling
// (records of the same size) measured in the same run, and what Binance's real weight budget
// allows.
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
#include "sf/records/time_range.h"
#include "sf/records/writer.h"
#include "sf/replay/server.h"

extern char** environ;

int main(int argc, char** argv) {
  const int candles = argc > 1 ? std::atoi(argv[1]) : 525'600;
  const int parallel = argc > 2 ? std::atoi(argv[2]) : 4;
  const int64_t start = sf::records::parse_utc_date("2023-01-01").value();
  const int64_t end_day_ms =
      start + (static_cast<int64_t>(candles) * 60'000 - 1) / 86'400'000 * 86'400'000;
  const std::string range = "2023-01-01:" + sf::records::format_utc(end_day_ms).substr(0, 10);

  auto data = sf::replay::Dataset::generate_candles("BENCHUSDT", start, candles);
  sf::replay::ServerOptions so;
  so.rest.weight_limit = 1'000'000'000;
  auto server = sf::replay::ReplayServer::start(data, so).value();
  auto cluster = sf::kafka::MockCluster::start(1).value();
  for (const char* t : {"queue-control", "queue-events", "bench-data", "ceiling"}) {
    (void)cluster->create_topic(t, 1);
  }
  const std::string bootstrap = cluster->bootstrap_servers();
  const std::string sample = sf::records::to_json(data->find("BENCHUSDT")->klines_1m.front());

  const double ceiling = sf::bench::producer_ceiling(bootstrap, "ceiling", candles, sample);

  std::vector<std::string> env = {"QUEUE_ID=wf-bench",
                                  "SYMBOL=BENCHUSDT",
                                  "TYPE=api_candles_1m",
                                  "TIME_RANGE=" + range,
                                  "KAFKA_TOPIC=bench-data",
                                  "TELEMETRY_PRODUCER_ID=loader-producer__bench",
                                  "KAFKA_BOOTSTRAP_SERVERS=" + bootstrap,
                                  "BINANCE_API_URL=" + server->rest_url(),
                                  "BINANCE_PARALLEL_PAGES=" + std::to_string(parallel),
                                  "LOG_FORMAT=json",
                                  "TELEMETRY_INTERVAL=5"};
  if (const char* extra = std::getenv("LOADER_KAFKA_PROPERTIES")) {
    env.push_back(std::string("KAFKA_PROPERTIES=") + extra);
  }
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string path = std::string(SF_BIN_DIR) + "/loader-producer";
  std::string wrapper = std::getenv("LOADER_WRAPPER") ? std::getenv("LOADER_WRAPPER") : "";
  std::vector<char*> args;
  if (!wrapper.empty()) args.push_back(wrapper.data());
  args.push_back(path.data());
  args.push_back(nullptr);
  const auto t0 = std::chrono::steady_clock::now();
  pid_t pid = 0;
  if (posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), envp.data()) != 0) return 1;
  // Peak RSS from /proc/<pid>/status VmHWM, sampled while the loader runs: getrusage's ru_maxrss
  // would include the bench's own memory, which posix_spawn's vfork child shares before exec.
  int status = 0;
  rusage ru{};
  long peak_kib = 0;
  for (;;) {
    peak_kib = std::max(peak_kib, sf::bench::vm_hwm_kib(pid));
    if (wait4(pid, &status, WNOHANG, &ru) == pid) break;
    usleep(5000);
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
                     ru.ru_stime.tv_usec / 1e6;
  const auto stats = server->rest_stats();
  const int64_t weight = 20 + (stats.requests - 1) * 2;  // exchangeInfo + klines pages
  const double real_minutes = static_cast<double>(weight) / (6000 * 0.8);

  std::printf("loader: %d 1m candles (%s), generated, replay exchange without weight limit\n",
              candles, range.c_str());
  std::printf("  exit code %d, %lld REST requests, %d pages in flight\n", WEXITSTATUS(status),
              static_cast<long long>(stats.requests), parallel);
  std::printf("%-40s %14s\n", "figure", "value");
  std::printf("%-40s %14.2f\n", "wall time (s)", wall);
  std::printf("%-40s %14.0f\n", "candles/s end to end", candles / wall);
  std::printf("%-40s %14.0f\n", "raw producer ceiling (msgs/s, same run)", ceiling);
  std::printf("%-40s %14.3f\n", "ratio end-to-end / ceiling", candles / wall / ceiling);
  std::printf("%-40s %14.2f\n", "loader CPU time (s)", cpu);
  std::printf("%-40s %14.1f\n", "loader peak RSS (MiB, VmHWM)", peak_kib / 1024.0);
  std::printf("%-40s %14.1f\n", "at Binance's 6000/min x 80% (minutes)", real_minutes);
  return WEXITSTATUS(status);
}
