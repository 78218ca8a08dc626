#include "connection.h"

#include "sf/core/backoff.h"
#include "sf/log/log.h"

namespace sf::live {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

StreamConnection::StreamConnection(std::string url, const LiveOptions& o, Clock& clock,
                                   const worker::StopSource& stop)
    : url_(std::move(url)), o_(o), clock_(clock), stop_(stop) {}

void StreamConnection::wait_before_attempt() {
  auto pause = [&](milliseconds d) {
    // In slices, so a stop is honoured within 100 ms.
    while (d.count() > 0 && !stop_.stop_requested()) {
      const auto slice = std::min(d, milliseconds(100));
      clock_.sleep_for(slice);
      d -= slice;
    }
  };
  if (failures_ > 0) {
    pause(jittered(backoff_delay(o_.backoff_base, o_.backoff_max, failures_ - 1), rng_));
  }
  // Binance allows 300 connection attempts per 5 minutes per IP.
  const auto now = clock_.steady_now();
  while (!attempts_.empty() && now - attempts_.front() > 5min) attempts_.pop_front();
  if (static_cast<int>(attempts_.size()) >= o_.max_attempts_per_5min) {
    pause(std::chrono::duration_cast<milliseconds>(attempts_.front() + 5min - now));
  }
  attempts_.push_back(clock_.steady_now());
}

bool StreamConnection::connect() {
  while (!stop_.stop_requested()) {
    wait_before_attempt();
    if (stop_.stop_requested()) break;
    auto c = net::WsClient::connect(url_);
    if (c) {
      ws_ = std::move(c).value();
      connected_at_ = last_activity_ = clock_.steady_now();
      pings_seen_ = 0;
      log::get().info("stream connected: {}", url_);
      if (ever_connected_) {
        ++stats_.reconnects;
        if (on_reconnect_) {
          if (auto st = on_reconnect_(); !st) {
            error_ = st.error();
            return false;
          }
        }
      }
      ever_connected_ = true;
      return true;
    }
    if (!c.error().retryable) {  // an untrusted certificate: reconnecting cannot help
      error_ = make_error("cannot open " + url_ + ": " + c.error().message);
      return false;
    }
    ++failures_;
    log::get().warn("cannot open {} (attempt {}): {}", url_, failures_, c.error().message);
  }
  return false;
}

std::optional<records::WsMessage> StreamConnection::next() {
  return next(milliseconds::max());
}

std::optional<records::WsMessage> StreamConnection::next(milliseconds max_wait) {
  // One clock reading per frame at most: the frame's arrival, which also serves the next round's
  // checks. A frame already buffered arrives now: right after a frame, up to kClockFreeFrames
  // such frames in a row take the time read for the frame before (a burst lasts microseconds;
  // the checks below then run at most that many frames late).
  const bool burst =
      ws_ && last_was_frame_ && clock_free_ < kClockFreeFrames && ws_->frame_waiting();
  auto now = burst ? last_activity_ : clock_.steady_now();
  clock_free_ = burst ? clock_free_ + 1 : 0;
  last_was_frame_ = false;
  const auto give_up = max_wait == milliseconds::max() ? steady::time_point::max() : now + max_wait;
  for (bool first = true;; first = false) {
    if (stop_.stop_requested()) return std::nullopt;
    if (!first) now = clock_.steady_now();
    if (now >= give_up) return std::nullopt;
    if (!ws_ && !connect()) return std::nullopt;
    if (now - connected_at_ >= o_.max_connection_age) {
      // Make before break: the new connection is open before the old one goes; the overlap
      // is dropped by the caller's id / open-time logic.
      auto fresh = net::WsClient::connect(url_);
      if (fresh) {
        ws_ = std::move(fresh).value();
        connected_at_ = last_activity_ = clock_.steady_now();
        pings_seen_ = 0;
        ++stats_.rotations;
        log::get().info("rotated the stream connection before its age limit");
      } else {
        connected_at_ = now - o_.max_connection_age + 5s;  // try again in 5 s
      }
    }
    const bool buffered = ws_->frame_waiting();  // then it arrives now, no clock to read again
    auto frame = ws_->read(200ms);
    if (!frame) {
      if (frame.error().message.rfind("timeout", 0) == 0) {
        if (ws_->pings_received() != pings_seen_) {
          pings_seen_ = ws_->pings_received();
          last_activity_ = clock_.steady_now();
        }
        if (clock_.steady_now() - last_activity_ > o_.silence_timeout) {
          ++stats_.silences;
          log::get().warn("no frame and no ping for {} ms: reconnecting",
                          o_.silence_timeout.count());
          ws_.reset();
        }
        continue;
      }
      log::get().warn("stream closed ({}): reconnecting", frame.error().message);
      ws_.reset();
      continue;
    }
    last_activity_ = buffered ? now : clock_.steady_now();
    auto msg = parser_.ws_message(*frame);
    if (!msg) {
      if (++stats_.garbage <= 5) {
        log::get().warn("skipping a frame that does not parse: {}", msg.error().message);
      }
      continue;
    }
    if (std::holds_alternative<records::ServerShutdown>(*msg)) {
      ++stats_.shutdowns;
      log::get().info("serverShutdown: reconnecting at once");
      ws_.reset();
      failures_ = 0;
      continue;
    }
    if (std::holds_alternative<records::Ignored>(*msg)) continue;
    failures_ = 0;
    last_was_frame_ = true;
    return std::move(msg).value();
  }
}

}  // namespace sf::live
