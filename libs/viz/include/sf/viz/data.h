// The visualizer's read-only data API over the Store: candles (from candle collections or graph
// nodes), indicators (libs/graph's, the same code as the graph features), a trade heatmap, the
// graph of the last bars, the model card and predictions. Each returns the JSON of the seeds'
// envelope {"status","message","data"}; errors say what to fix. Thread-safe (the Store is).
#pragma once

#include <cstdint>
#include <string>

#include "sf/core/result.h"
#include "sf/store/store.h"

namespace sf::viz {

struct Range {
  int64_t from_ms = 0;        // inclusive
  int64_t to_ms = INT64_MAX;  // inclusive
  int64_t limit = 10'000;     // the newest `limit` within the range
};

// Candles of `symbol`, oldest first: {time (s), open_time, open, high, low, close, volume}.
Result<std::string> candles_json(store::Store& s, const std::string& collection,
                                 const std::string& symbol, const Range& r);
// RSI-14, SMA-20, EMA-20, Bollinger(20, 2), daily VWAP, one value (or null) per candle.
Result<std::string> indicators_json(store::Store& s, const std::string& collection,
                                    const std::string& symbol, const Range& r);
// The original's /rsi: [{"open_time","rsi"}] with RSI-14 (Wilder).
Result<std::string> rsi_json(store::Store& s, const std::string& collection,
                             const std::string& symbol, const Range& r);
// Traded base volume by time bucket x price bin, split by aggressor (buy = the taker bought).
Result<std::string> heatmap_json(store::Store& s, const std::string& collection,
                                 const std::string& symbol, const Range& r, int64_t bucket_ms,
                                 int bins);
// Nodes and edges of the last `bars` bars of a graph collection (all symbols, or one).
Result<std::string> graph_json(store::Store& s, const std::string& collection,
                               const std::string& symbol, int64_t bars);
// The model card without its weights, and the predictions (newest first) of a collection.
Result<std::string> model_json(store::Store& s, const std::string& collection);
Result<std::string> predictions_json(store::Store& s, const std::string& collection,
                                     const std::string& symbol, int64_t limit);

// {"status":"error","message":m,"data":{}}.
std::string error_json(const std::string& message);

}  // namespace sf::viz
