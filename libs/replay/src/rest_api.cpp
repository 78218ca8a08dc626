#include "sf/replay/rest_api.h"

#include <algorithm>
#include <boost/url/parse_query.hpp>
#include <charconv>
#include <cmath>

namespace sf::replay {

using records::Decimal;

namespace {

constexpr int kMaxLimit = 1000;

RestResponse error(int status, int code, std::string msg) {
  RestResponse r;
  r.status = status;
  r.body = "{\"code\":" + std::to_string(code) + ",\"msg\":\"" + msg + "\"}";
  return r;
}

RestResponse ok(std::string body) {
  RestResponse r;
  r.body = std::move(body);
  return r;
}

struct ParamError {
  RestResponse response;
};

// Optional non-negative integer parameter; Binance's -1100 for anything else.
std::optional<int64_t> int_param(const std::map<std::string, std::string>& p,
                                 const std::string& name) {
  auto it = p.find(name);
  if (it == p.end()) return std::nullopt;
  int64_t v = 0;
  const auto& s = it->second;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < 0 || s.size() > 20) {
    throw ParamError{error(
        400, -1100,
        "Illegal characters found in parameter '" + name + "'; legal range is '^[0-9]{1,20}$'.")};
  }
  return v;
}

int limit_param(const std::map<std::string, std::string>& p, int fallback) {
  auto v = int_param(p, "limit");
  if (!v) return fallback;
  if (*v < 1 || *v > kMaxLimit) {
    throw ParamError{error(400, -1130, "Data sent for parameter 'limit' is not valid.")};
  }
  return static_cast<int>(*v);
}

const SymbolData& symbol_param(const Dataset& data, const std::map<std::string, std::string>& p) {
  auto it = p.find("symbol");
  if (it == p.end() || it->second.empty()) {
    throw ParamError{error(
        400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")};
  }
  const SymbolData* d = data.find(it->second);
  if (d == nullptr) throw ParamError{error(400, -1121, "Invalid symbol.")};
  return *d;
}

void put_int(std::string& out, int64_t v) {
  out += std::to_string(v);
}
void put_dec(std::string& out, const Decimal& d) {
  out += '"';
  out += binance_decimal(d);
  out += '"';
}

std::string quote_qty(const Decimal& p, const Decimal& q) {
  const __int128 v = p.to_scaled8().value() * q.to_scaled8().value() / 100'000'000;
  return binance_decimal(Decimal::from_scaled8(v));
}

void write_trade(std::string& out, const records::Trade& t) {
  out += "{\"id\":";
  put_int(out, t.trade_id);
  out += ",\"price\":";
  put_dec(out, t.price);
  out += ",\"qty\":";
  put_dec(out, t.quantity);
  out += ",\"quoteQty\":\"" + quote_qty(t.price, t.quantity) + "\",\"time\":";
  put_int(out, t.timestamp);
  out += t.is_buyer_maker ? ",\"isBuyerMaker\":true" : ",\"isBuyerMaker\":false";
  out += ",\"isBestMatch\":true}";
}

std::string trades_json(const std::vector<records::Trade>& all, size_t from, size_t count) {
  std::string out = "[";
  for (size_t i = from; i < std::min(all.size(), from + count); ++i) {
    if (i != from) out += ',';
    write_trade(out, all[i]);
  }
  out += ']';
  return out;
}

// Splits a symbol into base and quote asset for exchangeInfo.
std::pair<std::string, std::string> split_symbol(const std::string& s) {
  for (const char* q : {"USDT", "BUSD", "USDC", "FDUSD", "BTC", "ETH", "BNB", "EUR", "TRY"}) {
    const std::string quote(q);
    if (s.size() > quote.size() && s.compare(s.size() - quote.size(), quote.size(), quote) == 0) {
      return {s.substr(0, s.size() - quote.size()), quote};
    }
  }
  return {s, ""};
}

}  // namespace

std::string RestResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return "";
}

int RestApi::weight_of(std::string_view path) {
  if (path == "/api/v3/ping" || path == "/api/v3/time") return 1;
  if (path == "/api/v3/exchangeInfo") return 20;
  if (path == "/api/v3/klines") return 2;
  if (path == "/api/v3/aggTrades") return 4;
  if (path == "/api/v3/historicalTrades" || path == "/api/v3/trades") return 25;
  return 0;
}

RestApi::RestApi(std::shared_ptr<const Dataset> data, RestOptions options,
                 std::shared_ptr<Clock> clock)
    : data_(std::move(data)), options_(options), clock_(std::move(clock)), rng_(options.seed) {}

int64_t RestApi::market_now_of(const SymbolData& d) const {
  const int64_t elapsed = clock_->now_ms() - options_.market_started_ms;
  return d.trades.front().timestamp +
         static_cast<int64_t>(static_cast<double>(elapsed) * options_.speed);
}

size_t RestApi::visible_trades(const SymbolData& d) const {
  if (options_.speed <= 0 || d.trades.empty()) return d.trades.size();
  const int64_t market_now = market_now_of(d);
  return static_cast<size_t>(
      std::upper_bound(d.trades.begin(), d.trades.end(), market_now,
                       [](int64_t t, const records::Trade& tr) { return t < tr.timestamp; }) -
      d.trades.begin());
}

RestStats RestApi::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

RestResponse RestApi::handle(const RestRequest& request) {
  const int64_t now = clock_->now_ms();
  const int weight = weight_of(request.path);
  bool inject_fault = false;
  int used = 0;
  {
    std::lock_guard lock(mu_);
    ++stats_.requests;
    ClientState& c = clients_[request.client];
    if (c.minute != now / 60'000) {
      c.minute = now / 60'000;
      c.used = 0;
    }
    auto retry_after = [&](int64_t until) {
      return std::to_string(std::max<int64_t>(1, (until - now + 999) / 1000));
    };
    if (now < c.retry_until_ms && now >= c.banned_until_ms) {
      // Sending while told to wait: Binance bans the IP, for longer each time.
      c.banned_until_ms = now + options_.ban_seconds * 1000LL * (1LL << std::min(c.bans, 10));
      ++c.bans;
    }
    if (now < c.banned_until_ms) {
      ++stats_.banned_418;
      RestResponse r = error(418, -1003,
                             "Way too much request weight used; IP banned until " +
                                 std::to_string(c.banned_until_ms) +
                                 ". Please use WebSocket Streams for live updates to "
                                 "avoid bans.");
      r.headers = {{"Retry-After", retry_after(c.banned_until_ms)},
                   {"X-MBX-USED-WEIGHT-1M", std::to_string(c.used)}};
      return r;
    }
    if (c.used + weight > options_.weight_limit) {
      ++stats_.rate_limited_429;
      c.retry_until_ms = (now / 60'000 + 1) * 60'000;  // the next minute window
      RestResponse r =
          error(429, -1003,
                "Too many requests; current limit of IP(" + request.client +
                    ") request weight per minute is " + std::to_string(options_.weight_limit) +
                    ". Please use WebSocket Streams for live updates to avoid polling "
                    "the API.");
      r.headers = {{"Retry-After", retry_after(c.retry_until_ms)},
                   {"X-MBX-USED-WEIGHT-1M", std::to_string(c.used)}};
      return r;
    }
    c.used += weight;
    used = c.used;
    if (options_.fail_rate > 0) {
      // Exactly `fail_rate` of the answers fail, spread evenly (the seed shifts where); the kind of
      // fault comes from a seeded generator. Deterministic, so a failing test can be replayed.
      const auto n =
          static_cast<double>(stats_.requests + static_cast<int64_t>(options_.seed % 1000));
      inject_fault = std::floor(n * options_.fail_rate) > std::floor((n - 1) * options_.fail_rate);
      rng_ = rng_ * 6364136223846793005ULL + 1442695040888963407ULL;
      if (inject_fault) ++stats_.faults;
    }
  }

  RestResponse r;
  if (request.method != "GET") {
    r = error(405, -1000, "Method not allowed: only GET is served here.");
  } else {
    std::map<std::string, std::string> params;
    auto parsed = boost::urls::parse_query(request.query);
    if (parsed) {
      for (auto p : *parsed) params[std::string(p.key)] = std::string(p.value);
    }
    try {
      r = route(request, params);
    } catch (const ParamError& e) {
      r = e.response;
    }
  }
  if (inject_fault) {
    if (rng_ & (1ULL << 40)) {
      r = error(503, -1001, "Internal error; unable to process your request. Please try again.");
    } else if (r.body.size() > 1) {
      r.body.resize(r.body.size() / 2);  // a truncated body: valid HTTP, broken JSON
    } else {
      r = error(502, -1001, "Bad gateway.");
    }
  }
  r.headers.emplace_back("X-MBX-USED-WEIGHT-1M", std::to_string(used));
  r.headers.emplace_back("Content-Type", "application/json;charset=UTF-8");
  return r;
}

RestResponse RestApi::route(const RestRequest& r, const std::map<std::string, std::string>& p) {
  const std::string& path = r.path;
  if (path == "/api/v3/ping") return ok("{}");
  if (path == "/api/v3/time") {
    // A paced (live) market has its own clock: the one its trades and streams follow.
    int64_t now = clock_->now_ms();
    if (options_.speed > 0) {
      for (const auto& s : data_->symbols()) {
        const SymbolData* d = data_->find(s);
        if (d && !d->trades.empty()) now = std::min(now, market_now_of(*d));
      }
    }
    return ok("{\"serverTime\":" + std::to_string(now) + "}");
  }

  if (path == "/api/v3/exchangeInfo") {
    std::vector<std::string> symbols;
    if (auto it = p.find("symbol"); it != p.end()) {
      symbols.push_back(symbol_param(*data_, p).symbol);
    } else {
      symbols = data_->symbols();
    }
    std::string out = "{\"timezone\":\"UTC\",\"serverTime\":" + std::to_string(clock_->now_ms()) +
                      ",\"rateLimits\":[{\"rateLimitType\":\"REQUEST_WEIGHT\",\"interval\":"
                      "\"MINUTE\",\"intervalNum\":1,\"limit\":" +
                      std::to_string(options_.weight_limit) +
                      "},{\"rateLimitType\":\"ORDERS\",\"interval\":\"SECOND\",\"intervalNum\":10,"
                      "\"limit\":100},{\"rateLimitType\":\"RAW_REQUESTS\",\"interval\":\"MINUTE\","
                      "\"intervalNum\":5,\"limit\":61000}],\"exchangeFilters\":[],\"symbols\":[";
    for (size_t i = 0; i < symbols.size(); ++i) {
      auto [base, quote] = split_symbol(symbols[i]);
      out += (i ? "," : "");
      out +=
          "{\"symbol\":\"" + symbols[i] + "\",\"status\":\"TRADING\",\"baseAsset\":\"" + base +
          "\",\"baseAssetPrecision\":8,\"quoteAsset\":\"" + quote +
          "\",\"quotePrecision\":8,\"quoteAssetPrecision\":8,\"orderTypes\":[\"LIMIT\",\"MARKET\"],"
          "\"isSpotTradingAllowed\":true,\"filters\":[],\"permissions\":[\"SPOT\"]}";
    }
    out += "]}";
    return ok(std::move(out));
  }

  if (path == "/api/v3/klines") {
    const SymbolData& d = symbol_param(*data_, p);
    auto it = p.find("interval");
    if (it == p.end() || it->second.empty()) {
      return error(400, -1102,
                   "Mandatory parameter 'interval' was not sent, was empty/null, or malformed.");
    }
    auto interval = records::Interval::parse(it->second);
    if (!interval) return error(400, -1120, "Invalid interval.");
    const int limit = limit_param(p, 500);
    const auto start = int_param(p, "startTime");
    const auto end = int_param(p, "endTime");
    if (start && end && *start > *end) {
      return error(400, -1128, "Combination of optional parameters invalid.");
    }
    const auto& ks = d.klines(*interval);
    // Binance: klines whose open time lies in [startTime, endTime]; without startTime, the most
    // recent `limit` (up to endTime).
    auto first = ks.begin();
    auto last = ks.end();
    if (end) {
      last = std::upper_bound(ks.begin(), ks.end(), *end,
                              [](int64_t t, const Kline& k) { return t < k.candle.open_time; });
    }
    if (start) {
      first = std::lower_bound(ks.begin(), last, *start,
                               [](const Kline& k, int64_t t) { return k.candle.open_time < t; });
      if (last - first > limit) last = first + limit;
    } else if (last - first > limit) {
      first = last - limit;
    }
    std::string out = "[";
    for (auto k = first; k != last; ++k) {
      const auto& c = k->candle;
      if (k != first) out += ',';
      out += '[';
      put_int(out, c.open_time);
      for (const Decimal* v : {&c.open, &c.high, &c.low, &c.close, &c.volume}) {
        out += ',';
        put_dec(out, *v);
      }
      out += ',';
      put_int(out, c.close_time);
      out += ',';
      put_dec(out, c.quote_asset_volume);
      out += ',';
      put_int(out, c.number_of_trades);
      out += ',';
      put_dec(out, c.taker_buy_base_asset_volume);
      out += ',';
      put_dec(out, c.taker_buy_quote_asset_volume);
      out += ",\"0\"]";
    }
    out += ']';
    return ok(std::move(out));
  }

  if (path == "/api/v3/aggTrades") {
    const SymbolData& d = symbol_param(*data_, p);
    const int limit = limit_param(p, 500);
    const auto from_id = int_param(p, "fromId");
    const auto start = int_param(p, "startTime");
    const auto end = int_param(p, "endTime");
    if (start && end && *end - *start > 3'600'000) {
      return error(400, -1127, "More than 1 hours between startTime and endTime.");
    }
    if (start && end && *start > *end) {
      return error(400, -1128, "Combination of optional parameters invalid.");
    }
    if (from_id && (start || end)) {
      return error(400, -1128, "Combination of optional parameters invalid.");
    }
    const auto& as = d.agg_trades();
    auto first = as.begin(), last = as.end();
    if (options_.speed > 0 && !d.trades.empty()) {
      const int64_t market_now = market_now_of(d);
      last =
          std::upper_bound(as.begin(), as.end(), market_now,
                           [](int64_t t, const records::AggTrade& a) { return t < a.timestamp; });
    }
    if (from_id) {
      first =
          std::lower_bound(as.begin(), as.end(), *from_id,
                           [](const records::AggTrade& a, int64_t id) { return a.agg_id < id; });
    } else if (start || end) {
      if (start) {
        first =
            std::lower_bound(as.begin(), as.end(), *start,
                             [](const records::AggTrade& a, int64_t t) { return a.timestamp < t; });
      }
      if (end) {
        last = std::upper_bound(first, as.end(), *end, [](int64_t t, const records::AggTrade& a) {
          return t < a.timestamp;
        });
      }
    } else if (last - first > limit) {
      first = last - limit;  // the most recent
    }
    if (last - first > limit) last = first + limit;
    std::string out = "[";
    for (auto a = first; a != last; ++a) {
      if (a != first) out += ',';
      out += "{\"a\":";
      put_int(out, a->agg_id);
      out += ",\"p\":";
      put_dec(out, a->price);
      out += ",\"q\":";
      put_dec(out, a->quantity);
      out += ",\"f\":";
      put_int(out, a->first_trade_id);
      out += ",\"l\":";
      put_int(out, a->last_trade_id);
      out += ",\"T\":";
      put_int(out, a->timestamp);
      out += a->is_buyer_maker ? ",\"m\":true" : ",\"m\":false";
      out += ",\"M\":true}";
    }
    out += ']';
    return ok(std::move(out));
  }

  if (path == "/api/v3/historicalTrades" || path == "/api/v3/trades") {
    const SymbolData& d = symbol_param(*data_, p);
    const int limit = limit_param(p, 500);
    const auto from_id = path == "/api/v3/historicalTrades" ? int_param(p, "fromId") : std::nullopt;
    // In a live market (speed > 0) only trades up to the market's now exist yet.
    const size_t visible = visible_trades(d);
    const auto& ts = d.trades;
    size_t from = visible > static_cast<size_t>(limit) ? visible - limit : 0;
    if (from_id) {
      from = static_cast<size_t>(
          std::lower_bound(ts.begin(), ts.end(), *from_id,
                           [](const records::Trade& t, int64_t id) { return t.trade_id < id; }) -
          ts.begin());
    }
    const size_t count = from < visible ? std::min(visible - from, static_cast<size_t>(limit)) : 0;
    return ok(trades_json(ts, from, count));
  }

  RestResponse nf;
  nf.status = 404;
  nf.body = "";
  return nf;
}

}  // namespace sf::replay
