// realtime_graph: follows the input collections while their connectors fill them.
#include <simdjson.h>

#include <chrono>
#include <limits>
#include <map>
#include <set>

#include "cursor.h"
#include "sf/graph/program.h"
#include "sf/kafka/client.h"
#include "sf/log/log.h"
#include "sf/worker/telemetry.h"
#include "writer.h"

namespace sf::graph {
namespace {

using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

// Watches QUEUE_EVENTS_TOPIC for the end of this queue's loaders and connectors.
class InputsWatch {
 public:
  InputsWatch(const config::WorkerConfig& cfg, size_t inputs) : cfg_(cfg), inputs_(inputs) {}

  Status open() {
    kafka::ConsumerOptions co;
    co.settings = cfg_.kafka;
    co.client_id = cfg_.producer_id;
    auto c = kafka::Consumer::create(co);
    if (!c) return c.error();
    consumer_ = std::move(c).value();
    return worker::assign_queue_events(*consumer_, cfg_);
  }

  void poll() {
    for (int i = 0; i < 1000; ++i) {
      auto m = consumer_->poll(milliseconds(0));
      if (!m || !*m) return;
      take((*m)->value);
    }
  }

  // Every loader and connector seen ended, and at least one connector per input was seen.
  bool done() const {
    if (ended_.size() < producers_.size()) return false;
    return connectors_ >= inputs_ && !producers_.empty();
  }

 private:
  void take(const std::string& json) {
    simdjson::dom::parser p;
    simdjson::dom::element e;
    if (p.parse(json).get(e)) return;
    std::string_view q, producer, status;
    if (e["queue_id"].get(q) || q != cfg_.queue_id) return;
    if (e["producer"].get(producer) || e["status"].get(status)) return;
    const std::string who(producer);
    const bool connector = who.rfind("arango-connector", 0) == 0;
    if (!connector && who.rfind("loader-", 0) != 0) return;
    if (producers_.insert(who).second && connector) ++connectors_;
    if (status == "finished" || status == "interrupted" || status == "error") ended_.insert(who);
  }

  const config::WorkerConfig& cfg_;
  size_t inputs_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::set<std::string> producers_, ended_;
  size_t connectors_ = 0;
};

}  // namespace

Status run_realtime_graph(worker::WorkerContext& ctx, store::Store& store,
                          const BuilderOptions& o) {
  auto& lg = log::get();
  auto retry = [&](const std::function<Result<std::vector<std::string>>()>& f) {
    return with_retry(o.store_retry_budget, lg, f);
  };
  const auto& range = ctx.config.time_range;
  const int64_t from = range ? range->start_ms : std::numeric_limits<int64_t>::min();
  const int64_t to = range ? range->end_ms : std::numeric_limits<int64_t>::max();
  struct Input {
    std::unique_ptr<TimeCursor> cursor;
    std::set<std::string> trade_symbols;
  };
  std::vector<Input> ins;
  for (const auto& c : o.inputs) {
    ins.push_back(
        {std::make_unique<TimeCursor>(store, c, from, to, o.page_size, 5'000, retry), {}});
  }
  InputsWatch watch(ctx.config, o.inputs.size());
  if (auto st = watch.open(); !st)
    return make_error("cannot read the events topic: " + st.error().message);
  if (auto st =
          with_retry(o.store_retry_budget, lg, [&] { return store.ensure_collection(o.output); });
      !st) {
    return st;
  }
  GraphWriter writer(store, o.output, o.batch_size, o.store_retry_budget, ctx.progress, lg);
  std::unique_ptr<GraphEngine> engine;
  std::map<std::string, int64_t> newest_trade;  // per lane
  std::map<int64_t, steady::time_point> candle_seen;
  int64_t market_now = std::numeric_limits<int64_t>::min();
  std::string extra = "\"inputs\":[";
  for (size_t i = 0; i < o.inputs.size(); ++i) extra += (i ? ",\"" : "\"") + o.inputs[i] + "\"";
  extra += "]";
  Status failed = ok_status();
  auto emit = [&](store::Document d) {
    if (failed) failed = writer.add(std::move(d));
  };
  std::vector<std::pair<InputRecord, size_t>> early;  // records before the interval is known

  while (!ctx.stop.stop_requested()) {
    // The inputs' end is looked at before reading them: a connector sends its final event after
    // its last write, so a read that follows the event sees everything (the other order raced).
    watch.poll();
    const bool inputs_done = watch.done();
    // 1. Read what the connectors stored since the last round.
    for (size_t i = 0; i < ins.size(); ++i) {
      if (auto st = ins[i].cursor->refill(); !st) return st;
      for (;;) {
        auto head = ins[i].cursor->peek();
        if (!head) return head.error();
        if (!*head) break;
        InputRecord r = **head;
        ins[i].cursor->pop();
        if (!engine && r.kind == InputRecord::Kind::candle) {
          auto iv = records::Interval::parse(r.candle.interval);
          if (ctx.config.interval && iv && !(*iv == *ctx.config.interval)) {
            return make_error("INTERVAL=" + std::string(ctx.config.interval->name()) +
                              " disagrees with the candles of " + ins[i].cursor->collection() +
                              " (" + r.candle.interval + ")");
          }
          if (!iv) return make_error("candle " + r.key + " has an unknown interval");
          engine = std::make_unique<GraphEngine>(o.graph, *iv, ctx.config.type);
          if (range && iv->fixed_ms() > 0) {
            ctx.progress.expected.store((range->end_ms - range->start_ms + 1) / iv->fixed_ms());
          }
        }
        early.emplace_back(std::move(r), i);
        if (!engine) continue;
        for (auto& [rec, at] : early) {
          if (rec.kind == InputRecord::Kind::candle) {
            if (auto st = engine->add_candle(rec.candle); !st) return st;
            candle_seen.emplace(rec.candle.open_time, steady::now());
            market_now = std::max(market_now, rec.candle.close_time);
          } else {
            auto tick = tick_of(rec.trade);
            if (!tick) return make_error("trade " + rec.key + ": " + tick.error().message);
            ins[at].trade_symbols.insert(rec.trade.symbol);
            engine->add_trade(rec.trade.symbol, *tick);
            auto& n = newest_trade[rec.trade.symbol];
            n = std::max(n, rec.trade.timestamp);
            market_now = std::max(market_now, rec.trade.timestamp);
          }
        }
        early.clear();
      }
    }
    // 2. Build every bar that is ready.
    if (engine) {
      const auto& iv = engine->interval();
      auto next = engine->last_built() ? std::optional(iv.next_open(*engine->last_built()))
                                       : engine->first_candle_time();
      while (next && *next <= to) {
        const int64_t t = *next, close = iv.close_time(t);
        const auto seen = candle_seen.find(t);
        const bool timed_out = inputs_done || (seen != candle_seen.end() &&
                                               steady::now() - seen->second >= o.trade_timeout);
        bool ready = true, any_candle = false;
        for (const auto& s : engine->symbols()) {
          if (engine->has_candle_at_or_after(s, t)) {
            any_candle = true;
          } else if (!timed_out) {
            ready = false;
          }
          bool has_trades = false;
          for (auto& in : ins) has_trades |= in.trade_symbols.count(s) > 0;
          const bool passed = newest_trade[s] > close && market_now >= close + o.grace.count();
          if (has_trades && !passed && !timed_out) ready = false;
        }
        if (!ready || !any_candle) break;
        engine->build(
            t,
            [&](const std::string& s) {
              TradeCoverage c;
              for (auto& in : ins) c.has_source |= in.trade_symbols.count(s) > 0;
              c.complete = newest_trade[s] > close;
              return c;
            },
            emit);
        if (!failed) return failed;
        ctx.progress.done.fetch_add(1);
        candle_seen.erase(candle_seen.begin(), candle_seen.upper_bound(t));
        next = iv.next_open(t);
      }
      if (auto st = writer.flush(); !st) return st;
      const bool range_done =
          range && engine->last_built() && iv.next_open(*engine->last_built()) > range->end_ms;
      bool more = false;
      for (const auto& s : engine->symbols())
        more |= next && engine->has_candle_at_or_after(s, *next);
      const bool nothing_left = inputs_done && !more;
      if (range_done || nothing_left) {
        engine->finish(emit);
        if (auto st = writer.add(engine->meta(extra, true)); !st) return st;
        return writer.flush();
      }
      if (auto st = writer.add(engine->meta(extra, false)); !st) return st;
      if (auto st = writer.flush(); !st) return st;
    } else if (inputs_done) {
      return make_error("the inputs ended without a candle: nothing to build (COLLECTION_INPUTS=" +
                        o.inputs.front() + ", ...)");
    }
    ctx.stop.wait_for(o.poll);
  }
  if (engine) {
    engine->finish(emit);
    if (auto st = writer.add(engine->meta(extra, false)); !st) return st;
  }
  return writer.flush();
}

}  // namespace sf::graph
