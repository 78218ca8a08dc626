// Predictor on libtorch.
#include "sf/gnn/predictor.h"

#include <openssl/evp.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>

#include "gatv2.h"

namespace sf::gnn {
namespace {

namespace json = boost::json;

std::string sha256_hex(const std::vector<char>& bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  std::string hex;
  char h[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(h, sizeof h, "%02x", md[i]);
    hex += h;
  }
  return hex;
}

}  // namespace

Result<std::vector<char>> decode_base64(std::string_view text) {
  static const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<char> out;
  out.reserve(text.size() / 4 * 3);
  uint32_t val = 0;
  int bits = -8;
  for (char c : text) {
    if (c == '=') break;
    const size_t at = alphabet.find(c);
    if (at == std::string::npos) return make_error("not base64");
    val = (val << 6) | static_cast<uint32_t>(at);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

struct Predictor::Impl {
  NetOptions net_options;
  GnnNet net{nullptr};
  std::vector<std::string> names;
  std::vector<double> mean, std;
  int horizon = 1, classes = 2, majority = 0;
  double dead_zone = 0;
  std::string source;

  Status load_weights(const std::vector<char>& bytes) {
    single_threaded_blas();
    net = GnnNet(net_options);
    net->eval();
    c10::IValue v;
    try {
      v = torch::pickle_load(bytes);
    } catch (const std::exception& e) {
      return make_error(std::string("the weights do not load: ") + e.what());
    }
    if (!v.isGenericDict()) return make_error("the weights are not a dict of tensors");
    std::map<std::string, at::Tensor> w;
    for (const auto& e : v.toGenericDict()) w[e.key().toStringRef()] = e.value().toTensor();
    torch::NoGradGuard ng;
    for (auto& [name, t] : net->pyg_state()) {
      auto it = w.find(name);
      if (it == w.end()) return make_error("the weights lack " + name);
      if (it->second.sizes() != t.sizes())
        return make_error("the weights of " + name + " do not fit");
      t.copy_(it->second);
    }
    return ok_status();
  }
};

Predictor::Predictor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Predictor::~Predictor() = default;

Result<std::unique_ptr<Predictor>> Predictor::from_store(store::Store& store,
                                                         const std::string& collection) {
  auto card = store.get(collection, "model");
  if (!card) return make_error("cannot read " + collection + ": " + card.error().message, true);
  if (!*card) return make_error("model collection " + collection + " has no model card");
  auto impl = std::make_unique<Impl>();
  std::vector<char> bytes;
  try {
    const auto m = json::parse(**card).as_object();
    const auto& a = m.at("architecture").as_object();
    const auto& f = m.at("features").as_object();
    for (const auto& n : f.at("names").as_array()) impl->names.emplace_back(n.as_string());
    for (const auto& x : f.at("mean").as_array()) impl->mean.push_back(x.to_number<double>());
    for (const auto& x : f.at("std").as_array()) impl->std.push_back(x.to_number<double>());
    const auto& task = m.at("task").as_object();
    impl->horizon = static_cast<int>(task.at("horizon_bars").to_number<double>());
    impl->classes = static_cast<int>(task.at("classes").to_number<double>());
    impl->dead_zone = task.at("dead_zone").to_number<double>();
    const auto& counts = m.at("training").at("train_class_counts").as_array();
    int64_t best = -1;
    for (size_t k = 0; k < counts.size(); ++k) {
      if (counts[k].to_number<int64_t>() > best) {
        best = counts[k].to_number<int64_t>();
        impl->majority = static_cast<int>(k);
      }
    }
    auto& no = impl->net_options;
    no.in_features = static_cast<int64_t>(impl->names.size());
    no.layers = a.at("layers").to_number<int64_t>();
    no.heads = a.at("heads").to_number<int64_t>();
    no.hidden = a.at("hidden_per_head").to_number<int64_t>();
    no.classes = impl->classes;
    no.dropout = a.at("dropout").to_number<double>();
    const auto& w = m.at("weights").as_object();
    const int64_t chunks = w.at("chunks").to_number<int64_t>();
    for (int64_t c = 0; c < chunks; ++c) {
      char key[32];
      std::snprintf(key, sizeof key, "weights:%04lld", static_cast<long long>(c));
      auto doc = store.get(collection, key);
      if (!doc || !*doc) return make_error("model " + collection + " lacks its chunk " + key);
      auto part = decode_base64(json::parse(**doc).at("base64").as_string());
      if (!part) return make_error("chunk " + std::string(key) + " is not base64");
      bytes.insert(bytes.end(), part->begin(), part->end());
    }
    if (sha256_hex(bytes) != std::string(w.at("sha256").as_string())) {
      return make_error("model " + collection +
                        ": the weight chunks do not match the card's sha256");
    }
  } catch (const std::exception& e) {
    return make_error("model card of " + collection + " is malformed: " + e.what());
  }
  if (auto st = impl->load_weights(bytes); !st) return st.error();
  impl->source = "model collection " + collection;
  return std::unique_ptr<Predictor>(new Predictor(std::move(impl)));
}

Result<std::unique_ptr<Predictor>> Predictor::from_training(const TrainReport& r,
                                                            const TrainOptions& o,
                                                            const GraphData& g) {
  auto impl = std::make_unique<Impl>();
  impl->names = g.feature_names;
  impl->mean = r.feature_mean;
  impl->std = r.feature_std;
  impl->horizon = o.horizon;
  impl->classes = o.classes;
  impl->dead_zone = o.dead_zone;
  impl->majority =
      static_cast<int>(std::max_element(r.train_class_counts.begin(), r.train_class_counts.end()) -
                       r.train_class_counts.begin());
  auto& no = impl->net_options;
  no.in_features = g.features;
  no.layers = o.layers;
  no.heads = o.heads;
  no.hidden = o.hidden;
  no.classes = o.classes;
  no.dropout = o.dropout;
  if (auto st = impl->load_weights(r.weights); !st) return st.error();
  impl->source = "trained online on " + std::to_string(r.n_train) + " nodes";
  return std::unique_ptr<Predictor>(new Predictor(std::move(impl)));
}

Result<std::vector<NodePrediction>> Predictor::predict(const GraphData& g,
                                                       const std::vector<int64_t>& nodes) {
  auto& m = *impl_;
  if (g.feature_names != m.names) {
    return make_error("the graph's features are not the model's (a graph of another version?)");
  }
  const int64_t F = g.features, E = static_cast<int64_t>(g.src.size());
  std::vector<float> xs(g.x.size());
  for (int64_t i = 0; i < g.nodes; ++i) {
    for (int64_t f = 0; f < F; ++f) {
      xs[i * F + f] = static_cast<float>((g.x[i * F + f] - m.mean[f]) / m.std[f]);
    }
  }
  std::vector<int64_t> ei(g.src);
  ei.insert(ei.end(), g.dst.begin(), g.dst.end());
  std::vector<float> ea(g.edge_attr.begin(), g.edge_attr.end());
  torch::NoGradGuard ng;
  const auto x = torch::from_blob(xs.data(), {g.nodes, F}, torch::kFloat32);
  const auto edges = torch::tensor(ei, torch::kInt64).view({2, E});
  const auto attr = torch::from_blob(ea.data(), {E, 3}, torch::kFloat32);
  const auto probs =
      torch::softmax(m.net->forward(x, edges, attr), 1).to(torch::kFloat64).contiguous();
  std::vector<NodePrediction> out;
  const auto att = m.net->last_attention.defined() ? m.net->last_attention.mean(1).contiguous()
                                                   : torch::Tensor();
  const auto used = m.net->last_edges;
  for (int64_t n : nodes) {
    NodePrediction p;
    for (int k = 0; k < m.classes; ++k) p.p.push_back(probs[n][k].item<double>());
    p.pred = static_cast<int>(std::max_element(p.p.begin(), p.p.end()) - p.p.begin());
    if (att.defined()) {
      const auto into = (used[1] == n) & (used[0] != n);
      const auto srcs = used[0].masked_select(into);
      const auto ws = att.masked_select(into);
      std::vector<std::pair<int64_t, double>> all;
      for (int64_t j = 0; j < srcs.size(0); ++j) {
        all.emplace_back(srcs[j].item<int64_t>(), ws[j].item<double>());
      }
      std::sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.second > b.second; });
      if (all.size() > 3) all.resize(3);
      p.top_attention = all;
    }
    out.push_back(std::move(p));
  }
  return out;
}

int Predictor::horizon() const {
  return impl_->horizon;
}
int Predictor::classes() const {
  return impl_->classes;
}
double Predictor::dead_zone() const {
  return impl_->dead_zone;
}
int Predictor::majority_class() const {
  return impl_->majority;
}
const std::vector<std::string>& Predictor::feature_names() const {
  return impl_->names;
}
const std::string& Predictor::source() const {
  return impl_->source;
}

}  // namespace sf::gnn
