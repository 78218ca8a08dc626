// A stream connection that reconnects: capped exponential backoff with jitter, at most N attempts
// per 5 minutes, silence detection, serverShutdown and age-based rotation (make-before-break: the
// new connection is opened before the old one is closed). Private to the live library.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "sf/live/live.h"
#include "sf/net/transport.h"
#include "sf/records/parser.h"

namespace sf::live {

struct StreamStats {
  int64_t reconnects = 0, garbage = 0, shutdowns = 0, silences = 0, rotations = 0;
};

class StreamConnection {
 public:
  StreamConnection(std::string url, const LiveOptions& o, Clock& clock,
                   const worker::StopSource& stop);

  // The next market-data message, or nothing when stopped. Reconnects by itself; a frame that does
  // not parse is counted and skipped.
  std::optional<records::WsMessage> next();
  // As next(), also returning nothing once `max_wait` passes without a message.
  std::optional<records::WsMessage> next(milliseconds max_wait);
  const StreamStats& stats() const { return stats_; }
  // Another frame has already arrived (next() will not wait for the network).
  bool frame_waiting() const { return ws_ && ws_->frame_waiting(); }
  // When the last frame (or ping) came, by the connection's clock.
  std::chrono::steady_clock::time_point last_activity() const { return last_activity_; }
  // Called after every reconnection (not the first connection): the caller fetches through REST
  // what the stream missed meanwhile. An Error ends next() (returns nothing; see error()).
  void on_reconnect(std::function<Status()> f) { on_reconnect_ = std::move(f); }
  const std::optional<Error>& error() const { return error_; }

 private:
  bool connect();  // false only when stopped
  void wait_before_attempt();

  std::string url_;
  LiveOptions o_;
  Clock& clock_;
  const worker::StopSource& stop_;
  std::unique_ptr<net::WsClient> ws_;
  std::chrono::steady_clock::time_point connected_at_, last_activity_;
  int64_t pings_seen_ = 0;
  // Buffered frames read since the clock was last read, and whether next() last returned a frame.
  static constexpr int kClockFreeFrames = 32;
  int clock_free_ = 0;
  bool last_was_frame_ = false;
  int failures_ = 0;
  bool ever_connected_ = false;
  std::deque<std::chrono::steady_clock::time_point> attempts_;
  records::BinanceParser parser_;
  std::function<Status()> on_reconnect_;
  std::optional<Error> error_;
  StreamStats stats_;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace sf::live
