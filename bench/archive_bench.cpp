// One day of BTCUSDT-sized trades (1.5 M, generated) loaded by the loader-producer program from
// the bulk archive (the replay exchange's data.binance.vision tree) and from REST, into the
// embedded Kafka, in one run. Prints wall time, trades/s and peak RSS of each, the raw producer
// ceiling for records of the same size, and what REST would take at Binance's real weight budget
// (historicalTrades: weight 25 per 1,000 trades, 6,000 weight a minute), computed from the
// request count. Ratios, not absolute figures, are what to compare across machines.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench_util.h"
#include "child_run.h"
#include "sf/kafka/mock_cluster.h"
#include "sf/net/transport.h"
#include "sf/records/time_range.h"
#include "sf/records/writer.h"
#include "sf/replay/server.h"
#include "sf/vision/vision.h"

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 1'500'000;
  const int64_t day = sf::records::parse_utc_date("2024-03-01").value();
  auto data = sf::replay::Dataset::generate_trades("BENCHUSDT", day, n);
  const auto& trades = data->find("BENCHUSDT")->trades;
  if (trades.back().timestamp >= day + 86'400'000) {
    std::fprintf(stderr, "archive_bench: %d trades do not fit in one day\n", n);
    return 2;
  }
  sf::replay::ServerOptions so;
  so.rest.weight_limit = 1'000'000'000;  // REST measured on loopback without the limit
  auto server = sf::replay::ReplayServer::start(data, so).value();
  auto cluster = sf::kafka::MockCluster::start(1).value();
  for (const char* t : {"queue-control", "queue-events", "archive", "rest", "ceiling"}) {
    (void)cluster->create_topic(t, 1);
  }
  const std::string bootstrap = cluster->bootstrap_servers();
  // The replay makes the day's zip on the first request: made before anything is timed.
  const std::string path =
      sf::vision::file_path("BENCHUSDT", "trades", sf::vision::Period::daily, day);
  auto http = sf::net::HttpClient::create(server->rest_url()).value();
  auto sum = http->get(path + ".CHECKSUM").value();
  if (sum.status != 200) {
    std::fprintf(stderr, "archive_bench: the replay has no %s\n", path.c_str());
    return 1;
  }
  const double ceiling =
      sf::bench::producer_ceiling(bootstrap, "ceiling", n, sf::records::to_json(trades[n / 2]));

  auto load = [&](const char* source, const char* topic) {
    std::map<std::string, std::string> env = {{"QUEUE_ID", "wf-bench"},
                                              {"SYMBOL", "BENCHUSDT"},
                                              {"TYPE", "api_trades"},
                                              {"TIME_RANGE", "2024-03-01:2024-03-01"},
                                              {"KAFKA_TOPIC", topic},
                                              {"TELEMETRY_PRODUCER_ID", "loader-producer__bench"},
                                              {"KAFKA_BOOTSTRAP_SERVERS", bootstrap},
                                              {"BINANCE_API_URL", server->rest_url()},
                                              {"BINANCE_VISION_URL", server->rest_url()},
                                              {"BINANCE_HISTORY_SOURCE", source},
                                              {"LOG_FORMAT", "json"},
                                              {"TELEMETRY_INTERVAL", "5"}};
    if (std::getenv("BENCH_DEBUG")) env["DEBUG"] = "1";  // the loader's debug lines in its log
    return sf::bench::run_child("loader-producer", env,
                                std::string("/tmp/archive_bench-") + source + ".log");
  };
  const auto before = server->rest_stats().requests;
  const auto archive = load("archive", "archive");
  const auto mid = server->rest_stats().requests;
  const auto rest = load("rest", "rest");
  const auto rest_requests = server->rest_stats().requests - mid;
  if (archive.code != 0 || rest.code != 0) {
    std::fprintf(
        stderr,
        "archive_bench: a load failed (archive %d, rest %d); see /tmp/archive_bench-*.log\n",
        archive.code, rest.code);
    return 1;
  }
  // At Binance's budget: weight 25 per historicalTrades page of 1,000, 6,000 weight a minute.
  const double budget_s = static_cast<double>((n + 999) / 1000) * 25.0 / 6000.0 * 60.0;
  std::printf("archive_bench: %d trades of one day\n", n);
  std::printf("  producer ceiling (same records)   %10.0f trades/s\n", ceiling);
  std::printf("  archive  %7.2f s  %10.0f trades/s  peak RSS %6.1f MiB  REST requests %lld\n",
              archive.seconds, n / archive.seconds, archive.peak_kib / 1024.0,
              static_cast<long long>(mid - before));
  std::printf(
      "  REST     %7.2f s  %10.0f trades/s  peak RSS %6.1f MiB  (loopback, no weight "
      "limit; %lld requests)\n",
      rest.seconds, n / rest.seconds, rest.peak_kib / 1024.0,
      static_cast<long long>(rest_requests));
  std::printf(
      "  REST at the real weight budget     %7.0f s (computed: %d pages x 25 / 6000 a min)\n",
      budget_s, (n + 999) / 1000);
  std::printf(
      "  ratios: archive/ceiling %.2f, REST(loopback)/archive time %.2f, "
      "REST(budget)/archive time %.0f\n",
      (n / archive.seconds) / ceiling, rest.seconds / archive.seconds, budget_s / archive.seconds);
  std::printf("  aims: >= 1,000,000 trades/s from the archive, peak RSS <= 32 MiB\n");
  return 0;
}
