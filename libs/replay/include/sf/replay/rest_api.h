// RestApi: Binance spot's REST market-data endpoints over a Dataset, as plain request -> response
// (no sockets here, so every semantic is unit-tested directly; server.h puts it on HTTP).
//
// Endpoints: /api/v3/ping, /time, /exchangeInfo, /klines, /aggTrades, /historicalTrades, /trades,
// with Binance's parameters, defaults and limits (limit <= 1000), ordering, error bodies
// ({"code":-1121,"msg":"Invalid symbol."} ...), request weights per IP and minute with
// X-MBX-USED-WEIGHT-1M on every answer, 429 + Retry-After over the limit and 418 + Retry-After
// (a ban) for a client that keeps sending while told to wait.
//
// Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "sf/core/clock.h"
#include "sf/replay/dataset.h"

namespace sf::replay {

struct RestRequest {
  std::string method = "GET";
  std::string path;   // "/api/v3/klines"
  std::string query;  // "symbol=BTCUSDT&interval=1m" (no '?')
  std::string client = "127.0.0.1";
};

struct RestResponse {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string header(std::string_view name) const;
};

struct RestOptions {
  int weight_limit = 6000;  // REQUEST_WEIGHT per minute, as exchangeInfo reports it
  int ban_seconds = 120;    // first 418 ban; Binance escalates from 2 minutes to 3 days
  // Share of answers replaced by a fault (5xx or a truncated body), spread evenly: 0.1 is every
  // 10th answer. `seed` shifts which answers fail and picks the kind of fault.
  double fail_rate = 0.0;
  uint64_t seed = 1;
  // A live market (set by the server when it paces streams): trades exist only up to the
  // market's now = first trade time + (clock now - market_started_ms) * speed.
  double speed = 0;
  int64_t market_started_ms = 0;
};

struct RestStats {
  int64_t requests = 0, rate_limited_429 = 0, banned_418 = 0, faults = 0;
};

class RestApi {
 public:
  RestApi(std::shared_ptr<const Dataset> data, RestOptions options, std::shared_ptr<Clock> clock);
  RestResponse handle(const RestRequest& request);
  RestStats stats() const;

  // Request weight of an endpoint (0 for unknown paths).
  static int weight_of(std::string_view path);

 private:
  RestResponse route(const RestRequest& r, const std::map<std::string, std::string>& params);
  int64_t market_now_of(const SymbolData& d) const;
  size_t visible_trades(const SymbolData& d) const;

  std::shared_ptr<const Dataset> data_;
  RestOptions options_;
  std::shared_ptr<Clock> clock_;
  mutable std::mutex mu_;
  struct ClientState {
    int64_t minute = -1;
    int used = 0;
    int64_t retry_until_ms = 0;  // told to wait (429) until then
    int64_t banned_until_ms = 0;
    int bans = 0;
  };
  std::map<std::string, ClientState> clients_;
  RestStats stats_;
  uint64_t rng_;
};

}  // namespace sf::replay
