// binance-replay: a local exchange that speaks Binance spot's REST and WebSocket market-data API
// over real captured data (or a generated dataset), with fault injection for tests.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>

#include "sf/log/log.h"
#include "sf/replay/server.h"

#ifndef SF_DEFAULT_DATA_DIR
#define SF_DEFAULT_DATA_DIR "../shared/data/binance"
#endif

int main(int argc, char** argv) {
  CLI::App app{"binance-replay: Binance spot market data (REST + WebSocket) from captured files"};
  std::string data_dir = SF_DEFAULT_DATA_DIR, url_file, write_dataset;
  sf::replay::ServerOptions o;
  int port = 0;
  app.add_option("--data", data_dir,
                 "directory of Binance captures (ws/, vision/); generated data if absent");
  app.add_option("--host", o.host, "listen address (loopback by default)");
  app.add_option("--port", port, "listen port (0: any free port)")->check(CLI::Range(0, 65535));
  app.add_option("--url-file", url_file,
                 "write BINANCE_API_URL / BINANCE_WS_URL lines to this file");
  app.add_option("--write-dataset", write_dataset,
                 "write the dataset in Binance's formats to DIR and exit");
  app.add_option("--speed", o.speed,
                 "0: as fast as clients read; 1: real time; N: N times real time");
  app.add_option("--weight-limit", o.rest.weight_limit, "REQUEST_WEIGHT per minute");
  app.add_option("--ban-seconds", o.rest.ban_seconds, "first 418 ban length");
  app.add_option("--fail-rate", o.rest.fail_rate,
                 "share of REST answers replaced by 5xx or truncated bodies")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--seed", o.rest.seed, "seed of the REST fault choice");
  app.add_option("--slow-ms", o.slow_ms, "latency added to every REST answer");
  bool no_gzip = false;
  app.add_flag("--no-gzip", no_gzip, "never gzip REST answers");
  app.add_option("--ping-interval-ms", o.ping_interval_ms, "server ping period");
  app.add_option("--pong-timeout-ms", o.pong_timeout_ms, "drop clients that do not pong in time");
  app.add_option("--max-connection-ms", o.max_connection_ms,
                 "close connections after this long (Binance: 24 h)");
  app.add_option("--drop-after", o.ws.drop_after, "WS: drop the TCP connection after N messages");
  app.add_option("--skip-on-reconnect", o.ws.skip_on_reconnect,
                 "WS: skip K messages on each reconnect");
  app.add_option("--garbage-every", o.ws.garbage_every, "WS: a garbage frame every N messages");
  app.add_option("--shutdown-after", o.ws.shutdown_after, "WS: serverShutdown after N messages");
  app.add_option("--silence-after", o.ws.silence_after, "WS: go silent after N messages");
  app.add_option("--tls-cert", o.tls_cert_file,
                 "serve HTTPS and WSS with this PEM certificate chain")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", o.tls_key_file, "the certificate's PEM private key")
      ->check(CLI::ExistingFile);
  CLI11_PARSE(app, argc, argv);
  if (o.tls_cert_file.empty() != o.tls_key_file.empty()) {
    std::fprintf(stderr, "binance-replay: --tls-cert and --tls-key go together\n");
    return 2;
  }
  o.port = static_cast<uint16_t>(port);
  o.gzip = !no_gzip;
  sf::log::init(sf::log::options_from_env("binance-replay", sf::config::process_env()));

  std::string source;
  auto data = sf::replay::Dataset::load_or_generate(data_dir, &source);
  if (!write_dataset.empty()) {
    if (auto st = data->write(write_dataset); !st) {
      std::fprintf(stderr, "binance-replay: %s\n", st.error().message.c_str());
      return 1;
    }
    std::printf("wrote %s to %s\n", source.c_str(), write_dataset.c_str());
    return 0;
  }

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto server = sf::replay::ReplayServer::start(data, o);
  if (!server) {
    std::fprintf(stderr, "binance-replay: %s\n", server.error().message.c_str());
    return 1;
  }
  const std::string lines = "BINANCE_API_URL=" + (*server)->rest_url() +
                            "\nBINANCE_WS_URL=" + (*server)->ws_url() +
                            "\nBINANCE_VISION_URL=" + (*server)->rest_url() + "\n";
  if (!url_file.empty()) {
    const std::string tmp = url_file + ".tmp";
    std::ofstream(tmp) << lines;
    std::rename(tmp.c_str(), url_file.c_str());
  }
  std::printf("%s", lines.c_str());
  std::fflush(stdout);
  std::string symbols;
  for (const auto& s : data->symbols()) symbols += (symbols.empty() ? "" : ", ") + s;
  sf::log::get().info("serving {} ({}) on {}", source, symbols, (*server)->rest_url());
  int sig = 0;
  sigwait(&set, &sig);
  const auto rs = (*server)->rest_stats();
  const auto ws = (*server)->ws_stats();
  sf::log::get().info(
      "stopping: {} REST requests ({} x 429, {} x 418, {} faults), {} WS connections, {} messages",
      rs.requests, rs.rate_limited_429, rs.banned_418, rs.faults, ws.connections, ws.messages);
  if (!url_file.empty()) std::remove(url_file.c_str());
  return 0;
}
