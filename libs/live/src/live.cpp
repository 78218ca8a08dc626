#include "sf/live/live.h"

#include <cstdlib>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "connection.h"
#include "sf/core/backoff.h"
#include "sf/kafka/client.h"
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

// Which data records the broker did not take. Their delivery reports come back in the order they
// were sent (one partition per symbol, an idempotent producer), so a FIFO of their ids (trade
// ids, candle open times) names the first one lost: everything from it on is published again
// from REST, in order, once the broker is back. Seen as it happens, not at stop.
class DeliveryTracker {
 public:
  explicit DeliveryTracker(kafka::Producer& p) : producer_(p) {
    listener_ = p.on_delivery([this](const kafka::DeliveryReport& r) { report(r); });
  }
  ~DeliveryTracker() { producer_.remove_on_delivery(listener_); }
  DeliveryTracker(const DeliveryTracker&) = delete;
  DeliveryTracker& operator=(const DeliveryTracker&) = delete;

  // Called just before the record is handed to the producer (its report may come back before
  // send() returns), and undone with unsend() when send() refused it.
  void sent(int64_t id) {
    std::lock_guard lock(mu_);
    if (pending_.empty()) last_report_ = std::chrono::steady_clock::now();
    pending_.push_back(id);
  }
  void unsend() {
    std::lock_guard lock(mu_);
    if (!pending_.empty()) pending_.pop_back();
  }
  // Records wait and no report came for `quiet`: the broker is away (before librdkafka gives
  // up on them, which may take its whole message.timeout.ms), or records were lost.
  bool outage(std::chrono::milliseconds quiet = std::chrono::milliseconds(2000)) const {
    std::lock_guard lock(mu_);
    if (lost_) return true;
    return !pending_.empty() && std::chrono::steady_clock::now() - last_report_ > quiet;
  }
  // A record the producer would not queue (its queue stayed full): lost from here on.
  void refused(int64_t id, const std::string& why) {
    std::lock_guard lock(mu_);
    if (id >= 0 && !lost_) {
      lost_ = id;
      why_ = why;
    }
  }
  std::optional<int64_t> first_lost() const {
    std::lock_guard lock(mu_);
    return lost_;
  }
  size_t pending() const {
    std::lock_guard lock(mu_);
    return pending_.size();
  }
  // Once every report is back: the first id lost, the failed deliveries among them, why; reset.
  struct Loss {
    int64_t from = 0, failed = 0;
    std::string why;
  };
  Loss take() {
    std::lock_guard lock(mu_);
    Loss l{lost_.value_or(0), failed_, why_};
    lost_.reset();
    failed_ = 0;
    why_.clear();
    return l;
  }

 private:
  void report(const kafka::DeliveryReport& r) {
    if (r.tag < 0) return;  // telemetry
    std::lock_guard lock(mu_);
    last_report_ = std::chrono::steady_clock::now();
    if (pending_.empty()) return;
    const int64_t id = pending_.front();
    pending_.pop_front();
    if (r.ok || id < 0) return;  // id < 0: an open candle's update, superseded by its close
    ++failed_;
    if (!lost_ || id < *lost_) {
      lost_ = id;
      why_ = r.error;
    }
  }

  kafka::Producer& producer_;
  uint64_t listener_ = 0;
  mutable std::mutex mu_;
  std::deque<int64_t> pending_;
  std::optional<int64_t> lost_;
  int64_t failed_ = 0;
  std::string why_;
  std::chrono::steady_clock::time_point last_report_ = std::chrono::steady_clock::now();
};

// Publishes one record (tag = its timestamp, for last_loaded_timestamp) unless records are
// already lost: then nothing more goes out until recovery has published them again. A queue
// that stays full for a second pauses the stream (this call blocks) and then counts as a loss.
template <class Record>
Status publish(worker::WorkerContext& ctx, DeliveryTracker& tracker, const Record& r, int64_t id,
               int64_t ts, std::string& buf) {
  if (tracker.first_lost()) return ok_status();
  buf.clear();
  records::append_json(r, buf);
  tracker.sent(id);
  auto st = ctx.producer.send(ctx.config.kafka_topic, ctx.config.symbol, buf, ts,
                              std::chrono::milliseconds(1000));
  if (st) return ok_status();
  tracker.unsend();
  if (!st.error().retryable) return st;
  tracker.refused(id, st.error().message);
  return ok_status();
}

// The largest `field` (trade_id, open_time) among the last records of the topic's partitions:
// a record whose delivery "failed" may still have been written (librdkafka's "possibly
// persisted"), so recovery starts after what the topic really holds. Nothing when it cannot be
// read (e.g. the loader's Kafka user may not read): then recovery starts at the first loss.
std::optional<int64_t> last_in_topic(worker::WorkerContext& ctx, const std::string& field) {
  kafka::ConsumerOptions co;
  co.settings = ctx.config.kafka;
  co.client_id = ctx.config.producer_id + "-tail";
  auto c = kafka::Consumer::create(co);
  if (!c) return std::nullopt;
  const auto t = std::chrono::milliseconds(5000);
  auto n = (*c)->partition_count(ctx.config.kafka_topic, t);
  if (!n) return std::nullopt;
  auto marks = (*c)->all_watermarks(ctx.config.kafka_topic, *n, t);
  if (!marks) return std::nullopt;
  std::optional<int64_t> best;
  const std::string key = "\"" + field + "\":";
  for (int32_t p = 0; p < *n; ++p) {
    const auto& m = (*marks)[static_cast<size_t>(p)];
    if (m.high <= m.low) continue;
    if (!(*c)->assign(ctx.config.kafka_topic, {{p, m.high - 1}})) return std::nullopt;
    for (int tries = 0; tries < 20; ++tries) {
      auto msg = (*c)->poll(std::chrono::milliseconds(250));
      if (!msg) return std::nullopt;
      if (!*msg) continue;
      const size_t at = (*msg)->value.find(key);
      if (at == std::string::npos) break;
      const int64_t v = std::atoll((*msg)->value.c_str() + at + key.size());
      if (!best || v > *best) best = v;
      break;
    }
  }
  return best;
}

// Waits for the broker after a loss: every report back, then the broker's metadata answering.
// Returns the loss (or nothing when stopped) and says so in telemetry while it lasts.
std::optional<DeliveryTracker::Loss> wait_out_outage(worker::WorkerContext& ctx,
                                                     DeliveryTracker& tracker, const char* what,
                                                     int64_t& outages) {
  auto& lg = log::get();
  ++outages;
  ctx.set_metric("kafka_outage", 1);
  ctx.set_metric("kafka_outages", static_cast<double>(outages));
  while (tracker.pending() > 0) {
    if (ctx.stop.stop_requested()) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto loss = tracker.take();
  ctx.producer.acknowledge_failures(loss.failed);
  lg.warn(
      "Kafka did not take the records from {} {} on ({} deliveries failed: {}); they are "
      "published again from REST once the broker answers",
      what, loss.from, loss.failed, loss.why);
  ctx.set_metric("undelivered_since", static_cast<double>(loss.from));
  for (int attempt = 0;; ++attempt) {
    if (ctx.stop.stop_requested()) return std::nullopt;
    if (ctx.producer.prepare(ctx.config.kafka_topic, std::chrono::milliseconds(2000))) break;
    std::this_thread::sleep_for(
        backoff_delay(std::chrono::milliseconds(250), std::chrono::milliseconds(5000), attempt));
  }
  lg.info("Kafka answers again: backfilling from {} {}", what, loss.from);
  return loss;
}

void report(worker::WorkerContext& ctx, const StreamStats& s, int64_t backfilled, int64_t dropped,
            const DeliveryTracker& tracker) {
  ctx.set_metric("kafka_outage", tracker.outage() ? 1 : 0);
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

namespace {

// "Has the range ended by the exchange's clock?", asked of /api/v3/time at most every 2 s.
class RangeClock {
 public:
  RangeClock(binance::RestClient& rest, int64_t end_ms) : rest_(rest), end_ms_(end_ms) {}
  bool passed() {
    const auto now = std::chrono::steady_clock::now();
    if (now < next_check_) return false;
    next_check_ = now + std::chrono::seconds(2);
    auto t = rest_.server_time();
    if (!t) {
      log::get().warn("cannot read the exchange's clock: {}", t.error().message);
      return false;
    }
    return *t > end_ms_;
  }

 private:
  binance::RestClient& rest_;
  int64_t end_ms_;
  std::chrono::steady_clock::time_point next_check_{};
};

// Every data record sent has its delivery report. librdkafka gives up on records at
// message.timeout.ms, and while their broker is unreachable it reports them only once it reaches
// it again; the loader waits for that rather than guess (a record given up on too early may still
// be written, and then be published twice).
void await_reports(worker::WorkerContext& ctx, const DeliveryTracker& tracker) {
  while (tracker.pending() > 0 && !ctx.stop.stop_requested()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

Status run_live_trades(worker::WorkerContext& ctx, binance::RestClient& rest,
                       const LiveOptions& o) {
  const auto& cfg = ctx.config;
  const auto range = cfg.time_range;
  int64_t next_id = -1, backfilled = 0, dropped = 0, outages = 0;
  bool done = false;
  std::string buf;
  DeliveryTracker tracker(ctx.producer);

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
    return publish(ctx, tracker, t, t.trade_id, t.timestamp, buf);
  };
  // REST fills [next_id, until) (until < 0: as far as REST has trades). False: REST had nothing.
  // A loss seen meanwhile ends it early (the caller recovers).
  auto fill = [&](int64_t until) -> Result<bool> {
    while (!done && !ctx.stop.stop_requested() && (until < 0 || next_id < until)) {
      if (tracker.first_lost()) return true;
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
  // After a loss: once the broker answers, back to the first trade lost and on through REST.
  auto recover = [&]() -> Status {
    for (;;) {
      if (!tracker.first_lost() || ctx.stop.stop_requested()) return ok_status();
      await_reports(ctx, tracker);
      auto loss = wait_out_outage(ctx, tracker, "trade id", outages);
      if (!loss) return ok_status();
      next_id = loss->from;
      if (auto last = last_in_topic(ctx, "trade_id"); last && *last >= next_id) {
        log::get().info("the topic holds trades up to id {} already: going on from there", *last);
        next_id = *last + 1;
      }
      done = false;
      if (auto r = fill(-1); !r) {
        return make_error(
            "trades from id " + std::to_string(loss->from) +
            " did not reach Kafka and REST cannot serve them again: " + r.error().message);
      }
      ctx.set_metric("kafka_outage", 0);
      ctx.set_metric("backfilled", static_cast<double>(backfilled));
    }
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
  std::optional<RangeClock> range_clock;
  if (range) range_clock.emplace(rest, range->end_ms);
  while (!done && !ctx.stop.stop_requested()) {
    if (tracker.first_lost()) {
      if (auto st = recover(); !st) return st;
      continue;
    }
    if (range_clock && range_clock->passed()) {
      // The range is over by the exchange's clock: REST has every trade of it; none is to come.
      if (next_id < 0) {
        auto first = rest.agg_trades_from(cfg.symbol, range->start_ms, 1);
        if (!first) return first.error();
        if (first->empty()) break;  // not a single trade since the range start
        next_id = first->front().first_trade_id;
      }
      if (auto r = fill(-1); !r) return r.error();
      if (tracker.first_lost()) continue;
      log::get().info("the range ended by the exchange's clock and REST has caught up: done");
      done = true;
      break;
    }
    auto msg = conn.next(std::chrono::milliseconds(500));
    if (!msg) {
      report(ctx, conn.stats(), backfilled, dropped, tracker);
      if (conn.error()) break;
      continue;
    }
    const auto* t = std::get_if<records::Trade>(&*msg);
    if (t == nullptr) continue;
    if (next_id < 0) next_id = t->trade_id;
    if (t->trade_id > next_id) {  // a gap: REST first, then this one
      if (auto r = fill(t->trade_id); !r) return r.error();
    }
    if (auto st = accept(*t); !st) return st;
    report(ctx, conn.stats(), backfilled, dropped, tracker);
  }
  if (auto st = recover(); !st) return st;  // nothing lost is left behind at the end
  report(ctx, conn.stats(), backfilled, dropped, tracker);
  if (conn.error()) return *conn.error();
  return ok_status();
}

Status run_live_candles(worker::WorkerContext& ctx, binance::RestClient& rest,
                        const LiveOptions& o) {
  const auto& cfg = ctx.config;
  const auto range = cfg.time_range;
  const records::Interval interval = *cfg.interval;
  const std::string name(interval.name());
  int64_t next_open = -1, backfilled = 0, dropped = 0, outages = 0;
  bool done = false;
  std::string buf;
  DeliveryTracker tracker(ctx.producer);

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
    return publish(ctx, tracker, c, c.open_time, c.open_time, buf);
  };
  // REST fills the closed candles opening in [next_open, until].
  auto fill = [&](int64_t until) -> Status {
    while (!done && !ctx.stop.stop_requested() && next_open <= until) {
      if (tracker.first_lost()) return ok_status();
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
  auto first_open = [&] {
    int64_t t = interval.open_time_of(range->start_ms);
    return t < range->start_ms ? interval.next_open(t) : t;
  };
  auto recover = [&]() -> Status {
    for (;;) {
      if (!tracker.first_lost() || ctx.stop.stop_requested()) return ok_status();
      await_reports(ctx, tracker);
      auto loss = wait_out_outage(ctx, tracker, "candle open time", outages);
      if (!loss) return ok_status();
      next_open = loss->from;
      if (auto last = last_in_topic(ctx, "open_time"); last && *last >= next_open) {
        log::get().info("the topic holds candles up to open time {} already: going on from there",
                        *last);
        next_open = interval.next_open(*last);
      }
      done = false;
      const int64_t until =
          range ? std::min(range->end_ms, ctx.clock.now_ms()) : ctx.clock.now_ms();
      if (auto st = fill(until); !st) {
        return make_error(
            "candles from open time " + std::to_string(loss->from) +
            " did not reach Kafka and REST cannot serve them again: " + st.error().message);
      }
      ctx.set_metric("kafka_outage", 0);
      ctx.set_metric("backfilled", static_cast<double>(backfilled));
    }
  };

  if (range && range->start_ms < ctx.clock.now_ms()) {
    next_open = first_open();
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
  // The range's last candle closes at the end of the period holding the range end.
  std::optional<RangeClock> range_clock;
  if (range) {
    range_clock.emplace(rest, interval.next_open(interval.open_time_of(range->end_ms)) - 1);
  }
  while (!done && !ctx.stop.stop_requested()) {
    if (tracker.first_lost()) {
      if (auto st = recover(); !st) return st;
      continue;
    }
    if (range_clock && range_clock->passed()) {
      if (next_open < 0) next_open = first_open();
      if (auto st = fill(range->end_ms); !st) return st;
      if (tracker.first_lost()) continue;
      log::get().info("the range ended by the exchange's clock and REST has caught up: done");
      done = true;
      break;
    }
    auto msg = conn.next(std::chrono::milliseconds(500));
    if (!msg) {
      report(ctx, conn.stats(), backfilled, dropped, tracker);
      if (conn.error()) break;
      continue;
    }
    const auto* c = std::get_if<records::Candle>(&*msg);
    if (c == nullptr || c->interval != name) continue;
    if (!c->closed) {
      if (o.live_updates && c->open_time >= next_open) {
        if (auto st = publish(ctx, tracker, *c, -1, c->open_time, buf); !st) return st;
      }
      continue;
    }
    if (next_open < 0) next_open = c->open_time;
    if (c->open_time > next_open) {  // periods were missed: REST first
      if (auto st = fill(c->open_time - 1); !st) return st;
    }
    if (auto st = accept_closed(*c); !st) return st;
    report(ctx, conn.stats(), backfilled, dropped, tracker);
  }
  if (auto st = recover(); !st) return st;
  report(ctx, conn.stats(), backfilled, dropped, tracker);
  if (conn.error()) return *conn.error();
  return ok_status();
}

}  // namespace sf::live
