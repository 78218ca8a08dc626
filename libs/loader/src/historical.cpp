#include "sf/loader/historical.h"

#include "sf/log/log.h"
#include "sf/records/writer.h"

namespace sf::loader {

int64_t first_open_at_or_after(const records::Interval& interval, int64_t t) {
  const int64_t open = interval.open_time_of(t);
  return open == t ? open : interval.next_open(open);
}

Status load_candles(worker::WorkerContext& ctx, binance::RestClient& rest) {
  const auto& cfg = ctx.config;
  const records::Interval interval = *cfg.interval;
  const records::TimeRange range = *cfg.time_range;
  const int64_t last_possible = std::min(range.end_ms, ctx.clock.now_ms());
  int64_t cursor = first_open_at_or_after(interval, range.start_ms);
  int64_t expected = 0;
  for (int64_t t = cursor; interval.close_time(t) <= last_possible; t = interval.next_open(t))
    ++expected;
  ctx.progress.expected = expected;

  std::string json;
  while (cursor <= range.end_ms && !ctx.stop.stop_requested()) {
    auto page = rest.klines(cfg.symbol, std::string(interval.name()), cursor, range.end_ms, 1000);
    if (!page) return page.error();
    if (page->empty()) break;
    for (const auto& c : *page) {
      if (c.open_time < cursor) continue;  // never twice
      if (c.open_time > range.end_ms) return ok_status();
      if (!c.closed) return ok_status();  // the still-open candle: the range is done for now
      json.clear();
      records::append_json(c, json);
      if (auto st = ctx.producer.send(cfg.kafka_topic, cfg.symbol, json, c.open_time); !st)
        return st;
      ctx.progress.done.fetch_add(1);
      cursor = interval.next_open(c.open_time);
    }
  }
  return ok_status();
}

Result<std::unique_ptr<binance::RestClient>> make_rest_client(const config::WorkerConfig& cfg,
                                                              std::shared_ptr<Clock> clock) {
  auto http = binance::HttpClient::create(cfg.binance_api_url);
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
    st = ctx.config.kind == config::DataKind::api_candles ? load_candles(ctx, rest)
                                                          : load_trades(ctx, rest);
  }
  if (!st && ctx.stop.stop_requested()) return ok_status();
  return st;
}

Status load_trades(worker::WorkerContext& ctx, binance::RestClient& rest) {
  const auto& cfg = ctx.config;
  const records::TimeRange range = *cfg.time_range;
  const int64_t span_end = std::min(range.end_ms, ctx.clock.now_ms());
  ctx.progress.expected = std::max<int64_t>(1, span_end - range.start_ms);

  auto first = rest.agg_trades_from(cfg.symbol, range.start_ms, 1);
  if (!first) return first.error();
  if (first->empty() || first->front().timestamp > range.end_ms) {
    log::get().info("no trades of {} in the range", cfg.symbol);
    ctx.progress.done = ctx.progress.expected.load();
    return ok_status();
  }
  int64_t next_id = first->front().first_trade_id;
  std::string json;
  while (!ctx.stop.stop_requested()) {
    auto page = rest.historical_trades(cfg.symbol, next_id, 1000);
    if (!page) return page.error();
    if (page->empty()) break;
    for (const auto& t : *page) {
      if (t.trade_id < next_id) continue;
      if (t.trade_id != next_id) {
        return make_error("trade ids jump from " + std::to_string(next_id - 1) + " to " +
                          std::to_string(t.trade_id) +
                          " in Binance's answer; refusing to leave a gap");
      }
      if (t.timestamp > range.end_ms) return ok_status();
      ++next_id;
      if (t.timestamp < range.start_ms) continue;
      json.clear();
      records::append_json(t, json);
      if (auto st = ctx.producer.send(cfg.kafka_topic, cfg.symbol, json, t.timestamp); !st)
        return st;
      ctx.progress.done = std::min(ctx.progress.expected.load(), t.timestamp - range.start_ms);
    }
  }
  return ok_status();
}

}  // namespace sf::loader
