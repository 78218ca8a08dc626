#include "sf/binance/rest_client.h"

#include <boost/json.hpp>

#include "sf/records/parser.h"

namespace sf::binance {

RestClient::RestClient(std::unique_ptr<HttpClient> http, std::shared_ptr<Clock> clock,
                       RestPolicy policy)
    : http_(std::move(http)), clock_(std::move(clock)), policy_(policy) {}

milliseconds RestClient::backoff(int attempt) {
  const int64_t cap = policy_.max_backoff.count();
  const int64_t exp = std::min<int64_t>(cap, policy_.base_backoff.count() << std::min(attempt, 20));
  // "Full jitter": anywhere in [exp/2, exp], so clients that failed together do not retry together.
  std::uniform_int_distribution<int64_t> d(exp / 2, exp);
  return milliseconds(d(rng_));
}

Result<HttpResponse> RestClient::get_once(const std::string& target, int weight) {
  // Pace: stay under weight_share of the minute's limit, by Binance's own count.
  const int64_t minute = clock_->now_ms() / 60'000;
  if (minute != used_minute_) {
    used_minute_ = minute;
    used_weight_ = 0;
  }
  const int budget = static_cast<int>(policy_.weight_limit * policy_.weight_share);
  if (used_weight_ + weight > budget) {
    const int64_t wait = (minute + 1) * 60'000 - clock_->now_ms() + 50;
    counters_.paced_ms += wait;
    clock_->sleep_for(milliseconds(wait));
    used_minute_ = clock_->now_ms() / 60'000;
    used_weight_ = 0;
  }
  ++counters_.requests;
  auto r = http_->get(target);
  if (r) {
    const std::string used = r->header("x-mbx-used-weight-1m");
    if (!used.empty()) used_weight_ = std::atoi(used.c_str());
  }
  return r;
}

template <class T>
Result<T> RestClient::get(const std::string& target, int weight,
                          const std::function<Result<T>(const std::string&)>& parse) {
  std::string last_problem;
  for (int attempt = 0; attempt < policy_.max_attempts; ++attempt) {
    if (cancelled_ && cancelled_()) return make_error("cancelled: " + target, true);
    if (attempt > 0) {
      ++counters_.retries;
      clock_->sleep_for(backoff(attempt - 1));
    }
    auto r = get_once(target, weight);
    if (!r) {
      last_problem = r.error().message;
      continue;
    }
    if (r->status == 429 || r->status == 418) {
      ++counters_.rate_limited;
      const int secs = std::max(1, std::atoi(r->header("retry-after").c_str()));
      clock_->sleep_for(milliseconds(secs * 1000LL));
      --attempt;  // being told to wait is not a failure of the request
      if (counters_.rate_limited > 1000)
        return make_error("rate limited too often: " + target, true);
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

}  // namespace sf::binance
