// Live (ws_*) loading: gapless real-time trades and closed candles from Binance's WebSocket streams
// into Kafka. The stream is the fast path; REST fills every gap:
//  - trades carry consecutive ids: after a reconnect or any jump, the missing ids come from
//    /api/v3/historicalTrades?fromId= and are published, in order, before newer ones; ids already
//    published (overlaps after a reconnect or a rotation) are dropped;
//  - candles: only closed candles ("x":true) unless live updates are asked for; a closed candle
//    that skips periods makes the missing ones come from /api/v3/klines first.
// With a TIME_RANGE starting in the past, REST catches up from its start before the stream takes
// over; the load finishes once the range end has passed. Without one it runs until stopped.
#pragma once

#include <chrono>
#include <string>

#include "sf/binance/rest_client.h"
#include "sf/config/env.h"
#include "sf/worker/runtime.h"

namespace sf::live {

using std::chrono::milliseconds;

struct LiveOptions {
  milliseconds silence_timeout{60'000};             // WS_SILENCE_TIMEOUT_MS: no frame and no ping
  milliseconds max_connection_age{23 * 3'600'000};  // WS_MAX_CONNECTION_AGE_MS (Binance: 24 h)
  milliseconds backoff_base{250}, backoff_max{30'000};
  int max_attempts_per_5min = 300;  // Binance's connection-attempt limit
  bool live_updates = false;        // WS_LIVE_UPDATES: publish "x":false updates too
};

// Reads the WS_* variables above; an Error names the variable and the expected form.
Result<LiveOptions> live_options_from_env(const config::EnvLookup& env);

// The stream URL for `stream` on BINANCE_WS_URL: a raw endpoint (".../ws") gets "/<stream>",
// a combined one (".../stream") gets "?streams=<stream>".
std::string stream_url(const std::string& ws_url, const std::string& stream);

Status run_live_trades(worker::WorkerContext& ctx, binance::RestClient& rest, const LiveOptions& o);
Status run_live_candles(worker::WorkerContext& ctx, binance::RestClient& rest,
                        const LiveOptions& o);

}  // namespace sf::live
