// GraphEngine: candles and trades of one or more symbols -> the causal market graph of SPEC §6.
//
// A node is one closed bar of one symbol ("lane"). The caller feeds candles and trades (each lane
// in time order) and then calls build(t) for every grid time t in order; build() turns every
// started lane's bar t into a node (a `gap` node where the candle is missing), with
//   - features x (names: feature_names()), every one computed from data with time <= close(t);
//   - inbound edges: temporal from (s, t-k) for each lag k, and with several lanes cross edges from
//     other lanes' bar t: the top-k most correlated at lag 0 (same bar) and the top-k whose returns
//     lead this lane's by one bar (lag 1), correlations of 1-bar log returns over a window of bars
//     <= t, |corr| >= min_corr; gap nodes have no edges, in or out;
//   - targets y (future log returns over the horizons), filled as later bars arrive.
// Documents come out through the `emit` sink given to build()/finish(): in historical mode a node
// once its last target is known (or at finish()), in real-time mode at once and again as each
// target fills, plus one `metrics` document per bar.
//
// Not thread-safe. Memory is bounded by the lanes x (longest lag or window) bars, whatever the
// input size.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sf/core/result.h"
#include "sf/graph/bars.h"
#include "sf/records/interval.h"
#include "sf/records/records.h"
#include "sf/store/store.h"

namespace sf::graph {

struct GraphOptions {
  std::vector<int> lags;                // bars; empty: 1, 2, 3, 6, 12, 24 and one day
  std::vector<int> horizons{1, 3, 12};  // bars
  int zscore_window = 96;               // bars, volume and trade-count z-scores
  int corr_window = 288;                // bars, cross-edge correlation (a day of 5m bars)
  int top_k = 3;                        // cross edges per target and kind (same bar, lag 1)
  double min_corr = 0.3;                // |corr| below this makes no cross edge
  double large_trade_factor = 10;       // large: notional > factor x the lane's mean trade
  bool realtime = false;                // write nodes at once and again as y fills; metrics
};

// The node feature names, in x order.
const std::vector<std::string>& feature_names();
const std::vector<std::string>& edge_feature_names();  // type (0 temporal, 1 cross), log lag, corr
// The lags actually used for `interval` (defaults resolved, duplicates dropped, sorted).
std::vector<int> resolve_lags(const GraphOptions& o, const records::Interval& interval);

struct GraphCounts {
  int64_t nodes = 0, gap_nodes = 0, edges = 0, temporal_edges = 0, cross_edges = 0;
  int64_t candles_read = 0, trades_read = 0;
  int64_t bars_with_trades = 0;    // bars whose trades were complete (quality-checked)
  int64_t quality_mismatches = 0;  // candle count/volume != aggregated trades
  int64_t trades_incomplete_bars = 0;
  int64_t dropped_candles = 0;  // duplicates or behind the grid
  int64_t dropped_trades = 0;   // before the grid or behind a built bar
};

// Per lane and bar, what the caller knows about its trades when it builds bar t.
struct TradeCoverage {
  bool has_source = false;  // some trade input carries this symbol
  // The trade inputs carrying this symbol have passed close(t): every trade of bar t was fed.
  bool complete = false;
};

using DocumentSink = std::function<void(store::Document)>;

class GraphEngine {
 public:
  GraphEngine(GraphOptions options, records::Interval interval, std::string graph_type);
  ~GraphEngine();
  GraphEngine(const GraphEngine&) = delete;
  GraphEngine& operator=(const GraphEngine&) = delete;

  // An error if the candle's interval or open time disagrees with the grid (a config error).
  Status add_candle(const records::Candle& c);
  void add_trade(const std::string& symbol, const TradeTick& t);

  // Builds bar `open_time` of every started lane. `coverage(symbol)` tells the trade state.
  void build(int64_t open_time, const std::function<TradeCoverage(const std::string&)>& coverage,
             const DocumentSink& emit);
  // Emits what is pending (targets not known stay null).
  void finish(const DocumentSink& emit);

  // Whether lane `symbol` has a candle at `open_time`, or any later one (so bar open_time is a
  // gap).
  bool has_candle_at_or_after(const std::string& symbol, int64_t open_time) const;
  bool has_candle_at(const std::string& symbol, int64_t open_time) const;
  // The lanes seen so far (sorted) and the earliest grid time not yet built (nullopt: none fed).
  std::vector<std::string> symbols() const;
  std::optional<int64_t> first_candle_time() const;
  std::optional<int64_t> last_built() const;
  const GraphCounts& counts() const;
  const records::Interval& interval() const;

  // The `meta` document (SPEC §6). `extra` is spliced in as more top-level fields (a JSON object
  // body without braces, e.g. "\"inputs\":[...]"), `complete` says whether the graph is final.
  store::Document meta(const std::string& extra, bool complete) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Input documents: candles and trades are told apart by their fields (open_time + open: a candle;
// trade_id + price: a trade). Decimals are read digit for digit.
struct InputRecord {
  enum class Kind { candle, trade } kind = Kind::candle;
  std::string key;  // `_key`
  // The store's time of the document: open_time of a candle, timestamp of a trade.
  int64_t time() const { return kind == Kind::candle ? candle.open_time : trade.timestamp; }
  records::Candle candle;
  records::Trade trade;
};
Result<InputRecord> parse_input(std::string_view json);

// Node keys: "n:<SYMBOL>:<interval>:<open_time>".
std::string node_key(std::string_view symbol, std::string_view interval, int64_t open_time);

}  // namespace sf::graph
