// RestClient: Binance spot market-data REST with the manners Binance asks for.
//  - Weight: every answer's X-MBX-USED-WEIGHT-1M is tracked; before a request that would take the
//    minute's use past `weight_share` of the limit (exchangeInfo's REQUEST_WEIGHT), it waits for
//    the next minute.
//  - 429 / 418: waits Retry-After (never sends while told to wait), then tries again.
//  - 5xx, timeouts, resets, bodies that fail to parse: retried with capped exponential backoff and
//    jitter, up to `max_attempts`; then an Error (the caller turns it into an `error` event).
//  - Other 4xx: Binance's error ({"code":-1121,"msg":"Invalid symbol."}) as a non-retryable Error.
// Waiting goes through the Clock, so tests drive it without sleeping. Not thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "sf/core/clock.h"
#include "sf/net/transport.h"
#include "sf/records/records.h"

namespace sf::binance {

using net::HttpClient;
using net::HttpOptions;
using net::HttpResponse;
using net::Url;
using std::chrono::milliseconds;

struct RestPolicy {
  int max_attempts = 8;
  milliseconds base_backoff{250};
  milliseconds max_backoff{15'000};
  double weight_share = 0.8;
  int weight_limit = 6000;  // replaced by exchangeInfo's figure when load_limits() is called
};

struct RestCounters {
  int64_t requests = 0, retries = 0, rate_limited = 0, paced_ms = 0;
};

// The request-weight budget of one IP, shared by every RestClient of a process (sibling()), so
// pages fetched in parallel still stay under the share and all wait out a Retry-After together.
// Thread-safe; waits go through the Clock.
class WeightBudget {
 public:
  WeightBudget(std::shared_ptr<Clock> clock, int limit, double share);
  // Waits until `weight` fits in this minute's share and no Retry-After is pending, then reserves
  // it.
  void acquire(int weight);
  // Binance's own count for this minute (X-MBX-USED-WEIGHT-1M).
  void observe(int used);
  // The request that took acquire() got an answer without a weight count.
  void answered();
  // Nobody sends before `until_ms` (Retry-After).
  void hold_until(int64_t until_ms);
  void set_limit(int limit);
  int limit() const;
  RestCounters counters() const;
  void count_request() { ++requests_; }
  void count_retry() { ++retries_; }
  void count_rate_limited() { ++rate_limited_; }

 private:
  std::shared_ptr<Clock> clock_;
  mutable std::mutex mu_;
  int limit_;
  double share_;
  int64_t minute_ = -1;
  int used_ = 0;
  int64_t hold_until_ms_ = 0;
  bool probing_ = false, probe_sent_ = false;
  std::condition_variable cv_;
  std::atomic<int64_t> requests_{0}, retries_{0}, rate_limited_{0}, paced_ms_{0};
};

class RestClient {
 public:
  RestClient(std::unique_ptr<HttpClient> http, std::shared_ptr<Clock> clock,
             RestPolicy policy = {});
  // Another client to the same origin with its own connection, sharing this one's weight budget.
  Result<std::unique_ptr<RestClient>> sibling() const;

  // Reads REQUEST_WEIGHT per minute from /api/v3/exchangeInfo and checks that `symbol` exists.
  Status load_limits(const std::string& symbol);
  Result<std::vector<records::Candle>> klines(const std::string& symbol,
                                              const std::string& interval, int64_t start_ms,
                                              int64_t end_ms, int limit = 1000);
  Result<std::vector<records::Trade>> historical_trades(const std::string& symbol, int64_t from_id,
                                                        int limit = 1000);
  Result<std::vector<records::AggTrade>> agg_trades_from(const std::string& symbol,
                                                         int64_t start_ms, int limit = 1);
  // The exchange's clock (/api/v3/time), in ms.
  Result<int64_t> server_time();
  // Lets a caller abandon waits and retries (e.g. on stop); checked between attempts.
  void set_cancel(std::function<bool()> cancelled) { cancelled_ = std::move(cancelled); }

  RestCounters counters() const { return budget_->counters(); }
  const RestPolicy& policy() const { return policy_; }
  int weight_limit() const { return budget_->limit(); }

  // GET with the policy above; `parse` turns a 200 body into T or an Error (a parse error retries).
  template <class T>
  Result<T> get(const std::string& target, int weight,
                const std::function<Result<T>(const std::string&)>& parse);

 private:
  Result<HttpResponse> get_once(const std::string& target, int weight);
  milliseconds backoff(int attempt);

  std::unique_ptr<HttpClient> http_;
  std::shared_ptr<Clock> clock_;
  RestPolicy policy_;
  std::shared_ptr<WeightBudget> budget_;
  std::mt19937_64 rng_{0x5eed};
  std::function<bool()> cancelled_;
};

}  // namespace sf::binance
