// realtime_gnn_infer (SPEC §6): follows a graph collection; at every INFERENCE_INTERVAL boundary of
// the bar grid it predicts the next bars of each symbol's newest bar (with the strongest attention
// into it), writes `prediction` documents into the graph collection, scores each once its outcome
// is stored, and keeps `inference_metrics` (rolling live accuracy beside persistence and majority).
// The model: MODEL_INPUT if given, else the registry's newest for the same symbols, interval and
// features, else one trained here once GNN_MIN_NODES labelled bars exist, refreshed every
// GNN_REFRESH_BARS new labels. Ends when the graph is complete and every prediction is scored.
#pragma once

#include <chrono>
#include <string>

#include "sf/gnn/trainer.h"

namespace sf::gnn {

struct InferOptions {
  std::string graph;           // GRAPH_COLLECTION
  std::string model_input;     // MODEL_INPUT (a model collection), empty: registry or online
  int64_t every_ms = 300'000;  // INFERENCE_INTERVAL
  int64_t window_bars = 600;   // GNN_WINDOW_BARS: bars read for each prediction
  int64_t refresh_bars = 288;  // GNN_REFRESH_BARS: retrain online after this many new labels
  int rolling = 100;           // GNN_LIVE_WINDOW: scored predictions in the live accuracy
  std::chrono::milliseconds poll{1000};  // GNN_POLL_MS
};

Status run_realtime_infer(worker::WorkerContext& ctx, store::Store& store, const InferOptions& io,
                          const TrainOptions& to);

}  // namespace sf::gnn
