#include "sf/graph/program.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <set>

#include "cursor.h"
#include "json_out.h"
#include "sf/log/log.h"
#include "writer.h"

namespace sf::graph {
namespace {

using std::chrono::milliseconds;

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t at = s.find(sep, start);
    std::string part = s.substr(start, at == std::string::npos ? std::string::npos : at - start);
    part.erase(0, part.find_first_not_of(' '));
    part.erase(part.find_last_not_of(' ') + 1);
    if (!part.empty()) out.push_back(part);
    if (at == std::string::npos) break;
    start = at + 1;
  }
  return out;
}

std::optional<config::ConfigError> int_list(const config::EnvLookup& env, const char* name, int lo,
                                            int hi, std::vector<int>& out) {
  auto v = env(name);
  if (!v) return std::nullopt;
  std::vector<int> parsed;
  for (const auto& part : split(*v, ',')) {
    char* end = nullptr;
    const long x = std::strtol(part.c_str(), &end, 10);
    if (end == part.c_str() || *end != '\0' || x < lo || x > hi) {
      parsed.clear();
      break;
    }
    parsed.push_back(static_cast<int>(x));
  }
  if (parsed.empty() || parsed.size() > 32) {
    return config::ConfigError{
        name, fmt::format("config error: {}='{}' is invalid: expected 1-32 comma-separated whole "
                          "numbers of bars between {} and {}, e.g. 1,3,12",
                          name, *v, lo, hi)};
  }
  out = parsed;
  return std::nullopt;
}

std::optional<config::ConfigError> real_var(const config::EnvLookup& env, const char* name,
                                            double lo, double hi, double& out) {
  auto v = env(name);
  if (!v) return std::nullopt;
  char* end = nullptr;
  const double x = std::strtod(v->c_str(), &end);
  if (end == v->c_str() || *end != '\0' || !(x >= lo && x <= hi)) {
    return config::ConfigError{name, fmt::format("config error: {}='{}' is invalid: expected a "
                                                 "number between {} and {}",
                                                 name, *v, lo, hi)};
  }
  out = x;
  return std::nullopt;
}

std::string inputs_json(const std::vector<InputInfo>& inputs) {
  JsonOut w;
  w.raw("\"inputs\":[");
  for (size_t i = 0; i < inputs.size(); ++i) {
    w.raw(i ? "," : "").raw("{\"collection\":").str(inputs[i].collection);
    w.raw(",\"kind\":").str(inputs[i].candles ? "candles" : "trades");
    w.raw(",\"documents\":").integer(inputs[i].count).raw("}");
  }
  w.raw("]");
  return w.take();
}

}  // namespace

std::variant<BuilderOptions, config::ConfigError> builder_options_from_env(
    const config::EnvLookup& env, const config::WorkerConfig& worker) {
  BuilderOptions o;
  auto inputs = env("COLLECTION_INPUTS");
  if (!inputs || split(*inputs, ',').empty()) {
    return config::ConfigError{
        "COLLECTION_INPUTS",
        "config error: COLLECTION_INPUTS is missing: expected comma-separated collections of "
        "candles and trades, e.g. btc_candles_5m_2024_06,btc_trades_2024_06"};
  }
  for (const auto& c : split(*inputs, ',')) {
    if (!store::valid_collection_name(c)) {
      return config::ConfigError{
          "COLLECTION_INPUTS",
          "config error: COLLECTION_INPUTS names '" + c +
              "', not a collection name: expected a letter, then letters, digits, '_' or '-'"};
    }
    if (std::find(o.inputs.begin(), o.inputs.end(), c) == o.inputs.end()) o.inputs.push_back(c);
  }
  auto output = env("COLLECTION_OUTPUT");
  if (!output || !store::valid_collection_name(*output)) {
    return config::ConfigError{
        "COLLECTION_OUTPUT",
        std::string("config error: COLLECTION_OUTPUT") +
            (output ? "='" + *output + "' is invalid" : std::string(" is missing")) +
            ": expected the graph's collection, e.g. btc_graph_2024_06"};
  }
  o.output = *output;
  if (std::find(o.inputs.begin(), o.inputs.end(), o.output) != o.inputs.end()) {
    return config::ConfigError{"COLLECTION_OUTPUT", "config error: COLLECTION_OUTPUT='" + o.output +
                                                        "' is also an input: expected a "
                                                        "collection of its own"};
  }
  auto& g = o.graph;
  g.realtime = worker.type == "realtime_graph";
  if (auto e = int_list(env, "GRAPH_LAGS", 1, 10'000, g.lags)) return *e;
  if (auto e = int_list(env, "GRAPH_HORIZONS", 1, 10'000, g.horizons)) return *e;
  std::sort(g.horizons.begin(), g.horizons.end());
  g.horizons.erase(std::unique(g.horizons.begin(), g.horizons.end()), g.horizons.end());
  if (auto e = config::read_int_settings(
          env, {
                   {"GRAPH_ZSCORE_WINDOW", 2, 10'000, "bars",
                    [&](int64_t v) { g.zscore_window = int(v); }, g.zscore_window},
                   {"GRAPH_CORR_WINDOW", 8, 10'000, "bars",
                    [&](int64_t v) { g.corr_window = int(v); }, g.corr_window},
                   {"GRAPH_TOP_K", 0, 100, "edges", [&](int64_t v) { g.top_k = int(v); }, g.top_k},
                   {"GRAPH_BATCH_SIZE", 1, 100'000, "documents",
                    [&](int64_t v) { o.batch_size = int(v); }, o.batch_size},
                   {"GRAPH_PAGE_SIZE", 10, 1'000'000, "documents",
                    [&](int64_t v) { o.page_size = int(v); }, o.page_size},
                   {"STORE_RETRY_BUDGET_MS", 0, 86'400'000, "ms",
                    [&](int64_t v) { o.store_retry_budget = milliseconds(v); },
                    o.store_retry_budget.count()},
                   {"GRAPH_GRACE_MS", 0, 3'600'000, "ms",
                    [&](int64_t v) { o.grace = milliseconds(v); }, o.grace.count()},
                   {"GRAPH_TRADE_TIMEOUT_MS", 0, 86'400'000, "ms",
                    [&](int64_t v) { o.trade_timeout = milliseconds(v); }, o.trade_timeout.count()},
                   {"GRAPH_POLL_MS", 10, 60'000, "ms", [&](int64_t v) { o.poll = milliseconds(v); },
                    o.poll.count()},
               })) {
    return *e;
  }
  if (auto e = real_var(env, "GRAPH_MIN_CORR", 0, 1, g.min_corr)) return *e;
  if (auto e = real_var(env, "GRAPH_LARGE_TRADE_FACTOR", 1, 1e6, g.large_trade_factor)) return *e;
  return o;
}

Result<std::vector<InputInfo>> probe_inputs(store::Store& store,
                                            const std::vector<std::string>& inputs) {
  std::vector<InputInfo> out;
  for (const auto& c : inputs) {
    InputInfo info;
    info.collection = c;
    auto n = store.count(c);
    if (!n) return make_error("cannot read " + c + ": " + n.error().message, true);
    info.count = *n;
    if (info.count > 0) {
      auto first = store.range_by_time(c, std::numeric_limits<int64_t>::min(),
                                       std::numeric_limits<int64_t>::max(), 1);
      if (!first) return make_error("cannot read " + c + ": " + first.error().message, true);
      if (!first->empty()) {
        auto rec = parse_input(first->front());
        if (!rec) {
          return make_error("collection " + c + " holds neither candles nor trades (" +
                            rec.error().message + ")");
        }
        info.candles = rec->kind == InputRecord::Kind::candle;
        info.interval = rec->candle.interval;
      }
    }
    out.push_back(std::move(info));
  }
  return out;
}

Result<records::Interval> graph_interval(const std::vector<InputInfo>& inputs,
                                         const std::optional<records::Interval>& configured) {
  std::optional<records::Interval> found;
  std::string from;
  for (const auto& in : inputs) {
    if (!in.candles || in.count == 0) continue;
    auto iv = records::Interval::parse(in.interval);
    if (!iv) {
      return make_error("config error: COLLECTION_INPUTS: the candles of " + in.collection +
                        " have interval '" + in.interval + "', which Binance does not know");
    }
    if (found && !(*found == *iv)) {
      return make_error("config error: COLLECTION_INPUTS mixes intervals: " + from + " holds " +
                        std::string(found->name()) + " candles, " + in.collection + " " +
                        in.interval + ": expected candle collections of one interval");
    }
    found = iv;
    from = in.collection;
  }
  if (found && configured && !(*configured == *found)) {
    return make_error("config error: INTERVAL='" + std::string(configured->name()) +
                      "' disagrees with the candles of " + from + " (" +
                      std::string(found->name()) +
                      "): expected INTERVAL=" + std::string(found->name()) + " or no INTERVAL");
  }
  if (found) return *found;
  if (configured) return *configured;
  return make_error(
      "config error: COLLECTION_INPUTS has no candle collection with data: the "
      "bars come from candles (add e.g. btc_candles_5m_2024_06)");
}

Status run_gnn_graph(worker::WorkerContext& ctx, store::Store& store, const BuilderOptions& o,
                     const std::vector<InputInfo>& inputs, records::Interval interval) {
  auto& lg = log::get();
  for (const auto& in : inputs) {
    if (in.count == 0) {
      return make_error("input collection " + in.collection +
                        " is missing or empty: run its loader and connector first "
                        "(COLLECTION_INPUTS)");
    }
  }
  auto retry = [&](const std::function<Result<std::vector<std::string>>()>& f) {
    return with_retry(o.store_retry_budget, lg, f);
  };
  const int64_t from =
      ctx.config.time_range ? ctx.config.time_range->start_ms : std::numeric_limits<int64_t>::min();
  const int64_t to =
      ctx.config.time_range ? ctx.config.time_range->end_ms : std::numeric_limits<int64_t>::max();
  struct Input {
    std::unique_ptr<TimeCursor> cursor;
    bool candles;
    std::set<std::string> symbols;  // trade inputs: the lanes they carry
  };
  std::vector<Input> ins;
  for (const auto& in : inputs) {
    ins.push_back(
        {std::make_unique<TimeCursor>(store, in.collection, from, to, o.page_size, 0, retry),
         in.candles,
         {}});
  }
  // The grid starts at the first candle in range.
  std::optional<int64_t> start;
  for (auto& in : ins) {
    if (!in.candles) continue;
    auto head = in.cursor->peek();
    if (!head) return head.error();
    if (*head) start = std::min(start.value_or(INT64_MAX), (*head)->candle.open_time);
  }
  if (!start) {
    return make_error("no candle of COLLECTION_INPUTS lies in TIME_RANGE: nothing to build");
  }
  if (auto st =
          with_retry(o.store_retry_budget, lg, [&] { return store.ensure_collection(o.output); });
      !st) {
    return st;
  }
  GraphEngine engine(o.graph, interval, ctx.config.type);
  GraphWriter writer(store, o.output, o.batch_size, o.store_retry_budget, ctx.progress, lg);
  const std::string extra = inputs_json(inputs);
  // An incomplete meta first: a reader sees the graph is being built (and a killed run says so).
  if (auto st = store.upsert(o.output, {engine.meta(extra, false)}); !st) return st.error();

  const int64_t end_hint = ctx.config.time_range ? ctx.config.time_range->end_ms : 0;
  if (end_hint > *start && interval.fixed_ms() > 0) {
    ctx.progress.expected.store((end_hint - *start) / interval.fixed_ms() + 1);
  }
  Status failed = ok_status();
  auto emit = [&](store::Document d) {
    if (failed) failed = writer.add(std::move(d));
  };
  int64_t t = *start;
  for (;;) {
    if (ctx.stop.stop_requested()) break;
    const int64_t close = interval.close_time(t);
    bool more_candles = false;
    for (auto& in : ins) {
      for (;;) {
        auto head = in.cursor->peek();
        if (!head) return head.error();
        const InputRecord* r = *head;
        if (!r) break;
        if (in.candles) {
          if (r->kind != InputRecord::Kind::candle) {
            return make_error("collection " + in.cursor->collection() +
                              " mixes candles and trades (document " + r->key + ")");
          }
          if (r->candle.open_time > t) {
            more_candles = true;
            break;
          }
          if (auto st = engine.add_candle(r->candle); !st) {
            return make_error("config error: " + st.error().message);
          }
        } else {
          if (r->kind != InputRecord::Kind::trade) {
            return make_error("collection " + in.cursor->collection() +
                              " mixes trades and candles (document " + r->key + ")");
          }
          if (r->trade.timestamp > close) break;
          auto tick = tick_of(r->trade);
          if (!tick) return make_error("trade " + r->key + ": " + tick.error().message);
          in.symbols.insert(r->trade.symbol);
          engine.add_trade(r->trade.symbol, *tick);
        }
        in.cursor->pop();
      }
    }
    auto coverage = [&](const std::string& symbol) {
      TradeCoverage c;
      for (auto& in : ins) {
        if (in.candles || !in.symbols.count(symbol)) continue;
        c.has_source = true;
        auto head = in.cursor->peek();
        if (head && *head && (*head)->trade.timestamp > close) c.complete = true;
      }
      return c;
    };
    engine.build(t, coverage, emit);
    if (!failed) return failed;
    ctx.progress.done.fetch_add(1);
    if (!more_candles) break;
    t = interval.next_open(t);
  }
  const bool stopped = ctx.stop.stop_requested();
  engine.finish(emit);
  if (!failed) return failed;
  if (auto st = writer.flush(); !st) return st;
  if (auto st = writer.add(engine.meta(extra, !stopped)); !st) return st;
  if (auto st = writer.flush(); !st) return st;
  const auto& c = engine.counts();
  ctx.set_metric("nodes", static_cast<double>(c.nodes));
  ctx.set_metric("edges", static_cast<double>(c.edges));
  ctx.set_metric("gap_nodes", static_cast<double>(c.gap_nodes));
  ctx.set_metric("candles_read", static_cast<double>(c.candles_read));
  ctx.set_metric("trades_read", static_cast<double>(c.trades_read));
  ctx.set_metric("quality_mismatches", static_cast<double>(c.quality_mismatches));
  lg.info(
      "graph {}: {} nodes ({} gaps), {} edges from {} candles and {} trades; {} of {} bars "
      "with trades disagree with their candle",
      o.output, c.nodes, c.gap_nodes, c.edges, c.candles_read, c.trades_read, c.quality_mismatches,
      c.bars_with_trades);
  return ok_status();
}

}  // namespace sf::graph
