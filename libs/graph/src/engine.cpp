#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <numbers>

#include "json_out.h"
#include "sf/graph/graph.h"
#include "sf/graph/indicators.h"

namespace sf::graph {
namespace {

constexpr int64_t kDayMs = 86'400'000;

// One built bar of a lane, as later bars need it.
struct HistBar {
  int64_t open_time = 0;
  double close = 0;  // carried forward over gaps
  double r1 = 0;
  double log_volume = 0, log_count = 0;
  bool gap = false;
  std::string key;
};

struct PendingNode {
  int64_t grid = 0;  // the lane's bar index
  int64_t open_time = 0;
  double close = 0;
  bool gap = false;
  std::string key, body;  // body: the JSON fields before "y"
  std::vector<std::optional<double>> y;
};

struct Lane {
  std::string symbol;
  std::map<int64_t, records::Candle> candles;
  std::map<int64_t, TradeBar> trades;
  int64_t first_candle = INT64_MAX;
  int64_t first_trade = INT64_MAX;
  int64_t built = 0;  // bars built so far = grid index of the next one
  std::deque<HistBar> hist;
  WilderRsi rsi{14};
  double mean_trade_notional = 0;  // EWMA over earlier bars with trades
  std::deque<PendingNode> pending;
};

// What build() computes for one lane before the cross edges are known.
struct Draft {
  Lane* lane = nullptr;
  bool gap = false;
  bool trades_complete = false;
  const records::Candle* candle = nullptr;
  records::Candle candle_copy;
  std::vector<double> x;
  std::vector<std::string> edges;  // JSON arrays
  int64_t trade_count = -1;
};

double to_double(const records::Decimal& d) {
  return std::strtod(d.str().c_str(), nullptr);
}

double safe_log_ratio(double a, double b) {
  return a > 0 && b > 0 ? std::log(a / b) : 0.0;
}

// Mean and population standard deviation of the last `window` non-gap values of `field` in h.
template <class F>
std::pair<double, double> window_stats(const std::deque<HistBar>& h, int window, F field) {
  double sum = 0, sq = 0;
  int n = 0;
  for (size_t i = h.size(); i-- > 0 && static_cast<int>(h.size() - i) <= window;) {
    if (h[i].gap) continue;
    const double v = field(h[i]);
    sum += v;
    sq += v * v;
    ++n;
  }
  if (n < 2) return {0, 0};
  const double mean = sum / n;
  const double var = std::max(0.0, sq / n - mean * mean);
  return {mean, std::sqrt(var)};
}

double zscore(double v, std::pair<double, double> ms) {
  return ms.second > 1e-12 ? (v - ms.first) / ms.second : 0.0;
}

// Pearson correlation of a's last `window` r1 values with b's, b shifted back by `shift` bars;
// pairs with a gap on either side are skipped. nullopt with fewer than max(8, window/2) pairs.
std::optional<double> correlation(const std::deque<HistBar>& a, const std::deque<HistBar>& b,
                                  int window, int shift) {
  double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  int n = 0;
  for (int k = 0; k < window; ++k) {
    if (static_cast<size_t>(k) >= a.size() || static_cast<size_t>(k + shift) >= b.size()) break;
    const HistBar& x = a[a.size() - 1 - k];
    const HistBar& y = b[b.size() - 1 - k - shift];
    if (x.gap || y.gap) continue;
    sa += x.r1;
    sb += y.r1;
    saa += x.r1 * x.r1;
    sbb += y.r1 * y.r1;
    sab += x.r1 * y.r1;
    ++n;
  }
  if (n < std::max(8, window / 2)) return std::nullopt;
  const double cov = sab / n - (sa / n) * (sb / n);
  const double va = saa / n - (sa / n) * (sa / n), vb = sbb / n - (sb / n) * (sb / n);
  if (va <= 1e-18 || vb <= 1e-18) return std::nullopt;
  return cov / std::sqrt(va * vb);
}

}  // namespace

const std::vector<std::string>& feature_names() {
  static const std::vector<std::string> names = {"ret_1",
                                                 "ret_3",
                                                 "ret_12",
                                                 "ret_48",
                                                 "range",
                                                 "body",
                                                 "upper_wick",
                                                 "lower_wick",
                                                 "volume_z",
                                                 "trade_count_z",
                                                 "taker_buy_imbalance",
                                                 "rvol_12",
                                                 "rvol_48",
                                                 "rsi_14",
                                                 "tod_sin",
                                                 "tod_cos",
                                                 "dow_sin",
                                                 "dow_cos",
                                                 "order_flow_imbalance",
                                                 "vwap_dev",
                                                 "large_trade_share",
                                                 "intrabar_rvol",
                                                 "no_trade_data"};
  return names;
}

const std::vector<std::string>& edge_feature_names() {
  static const std::vector<std::string> names = {"type", "log_lag", "corr"};
  return names;
}

std::vector<int> resolve_lags(const GraphOptions& o, const records::Interval& interval) {
  std::vector<int> lags = o.lags;
  if (lags.empty()) {
    lags = {1, 2, 3, 6, 12, 24};
    if (interval.fixed_ms() > 0 && interval.fixed_ms() <= kDayMs) {
      lags.push_back(static_cast<int>(kDayMs / interval.fixed_ms()));
    }
  }
  std::sort(lags.begin(), lags.end());
  lags.erase(std::unique(lags.begin(), lags.end()), lags.end());
  return lags;
}

std::string node_key(std::string_view symbol, std::string_view interval, int64_t open_time) {
  return fmt::format("n:{}:{}:{}", symbol, interval, open_time);
}

struct GraphEngine::Impl {
  GraphOptions o;
  records::Interval iv;
  std::string graph_type, iv_name;
  std::vector<int> lags;
  int max_horizon = 0;
  size_t keep = 0;
  std::map<std::string, Lane> lanes;
  GraphCounts counts;
  std::optional<int64_t> last_built;
  int64_t from_ms = INT64_MAX, to_ms = 0;

  Impl(GraphOptions opts, records::Interval interval, std::string type)
      : o(std::move(opts)), iv(interval), graph_type(std::move(type)), iv_name(interval.name()) {
    lags = resolve_lags(o, iv);
    for (int h : o.horizons) max_horizon = std::max(max_horizon, h);
    const int longest = std::max({lags.back(), o.zscore_window, o.corr_window + 1, 48});
    keep = static_cast<size_t>(longest) + 2;
  }

  Lane* last_lane = nullptr;  // trades come in runs of one symbol

  Lane& lane(const std::string& symbol) {
    if (last_lane && last_lane->symbol == symbol) return *last_lane;
    auto it = lanes.find(symbol);
    if (it == lanes.end()) {
      it = lanes.emplace(symbol, Lane{}).first;
      it->second.symbol = symbol;
    }
    last_lane = &it->second;
    return it->second;
  }

  void draft_lane(Lane& l, int64_t t, const TradeCoverage& cov, Draft& d) {
    d.lane = &l;
    while (!l.candles.empty() && l.candles.begin()->first < t) {
      l.candles.erase(l.candles.begin());
      ++counts.dropped_candles;
    }
    auto c = l.candles.find(t);
    d.gap = c == l.candles.end();
    if (!d.gap) {
      d.candle_copy = std::move(c->second);
      d.candle = &d.candle_copy;
      l.candles.erase(c);
    }
    while (!l.trades.empty() && l.trades.begin()->first < t) {
      counts.dropped_trades += l.trades.begin()->second.count();
      l.trades.erase(l.trades.begin());
    }
    TradeBar bar;
    if (auto tb = l.trades.find(t); tb != l.trades.end()) {
      bar = tb->second;
      l.trades.erase(tb);
    }
    const bool covered = cov.has_source && cov.complete && l.first_trade <= t;
    d.trades_complete = covered;
    if (cov.has_source && !covered) ++counts.trades_incomplete_bars;
    if (covered) d.trade_count = bar.count();

    const double prev_close = l.hist.empty() ? 0.0 : l.hist.back().close;
    HistBar hb;
    hb.open_time = t;
    hb.gap = d.gap;
    hb.key = node_key(l.symbol, iv_name, t);
    double o_ = prev_close, h = prev_close, lo = prev_close, c_ = prev_close, v = 0, n = 0,
           taker = 0;
    if (!d.gap) {
      const auto& k = *d.candle;
      o_ = to_double(k.open);
      h = to_double(k.high);
      lo = to_double(k.low);
      c_ = to_double(k.close);
      v = to_double(k.volume);
      n = static_cast<double>(k.number_of_trades);
      taker = to_double(k.taker_buy_base_asset_volume);
      if (covered) {
        ++counts.bars_with_trades;
        auto vol8 = k.volume.to_scaled8();
        if (bar.count() != k.number_of_trades || !vol8 || *vol8 != bar.volume8()) {
          ++counts.quality_mismatches;
        }
      }
      l.rsi.add(c_);
    }
    hb.close = d.gap ? prev_close : c_;
    hb.r1 = d.gap || l.hist.empty() ? 0.0 : safe_log_ratio(c_, prev_close);
    hb.log_volume = std::log1p(v);
    hb.log_count = std::log1p(n);

    auto ret = [&](size_t k) {
      if (d.gap || l.hist.size() < k) return 0.0;
      return safe_log_ratio(c_, l.hist[l.hist.size() - k].close);
    };
    auto rvol = [&](int k) {
      double s = hb.r1 * hb.r1;
      for (size_t i = l.hist.size(); i-- > 0 && static_cast<int>(l.hist.size() - i) < k;) {
        s += l.hist[i].r1 * l.hist[i].r1;
      }
      return std::sqrt(s);
    };
    const double tod = static_cast<double>(((t % kDayMs) + kDayMs) % kDayMs) / kDayMs;
    const int64_t day = t >= 0 ? t / kDayMs : (t - kDayMs + 1) / kDayMs;
    const double dow = static_cast<double>(((day + 3) % 7 + 7) % 7) / 7.0;  // Monday = 0
    constexpr double tau = 2 * std::numbers::pi;
    const bool traded = covered && !bar.empty();
    const double threshold = o.large_trade_factor * l.mean_trade_notional;
    d.x = {
        hb.r1,
        ret(3),
        ret(12),
        ret(48),
        d.gap ? 0.0 : safe_log_ratio(h, lo),
        d.gap ? 0.0 : safe_log_ratio(c_, o_),
        d.gap ? 0.0 : safe_log_ratio(h, std::max(o_, c_)),
        d.gap ? 0.0 : safe_log_ratio(std::min(o_, c_), lo),
        d.gap ? 0.0
              : zscore(hb.log_volume, window_stats(l.hist, o.zscore_window,
                                                   [](const HistBar& b) { return b.log_volume; })),
        d.gap ? 0.0
              : zscore(hb.log_count, window_stats(l.hist, o.zscore_window,
                                                  [](const HistBar& b) { return b.log_count; })),
        v > 0 ? 2 * taker / v - 1 : 0.0,
        rvol(12),
        rvol(48),
        l.rsi.ready() ? l.rsi.value() / 100.0 - 0.5 : 0.0,
        std::sin(tau * tod),
        std::cos(tau * tod),
        std::sin(tau * dow),
        std::cos(tau * dow),
        traded ? bar.order_flow_imbalance() : 0.0,
        traded && !d.gap ? safe_log_ratio(bar.vwap(), c_) : 0.0,
        traded && l.mean_trade_notional > 0 ? bar.large_share(threshold) : 0.0,
        traded ? std::sqrt(bar.realised_variance()) : 0.0,
        covered ? 0.0 : 1.0,
    };
    for (double& f : d.x) {
      if (!std::isfinite(f)) f = 0;
    }
    if (traded) {
      const double mean = bar.notional() / static_cast<double>(bar.count());
      constexpr double alpha = 2.0 / 49.0;
      l.mean_trade_notional =
          l.mean_trade_notional == 0 ? mean : alpha * mean + (1 - alpha) * l.mean_trade_notional;
    }
    if (!d.gap) {
      for (int k : lags) {
        if (l.hist.size() < static_cast<size_t>(k)) break;
        const HistBar& src = l.hist[l.hist.size() - k];
        if (src.gap) continue;
        d.edges.push_back(fmt::format("[\"{}\",\"t\",{},0]", src.key, k));
        ++counts.temporal_edges;
      }
    }
    l.hist.push_back(std::move(hb));
    while (l.hist.size() > keep) l.hist.pop_front();
  }

  void cross_edges(std::vector<Draft>& drafts) {
    if (drafts.size() < 2) return;
    struct Candidate {
      double corr;
      const std::string* symbol;
      const HistBar* src;
    };
    for (auto& d : drafts) {
      if (d.gap) continue;
      for (int shift = 0; shift <= 1; ++shift) {
        std::vector<Candidate> cands;
        for (auto& other : drafts) {
          if (other.lane == d.lane) continue;
          const auto& oh = other.lane->hist;
          // The source is the other symbol's bar t in both kinds: lag 1 means its returns lead
          // this symbol's by one bar (corr of r_s(u) with r_o(u-1), u <= t), so its newest bar
          // carries what this symbol's next return follows.
          const HistBar& src = oh.back();
          if (src.gap) continue;
          auto r = correlation(d.lane->hist, oh, o.corr_window, shift);
          if (!r || std::abs(*r) < o.min_corr) continue;
          cands.push_back({*r, &other.lane->symbol, &src});
        }
        std::sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) {
          if (std::abs(a.corr) != std::abs(b.corr)) return std::abs(a.corr) > std::abs(b.corr);
          return *a.symbol < *b.symbol;
        });
        if (cands.size() > static_cast<size_t>(o.top_k)) cands.resize(o.top_k);
        for (const auto& c : cands) {
          d.edges.push_back(fmt::format("[\"{}\",\"c\",{},{}]", c.src->key, shift, num(c.corr)));
          ++counts.cross_edges;
        }
      }
    }
  }

  std::string node_body(const Draft& d, int64_t t) const {
    const Lane& l = *d.lane;
    JsonOut w;
    w.raw("{\"_key\":").str(node_key(l.symbol, iv_name, t));
    w.raw(",\"kind\":\"node\",\"symbol\":").str(l.symbol);
    w.raw(",\"interval\":").str(iv_name);
    w.raw(",\"open_time\":").integer(t);
    w.raw(",\"close_time\":").integer(iv.close_time(t));
    if (d.gap) {
      w.raw(",\"o\":null,\"h\":null,\"l\":null,\"c\":null,\"v\":null,\"n\":null");
    } else {
      const auto& k = *d.candle;
      w.raw(",\"o\":").raw(k.open.view()).raw(",\"h\":").raw(k.high.view());
      w.raw(",\"l\":").raw(k.low.view()).raw(",\"c\":").raw(k.close.view());
      w.raw(",\"v\":").raw(k.volume.view()).raw(",\"n\":").integer(k.number_of_trades);
    }
    w.raw(",\"gap\":").boolean(d.gap);
    w.raw(",\"trades_complete\":").boolean(d.trades_complete);
    w.raw(",\"trades\":");
    if (d.trade_count >= 0) {
      w.integer(d.trade_count);
    } else {
      w.raw("null");
    }
    w.raw(",\"x\":[");
    for (size_t i = 0; i < d.x.size(); ++i) w.raw(i ? "," : "").raw(num(d.x[i]));
    w.raw("],\"in\":[");
    for (size_t i = 0; i < d.edges.size(); ++i) w.raw(i ? "," : "").raw(d.edges[i]);
    w.raw("]");
    return w.take();
  }

  store::Document node_document(const PendingNode& p) const {
    std::string json = p.body;
    json += ",\"y\":{";
    for (size_t i = 0; i < o.horizons.size(); ++i) {
      json += fmt::format("{}\"r{}\":{}", i ? "," : "", o.horizons[i],
                          p.y[i] ? num(*p.y[i]) : std::string("null"));
    }
    json += "}}";
    return store::Document{p.key, std::move(json), p.open_time};
  }

  store::Document metrics_document(const Draft& d, int64_t t) const {
    const Lane& l = *d.lane;
    const auto& fx = d.x;
    JsonOut w;
    const std::string key = fmt::format("m:{}:{}:{}", l.symbol, iv_name, t);
    w.raw("{\"_key\":").str(key);
    w.raw(",\"kind\":\"metrics\",\"symbol\":").str(l.symbol);
    w.raw(",\"interval\":").str(iv_name);
    w.raw(",\"open_time\":").integer(t);
    w.raw(",\"close\":");
    if (d.gap) {
      w.raw("null");
    } else {
      w.raw(d.candle->close.view());
    }
    w.raw(",\"gap\":").boolean(d.gap);
    w.raw(",\"ret_1\":").raw(num(fx[0]));
    w.raw(",\"rsi_14\":").raw(num(l.rsi.ready() ? l.rsi.value() : NAN));
    w.raw(",\"volume_z\":").raw(num(fx[8]));
    w.raw(",\"order_flow_imbalance\":").raw(num(fx[18]));
    w.raw(",\"trades_complete\":").boolean(d.trades_complete);
    w.raw(",\"in_edges\":").integer(static_cast<int64_t>(d.edges.size()));
    w.raw("}");
    return store::Document{key, w.take(), t};
  }

  void build(int64_t t, const std::function<TradeCoverage(const std::string&)>& coverage,
             const DocumentSink& emit) {
    std::vector<Draft> drafts;
    drafts.reserve(lanes.size());
    for (auto& [symbol, l] : lanes) {
      if (l.first_candle > t) continue;
      drafts.emplace_back();
      draft_lane(l, t, coverage(symbol), drafts.back());
    }
    cross_edges(drafts);
    for (auto& d : drafts) {
      Lane& l = *d.lane;
      const int64_t g = l.built++;
      PendingNode p;
      p.grid = g;
      p.open_time = t;
      p.gap = d.gap;
      p.close = l.hist.back().close;
      p.key = node_key(l.symbol, iv_name, t);
      p.body = node_body(d, t);
      p.y.assign(o.horizons.size(), std::nullopt);
      for (auto& q : l.pending) {
        bool filled = false;
        for (size_t i = 0; i < o.horizons.size(); ++i) {
          if (g - q.grid == o.horizons[i] && !q.gap && !p.gap) {
            q.y[i] = safe_log_ratio(p.close, q.close);
            filled = true;
          }
        }
        if (filled && o.realtime) emit(node_document(q));
      }
      while (!l.pending.empty() && g - l.pending.front().grid >= max_horizon) {
        if (!o.realtime) emit(node_document(l.pending.front()));
        l.pending.pop_front();
      }
      ++counts.nodes;
      if (d.gap) ++counts.gap_nodes;
      counts.edges += static_cast<int64_t>(d.edges.size());
      if (o.realtime) {
        emit(node_document(p));
        emit(metrics_document(d, t));
      }
      l.pending.push_back(std::move(p));
      from_ms = std::min(from_ms, t);
      to_ms = std::max(to_ms, iv.close_time(t));
    }
    last_built = t;
  }

  void finish(const DocumentSink& emit) {
    for (auto& [symbol, l] : lanes) {
      if (!o.realtime) {
        for (auto& p : l.pending) emit(node_document(p));
      }
      l.pending.clear();
    }
  }
};

GraphEngine::GraphEngine(GraphOptions options, records::Interval interval, std::string graph_type)
    : impl_(std::make_unique<Impl>(std::move(options), interval, std::move(graph_type))) {}
GraphEngine::~GraphEngine() = default;

Status GraphEngine::add_candle(const records::Candle& c) {
  auto& m = *impl_;
  if (c.interval != m.iv_name) {
    return make_error("candle " + c.symbol + " " + std::to_string(c.open_time) + " has interval '" +
                      c.interval + "', the graph's is '" + m.iv_name + "'");
  }
  if (m.iv.open_time_of(c.open_time) != c.open_time) {
    return make_error("candle " + c.symbol + " open_time " + std::to_string(c.open_time) +
                      " is not on the " + m.iv_name + " grid");
  }
  ++m.counts.candles_read;
  Lane& l = m.lane(c.symbol);
  if (m.last_built && c.open_time <= *m.last_built) {
    ++m.counts.dropped_candles;
    return ok_status();
  }
  if (!l.candles.emplace(c.open_time, c).second) ++m.counts.dropped_candles;
  l.first_candle = std::min(l.first_candle, c.open_time);
  return ok_status();
}

void GraphEngine::add_trade(const std::string& symbol, const TradeTick& t) {
  auto& m = *impl_;
  ++m.counts.trades_read;
  Lane& l = m.lane(symbol);
  const int64_t bar = m.iv.open_time_of(t.timestamp);
  l.first_trade = std::min(l.first_trade, t.timestamp);
  if (m.last_built && bar <= *m.last_built) {
    ++m.counts.dropped_trades;
    return;
  }
  if (l.trades.empty() || l.trades.rbegin()->first != bar) {
    l.trades[bar].add(t);
  } else {
    l.trades.rbegin()->second.add(t);
  }
}

void GraphEngine::build(int64_t open_time,
                        const std::function<TradeCoverage(const std::string&)>& coverage,
                        const DocumentSink& emit) {
  impl_->build(open_time, coverage, emit);
}

void GraphEngine::finish(const DocumentSink& emit) {
  impl_->finish(emit);
}

bool GraphEngine::has_candle_at_or_after(const std::string& symbol, int64_t open_time) const {
  auto it = impl_->lanes.find(symbol);
  return it != impl_->lanes.end() &&
         it->second.candles.lower_bound(open_time) != it->second.candles.end();
}

bool GraphEngine::has_candle_at(const std::string& symbol, int64_t open_time) const {
  auto it = impl_->lanes.find(symbol);
  return it != impl_->lanes.end() && it->second.candles.count(open_time) > 0;
}

std::vector<std::string> GraphEngine::symbols() const {
  std::vector<std::string> out;
  for (const auto& [s, l] : impl_->lanes) {
    if (l.first_candle != INT64_MAX) out.push_back(s);
  }
  return out;
}

std::optional<int64_t> GraphEngine::first_candle_time() const {
  std::optional<int64_t> first;
  for (const auto& [s, l] : impl_->lanes) {
    if (l.first_candle != INT64_MAX) first = std::min(first.value_or(INT64_MAX), l.first_candle);
  }
  return first;
}

std::optional<int64_t> GraphEngine::last_built() const {
  return impl_->last_built;
}

const GraphCounts& GraphEngine::counts() const {
  return impl_->counts;
}

const records::Interval& GraphEngine::interval() const {
  return impl_->iv;
}

store::Document GraphEngine::meta(const std::string& extra, bool complete) const {
  const auto& m = *impl_;
  const auto& c = m.counts;
  JsonOut w;
  w.raw("{\"_key\":\"meta\",\"kind\":\"meta\",\"graph_type\":").str(m.graph_type);
  w.raw(",\"symbols\":[");
  const auto syms = symbols();
  for (size_t i = 0; i < syms.size(); ++i) w.raw(i ? "," : "").str(syms[i]);
  w.raw("],\"interval\":").str(m.iv_name);
  w.raw(",\"from_ms\":").integer(m.from_ms == INT64_MAX ? 0 : m.from_ms);
  w.raw(",\"to_ms\":").integer(m.to_ms);
  w.raw(",\"node_features\":[");
  for (size_t i = 0; i < feature_names().size(); ++i) w.raw(i ? "," : "").str(feature_names()[i]);
  w.raw("],\"edge_features\":[");
  for (size_t i = 0; i < edge_feature_names().size(); ++i) {
    w.raw(i ? "," : "").str(edge_feature_names()[i]);
  }
  w.raw("],\"edge_types\":{\"t\":\"temporal (s, t-lag) -> (s, t)\",")
      .raw("\"c\":\"cross (other symbol, t-lag) -> (s, t), lag 0 or 1\"}");
  w.raw(",\"lags\":[");
  for (size_t i = 0; i < m.lags.size(); ++i) w.raw(i ? "," : "").integer(m.lags[i]);
  w.raw("],\"horizons\":[");
  for (size_t i = 0; i < m.o.horizons.size(); ++i) w.raw(i ? "," : "").integer(m.o.horizons[i]);
  w.raw("],\"targets\":\"y.r<h> = ln(close(t+h) / close(t)), null if unknown or a gap\"");
  w.raw(",\"warmup_bars\":48");
  w.raw(fmt::format(
      ",\"knobs\":{{\"zscore_window\":{},\"corr_window\":{},\"top_k\":{},\"min_corr\":{},"
      "\"large_trade_factor\":{}}}",
      m.o.zscore_window, m.o.corr_window, m.o.top_k, num(m.o.min_corr),
      num(m.o.large_trade_factor)));
  w.raw(fmt::format(
      ",\"counts\":{{\"nodes\":{},\"edges\":{},\"temporal_edges\":{},\"cross_edges\":{},"
      "\"gap_nodes\":{},\"candles_read\":{},\"trades_read\":{},\"bars_with_trades\":{},"
      "\"quality_mismatches\":{},\"trades_incomplete_bars\":{},\"dropped_candles\":{},"
      "\"dropped_trades\":{}}}",
      c.nodes, c.edges, c.temporal_edges, c.cross_edges, c.gap_nodes, c.candles_read, c.trades_read,
      c.bars_with_trades, c.quality_mismatches, c.trades_incomplete_bars, c.dropped_candles,
      c.dropped_trades));
  if (!extra.empty()) w.raw(",").raw(extra);
  w.raw(",\"complete\":").boolean(complete);
  w.raw("}");
  return store::Document{"meta", w.take(), 0};
}

}  // namespace sf::graph
