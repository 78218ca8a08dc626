#include "gatv2.h"

extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace sf::gnn {
namespace F = torch::nn::functional;

void single_threaded_blas() {
  if (openblas_set_num_threads) openblas_set_num_threads(1);
}

GATv2ConvImpl::GATv2ConvImpl(const GATv2Options& o) : options(o) {
  const int64_t hc = o.heads * o.out_channels;
  lin_l = register_module(
      "lin_l", torch::nn::Linear(torch::nn::LinearOptions(o.in_channels, hc).bias(o.bias)));
  if (o.share_weights) {
    lin_r = lin_l;
  } else {
    lin_r = register_module(
        "lin_r", torch::nn::Linear(torch::nn::LinearOptions(o.in_channels, hc).bias(o.bias)));
  }
  att = register_parameter("att", torch::empty({1, o.heads, o.out_channels}));
  torch::nn::init::xavier_uniform_(att);
  if (o.edge_dim > 0) {
    lin_edge = register_module(
        "lin_edge", torch::nn::Linear(torch::nn::LinearOptions(o.edge_dim, hc).bias(false)));
  }
  const int64_t total = o.out_channels * (o.concat ? o.heads : 1);
  if (o.residual) {
    res = register_module(
        "res", torch::nn::Linear(torch::nn::LinearOptions(o.in_channels, total).bias(false)));
  }
  if (o.bias) bias = register_parameter("bias", torch::zeros({total}));
  // Glorot for the weights as PyG initialises them (the biases start at zero).
  for (auto* l : {&lin_l, &lin_r, &lin_edge, &res}) {
    if (!*l) continue;
    torch::nn::init::xavier_uniform_((*l)->weight);
    if ((*l)->bias.defined()) torch::nn::init::zeros_((*l)->bias);
  }
}

torch::Tensor GATv2ConvImpl::forward(const torch::Tensor& x, const torch::Tensor& edge_index,
                                     const torch::Tensor& edge_attr, torch::Tensor* attention,
                                     torch::Tensor* used_edges) {
  const auto& o = options;
  const int64_t H = o.heads, C = o.out_channels, N = x.size(0);
  torch::Tensor residual_term;
  if (res) residual_term = res(x);
  const torch::Tensor x_l = lin_l(x).view({-1, H, C});
  const torch::Tensor x_r = o.share_weights ? x_l : lin_r(x).view({-1, H, C});

  torch::Tensor src = edge_index[0], dst = edge_index[1], ea = edge_attr;
  if (ea.defined() && ea.dim() == 1) ea = ea.view({-1, 1});
  if (o.add_self_loops) {
    const torch::Tensor keep = src != dst;
    src = src.masked_select(keep);
    dst = dst.masked_select(keep);
    if (ea.defined()) ea = ea.index({keep});
    const torch::Tensor loops = torch::arange(N, edge_index.options());
    if (ea.defined()) {
      torch::Tensor fill;
      if (o.fill_mean) {
        const torch::Tensor sum = torch::zeros({N, ea.size(1)}, ea.options()).index_add(0, dst, ea);
        const torch::Tensor count =
            torch::zeros({N}, ea.options())
                .index_add(0, dst, torch::ones({dst.size(0)}, ea.options()));
        fill = sum / count.clamp_min(1).unsqueeze(1);
      } else {
        fill = torch::full({N, ea.size(1)}, o.fill_constant, ea.options());
      }
      ea = torch::cat({ea, fill}, 0);
    }
    src = torch::cat({src, loops});
    dst = torch::cat({dst, loops});
  }
  const torch::Tensor x_j = x_l.index_select(0, src), x_i = x_r.index_select(0, dst);
  torch::Tensor z = x_i + x_j;
  if (ea.defined() && lin_edge) z = z + lin_edge(ea).view({-1, H, C});
  z = F::leaky_relu(z, F::LeakyReLUFuncOptions().negative_slope(o.negative_slope));
  const torch::Tensor logits = (z * att).sum(-1);  // [E', H]
  // Softmax over each target's incoming edges, shifted by the (detached) per-target maximum.
  const torch::Tensor index = dst.view({-1, 1}).expand_as(logits);
  const torch::Tensor max = torch::zeros({N, H}, logits.options())
                                .scatter_reduce(0, index, logits.detach(), "amax",
                                                /*include_self=*/false);
  const torch::Tensor e = (logits - max.index_select(0, dst)).exp();
  const torch::Tensor denom = torch::zeros({N, H}, logits.options()).index_add(0, dst, e) + 1e-16;
  torch::Tensor alpha = e / denom.index_select(0, dst);
  if (attention) *attention = alpha;
  if (used_edges) *used_edges = torch::stack({src, dst});
  alpha = F::dropout(alpha, F::DropoutFuncOptions().p(o.dropout).training(is_training()));
  const torch::Tensor messages = x_j * alpha.unsqueeze(-1);
  torch::Tensor out = torch::zeros({N, H, C}, messages.options()).index_add(0, dst, messages);
  out = o.concat ? out.reshape({N, H * C}) : out.mean(1);
  if (residual_term.defined()) out = out + residual_term;
  if (bias.defined()) out = out + bias;
  return out;
}

std::vector<std::pair<std::string, torch::Tensor>> GATv2ConvImpl::pyg_state(
    const std::string& prefix) const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  out.emplace_back(prefix + "att", att);
  if (bias.defined()) out.emplace_back(prefix + "bias", bias);
  auto linear = [&](const char* name, const torch::nn::Linear& l) {
    if (!l) return;
    out.emplace_back(prefix + name + ".weight", l->weight);
    if (l->bias.defined()) out.emplace_back(prefix + name + ".bias", l->bias);
  };
  linear("lin_l", lin_l);
  linear("lin_r", lin_r);
  linear("lin_edge", lin_edge);
  linear("res", res);
  return out;
}

GnnNetImpl::GnnNetImpl(const NetOptions& o) : options(o) {
  const int64_t width = o.hidden * o.heads;
  input_proj = register_module("input_proj", torch::nn::Linear(o.in_features, width));
  auto conv_list = register_module("convs", torch::nn::ModuleList());
  auto norm_list = register_module("norms", torch::nn::ModuleList());
  if (o.graph) {
    for (int64_t k = 0; k < o.layers; ++k) {
      GATv2Options g;
      g.in_channels = width;
      g.out_channels = o.hidden;
      g.heads = o.heads;
      g.edge_dim = o.edge_dim;
      g.dropout = o.dropout;
      g.residual = true;
      convs.push_back(GATv2Conv(g));
      norms.push_back(torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
      conv_list->push_back(convs.back());
      norm_list->push_back(norms.back());
    }
  }
  head0 = torch::nn::Linear(width, width / 2);
  head2 = torch::nn::Linear(width / 2, o.classes);
  // head.0 / head.1 (ELU) / head.2, as an nn.Sequential names them.
  register_module("head", torch::nn::Sequential(head0, torch::nn::ELU(), head2));
}

torch::Tensor GnnNetImpl::forward(const torch::Tensor& x, const torch::Tensor& edge_index,
                                  const torch::Tensor& edge_attr) {
  const auto drop = F::DropoutFuncOptions().p(options.dropout).training(is_training());
  torch::Tensor h = F::elu(input_proj(x));
  for (size_t k = 0; k < convs.size(); ++k) {
    torch::Tensor* att = k + 1 == convs.size() ? &last_attention : nullptr;
    torch::Tensor* edges = k + 1 == convs.size() ? &last_edges : nullptr;
    h = convs[k](h, edge_index, edge_attr, att, edges);
    h = F::dropout(F::elu(norms[k](h)), drop);
  }
  return head2(F::elu(head0(h)));
}

std::vector<std::pair<std::string, torch::Tensor>> GnnNetImpl::pyg_state() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  auto linear = [&](const std::string& name, const torch::nn::Linear& l) {
    out.emplace_back(name + ".weight", l->weight);
    out.emplace_back(name + ".bias", l->bias);
  };
  linear("input_proj", input_proj);
  for (size_t k = 0; k < convs.size(); ++k) {
    auto c = convs[k]->pyg_state("convs." + std::to_string(k) + ".");
    out.insert(out.end(), c.begin(), c.end());
    out.emplace_back("norms." + std::to_string(k) + ".weight", norms[k]->weight);
    out.emplace_back("norms." + std::to_string(k) + ".bias", norms[k]->bias);
  }
  linear("head.0", head0);
  linear("head.2", head2);
  return out;
}

}  // namespace sf::gnn
