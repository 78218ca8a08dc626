// gnn-trainer (SPEC §6): `gnn_train` reads a graph collection, trains the GATv2 network on a
// chronological split and judges it beside naive baselines on the same test bars; writes the
// model card, the weights (a torch.save-readable dict of tensors with PyG names), one prediction
// per test node and a registry entry. Torch-free header: the torch code is inside libs/gnn.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "sf/config/env.h"
#include "sf/config/worker_config.h"
#include "sf/core/result.h"
#include "sf/gnn/metrics.h"
#include "sf/store/store.h"
#include "sf/worker/runtime.h"

namespace sf::gnn {

// A graph as the graph-builder wrote it, in arrays.
struct GraphData {
  std::string interval;
  std::vector<std::string> symbols, feature_names;
  std::vector<int> horizons;
  int warmup_bars = 0;
  int64_t nodes = 0, features = 0;
  std::vector<std::string> keys;
  std::vector<double> x;  // nodes x features
  std::vector<int64_t> open_time;
  std::vector<int> symbol_of;   // index into symbols
  std::vector<int> lane_index;  // position of the bar in its symbol's lane
  std::vector<uint8_t> gap;
  std::vector<double> close;             // NaN for gaps
  std::map<int, std::vector<double>> y;  // horizon -> future log return (NaN: unknown)
  std::vector<int64_t> src, dst;         // edges
  std::vector<double> edge_attr;         // edges x 3: type, ln(1 + lag), corr
  bool complete = false;
};

// Reads `meta` and every node of `collection` (pages in time order). Errors name what is wrong.
Result<GraphData> load_graph(store::Store& store, const std::string& collection);
// The same from documents (meta and nodes, any order): tests and in-memory use.
Result<GraphData> graph_from_documents(const std::vector<std::string>& docs);

struct TrainOptions {
  int layers = 2, heads = 4, hidden = 32;
  double dropout = 0.1;
  int epochs = 200, patience = 20;
  double lr = 1e-3, weight_decay = 1e-4;
  uint64_t seed = 42;
  int threads = 2;
  int horizon = 1;       // bars; must be one of the graph's horizons
  int classes = 2;       // 2: down/up; 3: down/flat/up with the dead zone
  double dead_zone = 0;  // |return| <= dead_zone is "flat" (3 classes)
  double train_share = 0.70, val_share = 0.15;
  int64_t min_nodes = 300;  // labelled nodes needed
  int bootstrap_resamples = 2000;
};

std::variant<TrainOptions, config::ConfigError> train_options_from_env(
    const config::EnvLookup& env);

struct Prediction {
  int64_t node = 0;
  std::vector<double> p;
  int pred = 0, outcome = 0;
};

struct TrainReport {
  // Split bounds in open_time (ms) and sizes.
  int64_t train_from = 0, train_to = 0, val_from = 0, val_to = 0, test_from = 0, test_to = 0;
  int64_t n_train = 0, n_val = 0, n_test = 0, embargo_bars = 0;
  std::vector<double> feature_mean, feature_std;
  int epochs_run = 0, best_epoch = 0;
  double wall_s = 0;
  std::vector<std::array<double, 3>> curve;  // train loss, val loss, val accuracy per epoch
  Scores test, majority, persistence, no_graph;
  std::string best_baseline;
  double delta = 0, p_value = 1;
  Interval ci95;
  std::vector<Prediction> predictions;  // test nodes
  std::vector<char> weights;            // torch.save-readable dict (PyG names)
  std::vector<std::string> weight_keys;
  int64_t parameters = 0;
  std::vector<double> class_weights;
  std::vector<int64_t> train_class_counts;
};

using EpochCallback =
    std::function<void(int epoch, double train_loss, double val_loss, double val_accuracy)>;

// Trains and evaluates. Errors: too few labelled nodes (with the counts), a horizon the graph
// does not have.
Result<TrainReport> train_and_evaluate(const GraphData& g, const TrainOptions& o,
                                       const EpochCallback& on_epoch = {});
// The class of a future log return under `o` (classes, dead zone).
int label_of(double r, const TrainOptions& o);

// Writes the model collection (model card, weight chunks, predictions) and the registry entry.
Status write_model(store::Store& store, const std::string& collection, const std::string& graph,
                   const GraphData& g, const TrainOptions& o, const TrainReport& r,
                   worker::Progress* progress);

// The whole main() of the gnn-trainer program.
int trainer_main();

}  // namespace sf::gnn
