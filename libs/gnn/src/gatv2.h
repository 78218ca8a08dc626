// GATv2Conv as PyTorch Geometric defines it (torch_geometric/nn/conv/gatv2_conv.py), on plain
// torch tensors and autograd, and the trainer's default network. Internal to libs/gnn: this header
// includes torch, so only the gnn sources include it.
//
// Parameters are named as PyG names them (lin_l.weight, lin_l.bias, lin_r.*, att, lin_edge.weight,
// res.weight, bias), so a state dict moves between the two.
#pragma once

#include <torch/torch.h>

#include <optional>

namespace sf::gnn {

// OpenBLAS (under torch's matrix products) runs its own threads that spin between calls; beside
// torch's pool they made a 600-node forward take 45 ms instead of 4 (gnn_bench). Torch's threads
// do the parallel work: BLAS stays on one thread.
void single_threaded_blas();

struct GATv2Options {
  int64_t in_channels = 0, out_channels = 0, heads = 1;
  bool concat = true;
  double negative_slope = 0.2;
  double dropout = 0.0;  // on the attention coefficients, in training
  bool add_self_loops = true;
  int64_t edge_dim = 0;  // 0: no edge features
  // Self-loop edge features: the mean of the node's incoming edges' features (PyG "mean"), or
  // `fill_constant` everywhere.
  bool fill_mean = true;
  double fill_constant = 0.0;
  bool bias = true;
  bool share_weights = false;
  bool residual = false;
};

class GATv2ConvImpl : public torch::nn::Module {
 public:
  explicit GATv2ConvImpl(const GATv2Options& o);
  // x: [N, in]; edge_index: [2, E] int64 (row 0 sources, row 1 targets); edge_attr: [E, edge_dim]
  // or undefined. Returns [N, heads * out] (concat) or [N, out]. When `attention` is given it
  // receives the coefficients [E', heads] and `used_edges` the edge index they belong to (self
  // loops removed, then added at the end, as PyG does).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& edge_index,
                        const torch::Tensor& edge_attr = {}, torch::Tensor* attention = nullptr,
                        torch::Tensor* used_edges = nullptr);

  // PyG's state dict names -> tensors (lin_r.* repeated when the weights are shared).
  std::vector<std::pair<std::string, torch::Tensor>> pyg_state(const std::string& prefix) const;

  GATv2Options options;
  torch::nn::Linear lin_l{nullptr}, lin_r{nullptr}, lin_edge{nullptr}, res{nullptr};
  torch::Tensor att, bias;
};
TORCH_MODULE(GATv2Conv);

struct NetOptions {
  int64_t in_features = 0;
  int64_t hidden = 32;  // per head
  int64_t heads = 4;
  int64_t layers = 2;
  int64_t edge_dim = 3;
  int64_t classes = 2;
  double dropout = 0.1;
  bool graph = true;  // false: the no-graph baseline (the same network without the GATv2 layers)
};

// input_proj -> layers x (GATv2 [heads x hidden, edge features, residual] -> LayerNorm -> ELU ->
// dropout) -> head (Linear -> ELU -> Linear) -> class logits.
class GnnNetImpl : public torch::nn::Module {
 public:
  explicit GnnNetImpl(const NetOptions& o);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& edge_index,
                        const torch::Tensor& edge_attr);
  // Every parameter under PyG-style names (convs.0.lin_l.weight, norms.0.weight, head.0.weight
  // ...).
  std::vector<std::pair<std::string, torch::Tensor>> pyg_state() const;
  // The last forward's attention of layer `layer`: [E', heads] and its edges.
  torch::Tensor last_attention, last_edges;

  NetOptions options;
  torch::nn::Linear input_proj{nullptr};
  std::vector<GATv2Conv> convs;
  std::vector<torch::nn::LayerNorm> norms;
  torch::nn::Linear head0{nullptr}, head2{nullptr};
};
TORCH_MODULE(GnnNet);

}  // namespace sf::gnn
