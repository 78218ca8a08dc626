// Live throughput: the replay exchange streams generated trades as fast as it can to one
// loader-ws-trades process, into the embedded Kafka. Prints msgs/s delivered, the loader's CPU time
// per message and peak RSS, beside the raw producer ceiling measured in the same run.
// Latency is measured by live_latency_bench.
// BENCH_REPEAT rounds (3 by default), each the ceiling then the loader into a fresh topic; the
// medians over the rounds are the figures to quote. LIVE_BENCH_LOADER=PATH runs that loader
// binary instead of the build's; LIVE_BENCH_LOADER_B=PATH also runs a second one in each round
// (after the first in odd rounds, before it in even ones) and prints its CPU per trade as a ratio
// to the first's: an A/B comparison of two builds on the same machine in the same minutes.
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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

namespace {

struct LoaderRun {
  int64_t delivered = 0;
  double wall = 0, cpu = 0;
  long peak_kib = 0;
  int code = -1;
  double rate() const { return wall > 0 ? delivered / wall : 0.0; }
  double us_per_trade() const { return delivered ? cpu * 1e6 / delivered : 0.0; }
};

// One loader process streaming the whole dataset into `topic` (created here) from an exchange of
// its own (a stream resumes where the exchange is, so each run needs a fresh one), until the topic
// holds `n` records (at most 120 s), then SIGTERM.
LoaderRun run_loader(const std::string& path, const std::string& topic, int n,
                     sf::kafka::MockCluster& cluster, sf::kafka::Consumer& watcher,
                     const std::shared_ptr<const sf::replay::Dataset>& data) {
  // The exchange writes its frames in batches (as a busy stream arrives over a real network):
  // the loader, not the sender, is what is measured. LIVE_BENCH_UNBATCHED=1: a write per frame.
  sf::replay::ServerOptions so;
  so.batch_frames = std::getenv("LIVE_BENCH_UNBATCHED") == nullptr;
  auto server = sf::replay::ReplayServer::start(data, so).value();
  (void)cluster.create_topic(topic, 1);
  const std::string bootstrap = cluster.bootstrap_servers();
  std::vector<std::string> env = {"QUEUE_ID=wf-bench",
                                  "SYMBOL=BENCHUSDT",
                                  "TYPE=ws_trades",
                                  "KAFKA_TOPIC=" + topic,
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
  std::string program = path;
  char* args[] = {program.data(), nullptr};
  LoaderRun r;
  const auto t0 = std::chrono::steady_clock::now();
  pid_t pid = 0;
  if (posix_spawn(&pid, path.c_str(), nullptr, nullptr, args, envp.data()) != 0) return r;
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(120)) {
    r.peak_kib = std::max(r.peak_kib, sf::bench::vm_hwm_kib(pid));
    auto w = watcher.watermarks(topic, 0, std::chrono::seconds(2));
    if (w && w->high >= n) {
      r.delivered = w->high;
      r.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      break;
    }
    usleep(20'000);
  }
  r.peak_kib = std::max(r.peak_kib, sf::bench::vm_hwm_kib(pid));
  kill(pid, SIGTERM);
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  r.cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
          ru.ru_stime.tv_usec / 1e6;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 500'000;
  const int rounds =
      std::max(1, std::getenv("BENCH_REPEAT") ? std::atoi(std::getenv("BENCH_REPEAT")) : 3);
  const std::string loader_a = std::getenv("LIVE_BENCH_LOADER")
                                   ? std::getenv("LIVE_BENCH_LOADER")
                                   : std::string(SF_BIN_DIR) + "/loader-ws-trades";
  const char* loader_b = std::getenv("LIVE_BENCH_LOADER_B");
  auto data = sf::replay::Dataset::generate_trades("BENCHUSDT", 1'723'161'255'342, n);
  auto cluster = sf::kafka::MockCluster::start(1).value();
  for (const char* t : {"queue-control", "queue-events"}) (void)cluster->create_topic(t, 1);
  const std::string bootstrap = cluster->bootstrap_servers();
  const std::string sample = sf::records::to_json(data->find("BENCHUSDT")->trades.front());

  sf::kafka::ConsumerOptions co;
  co.settings.bootstrap_servers = bootstrap;
  co.settings.security_protocol = "PLAINTEXT";
  auto watcher = sf::kafka::Consumer::create(co).value();

  std::printf("live: %d generated trades streamed at full speed to %s, %d rounds\n", n,
              loader_a.c_str(), rounds);
  if (loader_b) std::printf("  and in each round then to %s (B)\n", loader_b);
  std::printf("%-6s %12s %12s %8s %8s %8s %5s", "round", "ceiling/s", "trades/s", "ratio",
              "us/trade", "MiB", "exit");
  if (loader_b) std::printf(" %12s %8s %8s", "B trades/s", "B us", "B/A us");
  std::printf("\n");
  std::vector<double> ceilings, rates, ratios, cpus, b_rates, b_cpus, b_over_a;
  long peak = 0;
  bool ok = true;
  for (int r = 0; r < rounds; ++r) {
    const std::string tag = std::to_string(r);
    (void)cluster->create_topic("ceiling-" + tag, 1);
    const double ceiling = sf::bench::producer_ceiling(bootstrap, "ceiling-" + tag, n, sample);
    // With B, every other round runs B first: the second run of a round meets a warmer broker.
    const bool b_first = loader_b != nullptr && r % 2 == 1;
    LoaderRun b;
    if (b_first) b = run_loader(loader_b, "live-data-b-" + tag, n, *cluster, *watcher, data);
    const LoaderRun a = run_loader(loader_a, "live-data-" + tag, n, *cluster, *watcher, data);
    ok = ok && a.delivered >= n;
    ceilings.push_back(ceiling);
    rates.push_back(a.rate());
    ratios.push_back(a.rate() / ceiling);
    cpus.push_back(a.us_per_trade());
    peak = std::max(peak, a.peak_kib);
    std::printf("%-6d %12.0f %12.0f %8.3f %8.2f %8.1f %5d", r + 1, ceiling, a.rate(),
                a.rate() / ceiling, a.us_per_trade(), a.peak_kib / 1024.0, a.code);
    if (loader_b) {
      if (!b_first) b = run_loader(loader_b, "live-data-b-" + tag, n, *cluster, *watcher, data);
      ok = ok && b.delivered >= n;
      b_rates.push_back(b.rate());
      b_cpus.push_back(b.us_per_trade());
      b_over_a.push_back(b.us_per_trade() / a.us_per_trade());
      std::printf(" %12.0f %8.2f %8.3f", b.rate(), b.us_per_trade(),
                  b.us_per_trade() / a.us_per_trade());
    }
    std::printf("\n");
  }
  std::printf("%-44s %14s\n", "figure (medians over the rounds)", "value");
  std::printf("%-44s %14.0f\n", "trades/s end to end (incl. start-up)", median(rates));
  std::printf("%-44s %14.0f\n", "raw producer ceiling (msgs/s, same run)", median(ceilings));
  std::printf("%-44s %14.3f\n", "ratio end-to-end / ceiling", median(ratios));
  std::printf("%-44s %14.2f\n", "loader CPU per message (us)", median(cpus));
  std::printf("%-44s %14.1f\n", "loader peak RSS (MiB, VmHWM, the most)", peak / 1024.0);
  if (loader_b) {
    std::printf("%-44s %14.0f\n", "B: trades/s end to end", median(b_rates));
    std::printf("%-44s %14.2f\n", "B: loader CPU per message (us)", median(b_cpus));
    std::printf("%-44s %14.3f\n", "B / A CPU per message (each round's)", median(b_over_a));
  }
  return ok ? 0 : 1;
}
