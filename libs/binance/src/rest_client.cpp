#include "sf/binance/rest_client.h"

#include <boost/json.hpp>

#include "sf/core/backoff.h"
#include "sf/records/parser.h"

namespace sf::binance {

WeightBudget::WeightBudget(std::shared_ptr<Clock> clock, int limit, double share)
    : clock_(std::move(clock)), limit_(limit), share_(share) {}

void WeightBudget::acquire(int weight) {
  for (;;) {
    int64_t wait = 0;
    {
      std::unique_lock lock(mu_);
      const int64_t now = clock_->now_ms();
      if (now < hold_until_ms_) {
        wait = hold_until_ms_ - now;
      } else {
        if (now / 60'000 != minute_) {
          // A new window by our clock. Binance's may not have turned yet (clocks differ), so one
          // request goes first and its X-MBX-USED-WEIGHT-1M tells the real count before others go.
          minute_ = now / 60'000;
          used_ = 0;
          probing_ = true;
          probe_sent_ = false;
        }
        const int budget = std::max(1, static_cast<int>(limit_ * share_));
        const bool fits = used_ + weight <= budget || used_ == 0;
        if (fits && (!probing_ || !probe_sent_)) {
          used_ += weight;
          if (probing_) probe_sent_ = true;
          return;
        }
        if (fits) {
          // Waiting for the probe's answer: real time, not the Clock (it is not a pacing wait).
          cv_.wait_for(lock, std::chrono::milliseconds(50));
          continue;
        }
        wait = (minute_ + 1) * 60'000 - now + 50;  // the next window, with a margin
      }
    }
    paced_ms_ += wait;
    clock_->sleep_for(milliseconds(wait));
  }
}

void WeightBudget::observe(int used) {
  {
    std::lock_guard lock(mu_);
    if (clock_->now_ms() / 60'000 == minute_) used_ = std::max(used_, used);
    probing_ = false;
  }
  cv_.notify_all();
}

void WeightBudget::answered() {
  {
    std::lock_guard lock(mu_);
    probing_ = false;
  }
  cv_.notify_all();
}

void WeightBudget::hold_until(int64_t until_ms) {
  std::lock_guard lock(mu_);
  hold_until_ms_ = std::max(hold_until_ms_, until_ms);
}

void WeightBudget::set_limit(int limit) {
  std::lock_guard lock(mu_);
  limit_ = limit;
}

int WeightBudget::limit() const {
  std::lock_guard lock(mu_);
  return limit_;
}

RestCounters WeightBudget::counters() const {
  return {requests_.load(), retries_.load(), rate_limited_.load(), paced_ms_.load()};
}

RestClient::RestClient(std::unique_ptr<HttpClient> http, std::shared_ptr<Clock> clock,
                       RestPolicy policy)
    : http_(std::move(http)),
      clock_(clock),
      policy_(policy),
      budget_(std::make_shared<WeightBudget>(clock, policy.weight_limit, policy.weight_share)) {}

Result<std::unique_ptr<RestClient>> RestClient::sibling() const {
  auto http = http_->clone();
  if (!http) return http.error();
  auto c = std::make_unique<RestClient>(std::move(http).value(), clock_, policy_);
  c->budget_ = budget_;
  c->cancelled_ = cancelled_;
  return c;
}

milliseconds RestClient::backoff(int attempt) {
  return jittered(backoff_delay(policy_.base_backoff, policy_.max_backoff, attempt), rng_);
}

Result<HttpResponse> RestClient::get_once(const std::string& target, int weight) {
  budget_->acquire(weight);
  budget_->count_request();
  auto r = http_->get(target);
  const std::string used = r ? r->header("x-mbx-used-weight-1m") : std::string();
  if (!used.empty()) {
    budget_->observe(std::atoi(used.c_str()));
  } else {
    budget_->answered();  // no count to learn from; let the others go
  }
  return r;
}

template <class T>
Result<T> RestClient::get(const std::string& target, int weight,
                          const std::function<Result<T>(const std::string&)>& parse) {
  std::string last_problem;
  int rate_limited_in_a_row = 0;
  for (int attempt = 0; attempt < policy_.max_attempts; ++attempt) {
    if (cancelled_ && cancelled_()) return make_error("cancelled: " + target, true);
    if (attempt > 0) {
      budget_->count_retry();
      clock_->sleep_for(backoff(attempt - 1));
    }
    auto r = get_once(target, weight);
    if (!r && !r.error().retryable) {
      // An untrusted certificate, say: asking again would only delay the same answer.
      return make_error("GET " + target + " failed: " + r.error().message);
    }
    if (!r) {
      last_problem = r.error().message;
      continue;
    }
    if (r->status == 429 || r->status == 418) {
      budget_->count_rate_limited();
      const int secs = std::max(1, std::atoi(r->header("retry-after").c_str()));
      budget_->hold_until(clock_->now_ms() + secs * 1000LL);  // every sibling waits too
      --attempt;  // being told to wait is not a failure of the request
      if (++rate_limited_in_a_row > 100) {
        return make_error("still rate limited after 100 waits: " + target, true);
      }
      continue;
    }
    if (r->status >= 500) {
      last_problem = "HTTP " + std::to_string(r->status) + " " + r->body.substr(0, 200);
      continue;
    }
    if (r->status != 200) {
      records::BinanceParser p;
      auto api = p.rest_error(r->body);
      if (api) {
        return make_error("Binance answered " + std::to_string(r->status) + " " +
                          std::to_string(api->code) + " " + api->msg + " for " + target);
      }
      return make_error("Binance answered HTTP " + std::to_string(r->status) + " for " + target);
    }
    auto parsed = parse(r->body);
    if (parsed) return parsed;
    last_problem = "unparseable answer: " + parsed.error().message;
  }
  return make_error("gave up on GET " + target + " after " + std::to_string(policy_.max_attempts) +
                        " attempts; last problem: " + last_problem,
                    true);
}

Status RestClient::load_limits(const std::string& symbol) {
  auto limit = get<int>(
      "/api/v3/exchangeInfo?symbol=" + symbol, 20, [](const std::string& body) -> Result<int> {
        boost::system::error_code ec;
        auto v = boost::json::parse(body, ec);
        if (ec || !v.is_object()) return make_error("exchangeInfo is not JSON");
        const auto* limits = v.as_object().if_contains("rateLimits");
        if (!limits || !limits->is_array()) return make_error("no rateLimits");
        for (const auto& l : limits->as_array()) {
          const auto& o = l.as_object();
          if (o.at("rateLimitType") == "REQUEST_WEIGHT" && o.at("interval") == "MINUTE") {
            return static_cast<int>(o.at("limit").to_number<int64_t>() /
                                    std::max<int64_t>(1, o.at("intervalNum").to_number<int64_t>()));
          }
        }
        return make_error("no REQUEST_WEIGHT limit in exchangeInfo");
      });
  if (!limit) return limit.error();
  policy_.weight_limit = *limit;
  budget_->set_limit(*limit);
  return ok_status();
}

Result<std::vector<records::Candle>> RestClient::klines(const std::string& symbol,
                                                        const std::string& interval,
                                                        int64_t start_ms, int64_t end_ms,
                                                        int limit) {
  records::BinanceParser p;
  const int64_t now = clock_->now_ms();
  return get<std::vector<records::Candle>>(
      "/api/v3/klines?symbol=" + symbol + "&interval=" + interval +
          "&startTime=" + std::to_string(start_ms) + "&endTime=" + std::to_string(end_ms) +
          "&limit=" + std::to_string(limit),
      2, [&](const std::string& body) { return p.rest_klines(body, symbol, interval, now); });
}

Result<std::vector<records::Trade>> RestClient::historical_trades(const std::string& symbol,
                                                                  int64_t from_id, int limit) {
  records::BinanceParser p;
  return get<std::vector<records::Trade>>(
      "/api/v3/historicalTrades?symbol=" + symbol + "&fromId=" + std::to_string(from_id) +
          "&limit=" + std::to_string(limit),
      25, [&](const std::string& body) { return p.rest_trades(body, symbol); });
}

Result<std::vector<records::AggTrade>> RestClient::agg_trades_from(const std::string& symbol,
                                                                   int64_t start_ms, int limit) {
  records::BinanceParser p;
  return get<std::vector<records::AggTrade>>(
      "/api/v3/aggTrades?symbol=" + symbol + "&startTime=" + std::to_string(start_ms) +
          "&limit=" + std::to_string(limit),
      4, [&](const std::string& body) { return p.rest_agg_trades(body); });
}

Result<int64_t> RestClient::server_time() {
  return get<int64_t>("/api/v3/time", 1, [](const std::string& body) -> Result<int64_t> {
    const size_t at = body.find("\"serverTime\"");
    const size_t colon = at == std::string::npos ? at : body.find(':', at);
    if (colon == std::string::npos) {
      return make_error("/api/v3/time answered without serverTime: " + body.substr(0, 200));
    }
    char* end = nullptr;
    const long long v = std::strtoll(body.c_str() + colon + 1, &end, 10);
    if (end == body.c_str() + colon + 1) return make_error("/api/v3/time: bad serverTime");
    return static_cast<int64_t>(v);
  });
}

}  // namespace sf::binance
