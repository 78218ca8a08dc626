#include "sf/loader/historical.h"

#include "ordered_pages.h"
#include "sf/log/log.h"
#include "sf/records/time_range.h"
#include "sf/records/writer.h"

namespace sf::loader {

int64_t first_open_at_or_after(const records::Interval& interval, int64_t t) {
  const int64_t open = interval.open_time_of(t);
  return open == t ? open : interval.next_open(open);
}

namespace {

// The clients for `parallel` pages in flight: `rest` itself plus siblings sharing its budget.
Result<std::vector<std::unique_ptr<binance::RestClient>>> siblings(binance::RestClient& rest,
                                                                   int parallel) {
  std::vector<std::unique_ptr<binance::RestClient>> out;
  for (int i = 1; i < parallel; ++i) {
    auto s = rest.sibling();
    if (!s) return s.error();
    out.push_back(std::move(s).value());
  }
  return out;
}

std::vector<binance::RestClient*> all_clients(
    binance::RestClient& rest, const std::vector<std::unique_ptr<binance::RestClient>>& more) {
  std::vector<binance::RestClient*> out{&rest};
  for (const auto& c : more) out.push_back(c.get());
  return out;
}

constexpr int kPage = 1000;

}  // namespace

Status rest_candles(worker::WorkerContext& ctx, binance::RestClient& rest,
                    const records::TimeRange& range, int64_t& cursor) {
  const auto& cfg = ctx.config;
  const records::Interval interval = *cfg.interval;
  const int64_t first_open = std::max(cursor, first_open_at_or_after(interval, range.start_ms));
  cursor = first_open;
  // Page i asks for the kPage periods opening from starts[i]: fixed, so pages can be fetched in
  // parallel and published in order.
  std::vector<int64_t> starts;
  int64_t n = 0;
  for (int64_t t = first_open; t <= range.end_ms; t = interval.next_open(t), ++n) {
    if (n % kPage == 0) starts.push_back(t);
  }
  if (starts.empty()) return ok_status();
  starts.push_back(INT64_MAX);

  auto more = siblings(rest, cfg.binance_parallel_pages);
  if (!more) return more.error();
  const std::string name(interval.name());
  std::string json;
  const int64_t pages = static_cast<int64_t>(starts.size()) - 1;
  int64_t published = 0;
  return fetch_in_order<std::vector<records::Candle>>(
      all_clients(rest, *more), 2 * cfg.binance_parallel_pages,
      [&](binance::RestClient& client, int64_t i) -> Result<std::vector<records::Candle>> {
        if (i + 1 >= static_cast<int64_t>(starts.size())) return std::vector<records::Candle>{};
        const int64_t end = std::min(range.end_ms, starts[i + 1] - 1);
        return client.klines(cfg.symbol, name, starts[i], end, kPage);
      },
      [&](std::vector<records::Candle>& page) -> Result<bool> {
        ++published;
        for (const auto& c : page) {
          if (c.open_time < cursor) continue;                         // never twice
          if (c.open_time > range.end_ms || !c.closed) return false;  // the still-open candle: done
          json.clear();
          records::append_json(c, json);
          if (auto st = ctx.producer.send(cfg.kafka_topic, cfg.symbol, json, c.open_time); !st) {
            return st.error();
          }
          ctx.progress.done.fetch_add(1);
          cursor = interval.next_open(c.open_time);
        }
        return published < pages && !ctx.stop.stop_requested();
      },
      ctx.stop);
}

int64_t expected_candles(const worker::WorkerContext& ctx) {
  const records::Interval interval = *ctx.config.interval;
  const records::TimeRange range = *ctx.config.time_range;
  const int64_t last_possible = std::min(range.end_ms, ctx.clock.now_ms());
  int64_t expected = 0;
  for (int64_t t = first_open_at_or_after(interval, range.start_ms); t <= range.end_ms;
       t = interval.next_open(t)) {
    if (interval.close_time(t) <= last_possible) ++expected;
  }
  return expected;
}

Status load_candles(worker::WorkerContext& ctx, binance::RestClient& rest) {
  ctx.progress.expected = expected_candles(ctx);
  int64_t cursor = INT64_MIN;
  return rest_candles(ctx, rest, *ctx.config.time_range, cursor);
}

Status rest_trades(worker::WorkerContext& ctx, binance::RestClient& rest,
                   const records::TimeRange& range, int64_t& next_id) {
  const auto& cfg = ctx.config;
  const int64_t global_start = ctx.config.time_range->start_ms;
  if (next_id < 0) {
    auto first = rest.agg_trades_from(cfg.symbol, range.start_ms, 1);
    if (!first) return first.error();
    if (first->empty() || first->front().timestamp > range.end_ms) {
      log::get().info("no trades of {} from {} to {}", cfg.symbol,
                      records::format_utc(range.start_ms), records::format_utc(range.end_ms));
      return ok_status();
    }
    next_id = first->front().first_trade_id;
  }
  const int64_t first_id = next_id;
  auto more = siblings(rest, cfg.binance_parallel_pages);
  if (!more) return more.error();
  std::string json;
  // Trade ids are contiguous, so page i is fromId = first_id + i * kPage.
  return fetch_in_order<std::vector<records::Trade>>(
      all_clients(rest, *more), 2 * cfg.binance_parallel_pages,
      [&](binance::RestClient& client, int64_t i) {
        return client.historical_trades(cfg.symbol, first_id + i * kPage, kPage);
      },
      [&](std::vector<records::Trade>& page) -> Result<bool> {
        if (page.empty()) return false;
        for (const auto& t : page) {
          if (t.trade_id < next_id) continue;
          if (t.trade_id != next_id) {
            return make_error("trade ids jump from " + std::to_string(next_id - 1) + " to " +
                              std::to_string(t.trade_id) +
                              " in Binance's answer; refusing to leave a gap");
          }
          if (t.timestamp > range.end_ms) return false;
          ++next_id;
          if (t.timestamp < range.start_ms) continue;
          json.clear();
          records::append_json(t, json);
          if (auto st = ctx.producer.send(cfg.kafka_topic, cfg.symbol, json, t.timestamp); !st) {
            return st.error();
          }
          ctx.progress.done = std::min(ctx.progress.expected.load(), t.timestamp - global_start);
        }
        return static_cast<int>(page.size()) == kPage && !ctx.stop.stop_requested();
      },
      ctx.stop);
}

int64_t expected_trade_span(const worker::WorkerContext& ctx) {
  const records::TimeRange range = *ctx.config.time_range;
  return std::max<int64_t>(1, std::min(range.end_ms, ctx.clock.now_ms()) - range.start_ms);
}

Status load_trades(worker::WorkerContext& ctx, binance::RestClient& rest) {
  ctx.progress.expected = expected_trade_span(ctx);
  int64_t next_id = -1;
  auto st = rest_trades(ctx, rest, *ctx.config.time_range, next_id);
  if (st && next_id < 0) ctx.progress.done = ctx.progress.expected.load();
  return st;
}

Result<std::unique_ptr<binance::RestClient>> make_rest_client(const config::WorkerConfig& cfg,
                                                              std::shared_ptr<Clock> clock) {
  auto http = net::HttpClient::create(cfg.binance_api_url);
  if (!http) return http.error();
  binance::RestPolicy policy;
  policy.weight_share = cfg.binance_weight_share;
  policy.max_attempts = cfg.binance_max_attempts;
  return std::make_unique<binance::RestClient>(std::move(http).value(), std::move(clock), policy);
}

Status run_historical(worker::WorkerContext& ctx, binance::RestClient& rest) {
  rest.set_cancel([&ctx] { return ctx.stop.stop_requested(); });
  Status st = rest.load_limits(ctx.config.symbol);
  if (st) {
    if (ctx.config.history_source == "rest") {
      st = ctx.config.kind == config::DataKind::api_candles ? load_candles(ctx, rest)
                                                            : load_trades(ctx, rest);
    } else {
      st = load_with_archive(ctx, rest);
    }
  }
  if (!st && ctx.stop.stop_requested()) return ok_status();
  return st;
}

}  // namespace sf::loader
