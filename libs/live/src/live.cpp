#include "sf/live/live.h"

#include <cstdlib>

#include "connection.h"
#include "sf/log/log.h"
#include "sf/records/writer.h"

namespace sf::live {

namespace {

Result<int64_t> ms_var(const config::EnvLookup& env, const char* name, int64_t fallback,
                       int64_t lo) {
  auto v = env(name);
  if (!v) return fallback;
  char* end = nullptr;
  const long long n = std::strtoll(v->c_str(), &end, 10);
  if (end == v->c_str() || *end != '\0' || n < lo) {
    return make_error(
        std::string("config error: ") + name + "='" + *v +
        "' is invalid: expected a whole number of milliseconds >= " + std::to_string(lo));
  }
  return static_cast<int64_t>(n);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Publishes one record; tag = its timestamp (last_loaded_timestamp).
template <class Record>
Status publish(worker::WorkerContext& ctx, const Record& r, int64_t ts, std::string& buf) {
  buf.clear();
  records::append_json(r, buf);
  return ctx.producer.send(ctx.config.kafka_topic, ctx.config.symbol, buf, ts);
}

void report(worker::WorkerContext& ctx, const StreamStats& s, int64_t backfilled, int64_t dropped) {
  ctx.set_metric("reconnects", static_cast<double>(s.reconnects));
  ctx.set_metric("rotations", static_cast<double>(s.rotations));
  ctx.set_metric("garbage_frames", static_cast<double>(s.garbage));
  ctx.set_metric("backfilled", static_cast<double>(backfilled));
  ctx.set_metric("duplicates_dropped", static_cast<double>(dropped));
}

}  // namespace

Result<LiveOptions> live_options_from_env(const config::EnvLookup& env) {
  LiveOptions o;
  auto silence = ms_var(env, "WS_SILENCE_TIMEOUT_MS", o.silence_timeout.count(), 100);
  if (!silence) return silence.error();
  auto age = ms_var(env, "WS_MAX_CONNECTION_AGE_MS", o.max_connection_age.count(), 1000);
  if (!age) return age.error();
  o.silence_timeout = milliseconds(*silence);
  o.max_connection_age = milliseconds(*age);
  if (auto v = env("WS_LIVE_UPDATES")) {
    if (*v == "true" || *v == "1") {
      o.live_updates = true;
    } else if (*v != "false" && *v != "0") {
      return make_error("config error: WS_LIVE_UPDATES='" + *v +
                        "' is invalid: expected true or false");
    }
  }
  return o;
}

std::string stream_url(const std::string& ws_url, const std::string& stream) {
  std::string base = ws_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (base.size() >= 7 && base.compare(base.size() - 7, 7, "/stream") == 0) {
    return base + "?streams=" + stream;
  }
  return base + "/" + stream;
}

Status run_live_trades(worker::WorkerContext& ctx, binance::RestClient& rest,
                       const LiveOptions& o) {
  const auto& cfg = ctx.config;
  const auto range = cfg.time_range;
  int64_t next_id = -1, backfilled = 0, dropped = 0;
  bool done = false;
  std::string buf;

  auto accept = [&](const records::Trade& t) -> Status {
    if (t.trade_id < next_id) {
      ++dropped;  // already published (reconnect or rotation overlap)
      return ok_status();
    }
    next_id = t.trade_id + 1;
    if (range && t.timestamp > range->end_ms) {
      done = true;
      return ok_status();
    }
    if (range && t.timestamp < range->start_ms) return ok_status();
    return publish(ctx, t, t.timestamp, buf);
  };
  // REST fills [next_id, until) (until < 0: as far as REST has trades). False: REST had nothing.
  auto fill = [&](int64_t until) -> Result<bool> {
    while (!done && !ctx.stop.stop_requested() && (until < 0 || next_id < until)) {
      auto page = rest.historical_trades(cfg.symbol, next_id, 1000);
      if (!page) return page.error();
      if (page->empty()) return false;
      for (const auto& t : *page) {
        if (until >= 0 && t.trade_id >= until) break;
        if (t.trade_id > next_id) {
          return make_error("REST skipped trade ids " + std::to_string(next_id) + ".." +
                            std::to_string(t.trade_id - 1) + "; refusing to leave a gap");
        }
        const int64_t before = next_id;
        if (auto st = accept(t); !st) return st.error();
        if (next_id > before) ++backfilled;
        if (done) break;
      }
      if (until < 0 && page->size() < 1000) return true;  // caught up with the most recent
    }
    return true;
  };

  if (range && range->start_ms < ctx.clock.now_ms()) {
    auto first = rest.agg_trades_from(cfg.symbol, range->start_ms, 1);
    if (!first) return first.error();
    if (!first->empty()) {
      next_id = first->front().first_trade_id;
      log::get().info("catching up from trade id {} through REST", next_id);
      if (auto r = fill(-1); !r) return r.error();
      log::get().info("caught up: {} trades from REST", backfilled);
    }
  }
  StreamConnection conn(stream_url(cfg.binance_ws_url, lower(cfg.symbol) + "@trade"), o, ctx.clock,
                        ctx.stop);
  conn.on_reconnect([&]() -> Status {
    if (next_id < 0) return ok_status();
    auto r = fill(-1);  // everything REST has up to now; the stream's overlap is then dropped
    if (!r) return r.error();
    return ok_status();
  });
  while (!done && !ctx.stop.stop_requested()) {
    auto msg = conn.next();
    if (!msg) break;
    const auto* t = std::get_if<records::Trade>(&*msg);
    if (t == nullptr) continue;
    if (next_id < 0) next_id = t->trade_id;
    if (t->trade_id > next_id) {  // a gap: REST first, then this one
      if (auto r = fill(t->trade_id); !r) return r.error();
    }
    if (auto st = accept(*t); !st) return st;
    report(ctx, conn.stats(), backfilled, dropped);
  }
  report(ctx, conn.stats(), backfilled, dropped);
  if (conn.error()) return *conn.error();
  return ok_status();
}

Status run_live_candles(worker::WorkerContext& ctx, binance::RestClient& rest,
                        const LiveOptions& o) {
  const auto& cfg = ctx.config;
  const auto range = cfg.time_range;
  const records::Interval interval = *cfg.interval;
  const std::string name(interval.name());
  int64_t next_open = -1, backfilled = 0, dropped = 0;
  bool done = false;
  std::string buf;

  auto accept_closed = [&](const records::Candle& c) -> Status {
    if (c.open_time < next_open) {
      ++dropped;
      return ok_status();
    }
    next_open = interval.next_open(c.open_time);
    if (range && c.open_time > range->end_ms) {
      done = true;
      return ok_status();
    }
    if (range && c.open_time < range->start_ms) return ok_status();
    return publish(ctx, c, c.open_time, buf);
  };
  // REST fills the closed candles opening in [next_open, until].
  auto fill = [&](int64_t until) -> Status {
    while (!done && !ctx.stop.stop_requested() && next_open <= until) {
      auto page = rest.klines(cfg.symbol, name, next_open, until, 1000);
      if (!page) return page.error();
      bool progressed = false;
      for (const auto& c : *page) {
        if (!c.closed) return ok_status();  // the still-open one: the stream will close it
        const int64_t before = next_open;
        if (auto st = accept_closed(c); !st) return st;
        if (next_open > before) {
          ++backfilled;
          progressed = true;
        }
        if (done) break;
      }
      if (!progressed || page->size() < 1000) return ok_status();
    }
    return ok_status();
  };

  if (range && range->start_ms < ctx.clock.now_ms()) {
    next_open = interval.open_time_of(range->start_ms);
    if (next_open < range->start_ms) next_open = interval.next_open(next_open);
    if (auto st = fill(std::min(range->end_ms, ctx.clock.now_ms())); !st) return st;
    log::get().info("caught up: {} candles from REST", backfilled);
  }
  StreamConnection conn(stream_url(cfg.binance_ws_url, lower(cfg.symbol) + "@kline_" + name), o,
                        ctx.clock, ctx.stop);
  conn.on_reconnect([&]() -> Status {
    if (next_open < 0) return ok_status();
    // The closed candles missed while disconnected (the still-open one is left to the stream).
    const int64_t until = range ? std::min(range->end_ms, ctx.clock.now_ms()) : ctx.clock.now_ms();
    return fill(until);
  });
  while (!done && !ctx.stop.stop_requested()) {
    auto msg = conn.next();
    if (!msg) break;
    const auto* c = std::get_if<records::Candle>(&*msg);
    if (c == nullptr || c->interval != name) continue;
    if (!c->closed) {
      if (o.live_updates && c->open_time >= next_open) {
        if (auto st = publish(ctx, *c, c->open_time, buf); !st) return st;
      }
      continue;
    }
    if (next_open < 0) next_open = c->open_time;
    if (c->open_time > next_open) {  // periods were missed: REST first
      if (auto st = fill(c->open_time - 1); !st) return st;
    }
    if (auto st = accept_closed(*c); !st) return st;
    report(ctx, conn.stats(), backfilled, dropped);
  }
  report(ctx, conn.stats(), backfilled, dropped);
  if (conn.error()) return *conn.error();
  return ok_status();
}

}  // namespace sf::live
