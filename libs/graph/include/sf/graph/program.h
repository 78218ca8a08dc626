// The graph-builder worker (SPEC §3, §6): TYPE=gnn_graph (historical: read the inputs once, in
// time order, in pages; write nodes as they become final and `meta` last with complete: true) or
// TYPE=realtime_graph (follow the inputs while their connectors fill them; one node and one
// metrics document per bar as it closes; finishes after TIME_RANGE's last bar once the queue's
// loaders and connectors ended, else runs until stopped).
#pragma once

#include <chrono>
#include <string>
#include <variant>
#include <vector>

#include "sf/config/env.h"
#include "sf/config/worker_config.h"
#include "sf/core/result.h"
#include "sf/graph/graph.h"
#include "sf/store/store.h"
#include "sf/worker/runtime.h"

namespace sf::graph {

struct BuilderOptions {
  std::vector<std::string> inputs;  // COLLECTION_INPUTS (comma-separated)
  std::string output;               // COLLECTION_OUTPUT
  GraphOptions graph;               // GRAPH_LAGS, GRAPH_HORIZONS, GRAPH_*_WINDOW, ...
  int batch_size = 2000;            // GRAPH_BATCH_SIZE: documents per store write
  int page_size = 5000;             // GRAPH_PAGE_SIZE: documents per store read
  std::chrono::milliseconds store_retry_budget{60'000};  // STORE_RETRY_BUDGET_MS
  // Real time: a bar is built once its candle is stored and the trades passed its close + grace
  // (GRAPH_GRACE_MS), or GRAPH_TRADE_TIMEOUT_MS after its candle (trades_complete: false);
  // the inputs are read every GRAPH_POLL_MS.
  std::chrono::milliseconds grace{2'000};
  std::chrono::milliseconds trade_timeout{30'000};
  std::chrono::milliseconds poll{500};
};

std::variant<BuilderOptions, config::ConfigError> builder_options_from_env(
    const config::EnvLookup& env, const config::WorkerConfig& worker);

// What the first document of each input says (read before the worker starts, so that an
// interval disagreeing with INTERVAL is a config error).
struct InputInfo {
  std::string collection;
  int64_t count = 0;
  bool candles = false;  // else trades (when count > 0)
  std::string interval;  // of the first candle
};
Result<std::vector<InputInfo>> probe_inputs(store::Store& store,
                                            const std::vector<std::string>& inputs);
// The graph's interval: the candles' (all must agree), checked against INTERVAL when given.
// An error here is a config error (exit 2).
Result<records::Interval> graph_interval(const std::vector<InputInfo>& inputs,
                                         const std::optional<records::Interval>& configured);

Status run_gnn_graph(worker::WorkerContext& ctx, store::Store& store, const BuilderOptions& o,
                     const std::vector<InputInfo>& inputs, records::Interval interval);
Status run_realtime_graph(worker::WorkerContext& ctx, store::Store& store, const BuilderOptions& o);

// The whole main() of the graph-builder program.
int graph_builder_main();

}  // namespace sf::graph
