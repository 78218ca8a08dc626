// The loader's read path, stage by stage: the replay exchange streams generated trades at full
// speed over one WebSocket; this process reads them (a) with net::WsClient alone, (b) WsClient +
// the Binance parser, printing this thread's CPU time per frame for each. Ratios in one run.
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "sf/net/transport.h"
#include "sf/records/parser.h"
#include "sf/replay/server.h"

namespace {
double thread_cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

double run(int n, bool parse) {
  auto data = sf::replay::Dataset::generate_trades("BENCHUSDT", 1'723'161'255'342, n);
  sf::replay::ServerOptions so;
  so.batch_frames = std::getenv("LIVE_BENCH_UNBATCHED") == nullptr;
  auto server = sf::replay::ReplayServer::start(data, so).value();
  auto ws = sf::net::WsClient::connect(server->ws_url() + "/benchusdt@trade").value();
  sf::records::BinanceParser parser;
  const double c0 = thread_cpu_s();
  const auto t0 = std::chrono::steady_clock::now();
  int got = 0;
  while (got < n) {
    auto f = ws->read(std::chrono::milliseconds(2000));
    if (!f) break;
    if (parse && !parser.ws_message(*f)) break;
    ++got;
  }
  const double cpu = thread_cpu_s() - c0;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("  %d frames in %.2f s (%.0f/s), reader busy %.0f%%\n", got, wall, got / wall,
              100 * cpu / wall);
  return got == n ? cpu * 1e6 / n : -1;
}
}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 500'000;
  std::printf("read only:   %.3f us/frame\n", run(n, false));
  std::printf("read+parse:  %.3f us/frame\n", run(n, true));
}
