// ReplayServer: the replay exchange on HTTP + WebSocket (Boost.Beast), on loopback.
//
// REST: RestApi (see rest_api.h) with optional latency (`slow_ms`).
// WebSocket: raw `/ws/<stream>`, combined `/stream?streams=<a>/<b>` ({"stream","data"} envelopes),
// and `/ws` with {"method":"SUBSCRIBE","params":[...],"id":N}. Streams: <sym>@trade,
// <sym>@aggTrade, <sym>@kline_<interval>. The market is shared: each stream has a head (the
// furthest message any connection was sent), and a new connection starts there, like joining a live
// market. With speed = 0 messages go out as fast as the client reads; with speed = s, at s times
// market time. The server pings every `ping_interval_ms` and drops a client that has not answered
// within `pong_timeout_ms`; it closes every connection after `max_connection_ms` (Binance: 24 h).
//
// Fault injection for the tests of the live loaders (all 0 = off):
//   drop_after N        close the TCP connection abruptly after N data messages
//   skip_on_reconnect K each connection after a stream's first starts K messages past the head
//   garbage_every N     a non-JSON text frame before every Nth message
//   shutdown_after N    after N messages send {"e":"serverShutdown"} and close 500 ms later
//   silence_after N     after N messages send nothing more (no data, no pings) and keep the socket
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "sf/core/clock.h"
#include "sf/core/result.h"
#include "sf/replay/dataset.h"
#include "sf/replay/rest_api.h"
#include "sf/replay/vision_tree.h"

namespace sf::replay {

struct WsFaults {
  int drop_after = 0;
  int skip_on_reconnect = 0;
  int garbage_every = 0;
  int shutdown_after = 0;
  int silence_after = 0;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: the kernel picks
  RestOptions rest;
  int slow_ms = 0;   // added to every REST answer
  bool gzip = true;  // gzip REST answers of clients that send Accept-Encoding: gzip (as Binance)
  double speed = 0;  // 0: as fast as possible; 1: real time
  int ping_interval_ms = 20'000;
  int pong_timeout_ms = 60'000;
  int64_t max_connection_ms = 24LL * 3600 * 1000;
  WsFaults ws;
  // With speed 0 and no faults: market-data frames go out up to 64 KiB per socket write instead
  // of one write each (benchmarks: a sender faster than the loader it measures). Such a stream's
  // client must not ping it (the automatic pong could land inside a batch); ours never do.
  bool batch_frames = false;
  VisionFaults vision;  // the archive under /data/ (vision_tree.h)
  // Called on the server's thread right after each market-data frame is written (benchmarks:
  // the moment a frame left the exchange), with the message's raw-stream JSON.
  std::function<void(const std::string& json)> on_sent;
  // Both set: HTTPS and WSS only, with this PEM certificate chain and private key.
  std::string tls_cert_file, tls_key_file;
};

struct WsStats {
  int64_t connections = 0, messages = 0, drops = 0;
};

class ReplayServer {
 public:
  static Result<std::unique_ptr<ReplayServer>> start(
      std::shared_ptr<const Dataset> data, ServerOptions options,
      std::shared_ptr<Clock> clock = SystemClock::shared());
  ~ReplayServer();  // stops the server and joins its thread

  uint16_t port() const;
  std::string rest_url() const;  // "http://127.0.0.1:<port>" (https with TLS)
  std::string ws_url() const;    // "ws://127.0.0.1:<port>/ws" (wss with TLS)
  RestStats rest_stats() const;
  WsStats ws_stats() const;

  struct Impl;

 private:
  explicit ReplayServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sf::replay
