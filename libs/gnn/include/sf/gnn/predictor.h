// Predictor: a trained network ready for inference (realtime_gnn_infer), loaded from a model
// collection (the card and its weight chunks) or from a training just done. Torch stays inside.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sf/core/result.h"
#include "sf/gnn/trainer.h"
#include "sf/store/store.h"

namespace sf::gnn {

struct NodePrediction {
  std::vector<double> p;
  int pred = 0;
  // The strongest incoming attention of the last layer (mean over heads): source node, weight.
  std::vector<std::pair<int64_t, double>> top_attention;
};

class Predictor {
 public:
  // Errors: no model card, chunks missing or not matching the card's sha256, an architecture the
  // weights do not fit.
  static Result<std::unique_ptr<Predictor>> from_store(store::Store& store,
                                                       const std::string& collection);
  static Result<std::unique_ptr<Predictor>> from_training(const TrainReport& r,
                                                          const TrainOptions& o,
                                                          const GraphData& g);
  ~Predictor();

  // Predicts `nodes` of `g` (features standardised with the model's training statistics).
  // An error if g's features are not the model's.
  Result<std::vector<NodePrediction>> predict(const GraphData& g,
                                              const std::vector<int64_t>& nodes);

  int horizon() const;
  int classes() const;
  double dead_zone() const;
  int majority_class() const;
  const std::vector<std::string>& feature_names() const;
  const std::string& source() const;  // "model collection X" or "trained online on N nodes"

  struct Impl;

 private:
  explicit Predictor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Decodes standard base64 (the weight chunks); an error on a character outside the alphabet.
Result<std::vector<char>> decode_base64(std::string_view text);

}  // namespace sf::gnn
