// Training and evaluation on libtorch: the one translation unit of the trainer that includes
// torch (besides the layer's).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>

#include "gatv2.h"
#include "sf/gnn/trainer.h"

namespace sf::gnn {
namespace {

using Clock = std::chrono::steady_clock;

struct Split {
  std::vector<int64_t> train, val, test;  // node indices
};

struct Tensors {
  torch::Tensor x, edge_index, edge_attr, labels;
};

struct Fit {
  std::vector<torch::Tensor> best;  // parameter values at the best validation loss
  int epochs = 0, best_epoch = 0;
  std::vector<std::array<double, 3>> curve;
};

torch::Tensor index_tensor(const std::vector<int64_t>& v) {
  return torch::tensor(v, torch::kInt64);
}

// Full-batch training with early stopping on the validation loss; loss on training nodes only.
Fit fit(GnnNet& net, const Tensors& t, const Split& s, const torch::Tensor& class_weights,
        const TrainOptions& o, const EpochCallback& on_epoch) {
  torch::optim::AdamW opt(net->parameters(),
                          torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));
  const auto tr = index_tensor(s.train), va = index_tensor(s.val);
  const auto y_tr = t.labels.index_select(0, tr), y_va = t.labels.index_select(0, va);
  auto loss_fn = [&](const torch::Tensor& logits, const torch::Tensor& y) {
    return torch::nn::functional::cross_entropy(
        logits, y, torch::nn::functional::CrossEntropyFuncOptions().weight(class_weights));
  };
  Fit f;
  double best = std::numeric_limits<double>::infinity();
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    net->train();
    opt.zero_grad();
    auto logits = net->forward(t.x, t.edge_index, t.edge_attr);
    auto loss = loss_fn(logits.index_select(0, tr), y_tr);
    loss.backward();
    opt.step();
    net->eval();
    double val_loss, val_acc;
    {
      torch::NoGradGuard ng;
      auto vl = net->forward(t.x, t.edge_index, t.edge_attr).index_select(0, va);
      val_loss = loss_fn(vl, y_va).item<double>();
      val_acc = vl.argmax(1).eq(y_va).to(torch::kFloat64).mean().item<double>();
    }
    f.epochs = epoch;
    f.curve.push_back({loss.item<double>(), val_loss, val_acc});
    if (on_epoch) on_epoch(epoch, loss.item<double>(), val_loss, val_acc);
    if (val_loss < best - 1e-7) {
      best = val_loss;
      f.best_epoch = epoch;
      f.best.clear();
      for (const auto& p : net->parameters()) f.best.push_back(p.detach().clone());
    } else if (epoch - f.best_epoch >= o.patience) {
      break;
    }
  }
  torch::NoGradGuard ng;
  auto params = net->parameters();
  for (size_t i = 0; i < params.size() && i < f.best.size(); ++i) params[i].copy_(f.best[i]);
  net->eval();
  return f;
}

std::vector<std::vector<double>> probabilities(GnnNet& net, const Tensors& t,
                                               const std::vector<int64_t>& nodes) {
  torch::NoGradGuard ng;
  auto p = torch::softmax(net->forward(t.x, t.edge_index, t.edge_attr), 1)
               .index_select(0, index_tensor(nodes))
               .to(torch::kFloat64)
               .contiguous();
  std::vector<std::vector<double>> out(nodes.size());
  const double* d = p.data_ptr<double>();
  const int64_t k = p.size(1);
  for (size_t i = 0; i < nodes.size(); ++i) out[i].assign(d + i * k, d + (i + 1) * k);
  return out;
}

std::vector<int> argmax(const std::vector<std::vector<double>>& p) {
  std::vector<int> out;
  for (const auto& r : p)
    out.push_back(static_cast<int>(std::max_element(r.begin(), r.end()) - r.begin()));
  return out;
}

}  // namespace

int label_of(double r, const TrainOptions& o) {
  if (o.classes == 2) return r > 0 ? 1 : 0;
  if (r < -o.dead_zone) return 0;
  return r > o.dead_zone ? 2 : 1;
}

Result<TrainReport> train_and_evaluate(const GraphData& g, const TrainOptions& o,
                                       const EpochCallback& on_epoch) {
  const auto t0 = Clock::now();
  auto yit = g.y.find(o.horizon);
  if (yit == g.y.end()) {
    std::string have;
    for (int h : g.horizons) have += (have.empty() ? "" : ", ") + std::to_string(h);
    return make_error("the graph has no targets for a horizon of " + std::to_string(o.horizon) +
                      " bars (GNN_HORIZON); it has " + have);
  }
  const auto& y = yit->second;
  // Labelled nodes: real bars past the warm-up whose outcome is known.
  std::vector<int64_t> labelled;
  for (int64_t i = 0; i < g.nodes; ++i) {
    if (!g.gap[i] && std::isfinite(y[i]) && g.lane_index[i] >= g.warmup_bars) labelled.push_back(i);
  }
  if (static_cast<int64_t>(labelled.size()) < o.min_nodes) {
    return make_error("the graph has " + std::to_string(labelled.size()) + " labelled nodes (of " +
                      std::to_string(g.nodes) + "; gaps, the first " +
                      std::to_string(g.warmup_bars) + " bars of each symbol and the last " +
                      std::to_string(o.horizon) + " have none), at least " +
                      std::to_string(o.min_nodes) + " are needed (GNN_MIN_NODES)");
  }
  // Chronological split over the distinct bar times; the last `horizon` bars before each
  // boundary are dropped, so no training label looks into validation or test.
  std::vector<int64_t> times;
  for (int64_t i : labelled) times.push_back(g.open_time[i]);
  std::sort(times.begin(), times.end());
  times.erase(std::unique(times.begin(), times.end()), times.end());
  const size_t nt = times.size();
  const size_t a = static_cast<size_t>(std::llround(o.train_share * static_cast<double>(nt)));
  const size_t b =
      static_cast<size_t>(std::llround((o.train_share + o.val_share) * static_cast<double>(nt)));
  const size_t emb = static_cast<size_t>(o.horizon);
  if (a <= emb || b <= a + emb || nt <= b) return make_error("too few bar times to split");
  const int64_t train_end = times[a - emb], val_start = times[a], val_end = times[b - emb],
                test_start = times[b];
  Split s;
  for (int64_t i : labelled) {
    const int64_t t = g.open_time[i];
    if (t < train_end) {
      s.train.push_back(i);
    } else if (t >= val_start && t < val_end) {
      s.val.push_back(i);
    } else if (t >= test_start) {
      s.test.push_back(i);
    }
  }
  auto by_time = [&](std::vector<int64_t>& v) {
    std::stable_sort(v.begin(), v.end(),
                     [&](int64_t p, int64_t q) { return g.open_time[p] < g.open_time[q]; });
  };
  by_time(s.train);
  by_time(s.val);
  by_time(s.test);

  TrainReport r;
  r.embargo_bars = o.horizon;
  r.n_train = static_cast<int64_t>(s.train.size());
  r.n_val = static_cast<int64_t>(s.val.size());
  r.n_test = static_cast<int64_t>(s.test.size());
  r.train_from = times.front();
  r.train_to = train_end - 1;
  r.val_from = val_start;
  r.val_to = val_end - 1;
  r.test_from = test_start;
  r.test_to = times.back();

  // Standardise with the training nodes only.
  const int64_t F = g.features;
  r.feature_mean.assign(F, 0);
  r.feature_std.assign(F, 0);
  for (int64_t i : s.train) {
    for (int64_t f = 0; f < F; ++f) r.feature_mean[f] += g.x[i * F + f];
  }
  for (auto& m : r.feature_mean) m /= static_cast<double>(s.train.size());
  for (int64_t i : s.train) {
    for (int64_t f = 0; f < F; ++f) {
      const double d = g.x[i * F + f] - r.feature_mean[f];
      r.feature_std[f] += d * d;
    }
  }
  for (auto& v : r.feature_std) {
    v = std::sqrt(v / static_cast<double>(s.train.size()));
    if (!(v > 1e-12)) v = 1;
  }
  std::vector<float> xs(static_cast<size_t>(g.nodes * F));
  for (int64_t i = 0; i < g.nodes; ++i) {
    for (int64_t f = 0; f < F; ++f) {
      xs[i * F + f] = static_cast<float>((g.x[i * F + f] - r.feature_mean[f]) / r.feature_std[f]);
    }
  }
  std::vector<int64_t> labels(g.nodes, 0);
  for (int64_t i : labelled) labels[i] = label_of(y[i], o);
  r.train_class_counts.assign(o.classes, 0);
  for (int64_t i : s.train) r.train_class_counts[labels[i]]++;
  for (int k = 0; k < o.classes; ++k) {
    const double c = static_cast<double>(r.train_class_counts[k]);
    r.class_weights.push_back(c > 0 ? static_cast<double>(s.train.size()) / (o.classes * c) : 0.0);
  }

  single_threaded_blas();
  at::set_num_threads(o.threads);
  torch::manual_seed(o.seed);
  Tensors t;
  t.x = torch::from_blob(xs.data(), {g.nodes, F}, torch::kFloat32).clone();
  std::vector<int64_t> ei(g.src);
  ei.insert(ei.end(), g.dst.begin(), g.dst.end());
  const int64_t E = static_cast<int64_t>(g.src.size());
  t.edge_index = torch::tensor(ei, torch::kInt64).view({2, E});
  std::vector<float> ea(g.edge_attr.begin(), g.edge_attr.end());
  t.edge_attr = torch::from_blob(ea.data(), {E, 3}, torch::kFloat32).clone();
  t.labels = torch::tensor(labels, torch::kInt64);
  std::vector<float> cw(r.class_weights.begin(), r.class_weights.end());
  const auto class_weights = torch::tensor(cw, torch::kFloat32);

  NetOptions no;
  no.in_features = F;
  no.hidden = o.hidden;
  no.heads = o.heads;
  no.layers = o.layers;
  no.classes = o.classes;
  no.dropout = o.dropout;
  GnnNet net(no);
  const Fit f = fit(net, t, s, class_weights, o, on_epoch);
  r.epochs_run = f.epochs;
  r.best_epoch = f.best_epoch;
  r.curve = f.curve;
  for (const auto& p : net->parameters()) r.parameters += p.numel();

  std::vector<int> truth;
  for (int64_t i : s.test) truth.push_back(static_cast<int>(labels[i]));
  const auto probs = probabilities(net, t, s.test);
  const auto pred = argmax(probs);
  r.test = score(truth, pred, probs, o.classes);
  for (size_t k = 0; k < s.test.size(); ++k) {
    r.predictions.push_back({s.test[k], probs[k], pred[k], truth[k]});
  }

  // Baselines on the same test nodes.
  const int majority =
      static_cast<int>(std::max_element(r.train_class_counts.begin(), r.train_class_counts.end()) -
                       r.train_class_counts.begin());
  std::vector<double> prior;
  for (auto c : r.train_class_counts) prior.push_back((c + 1.0) / (s.train.size() + o.classes));
  r.majority = score(truth, std::vector<int>(truth.size(), majority),
                     std::vector<std::vector<double>>(truth.size(), prior), o.classes);
  // Persistence: the class of the past return over the same horizon (ret_<h> when the graph has
  // it, else ret_1), with probabilities P(outcome | that class) from the training nodes.
  int feature = -1;
  for (size_t k = 0; k < g.feature_names.size(); ++k) {
    if (g.feature_names[k] == "ret_" + std::to_string(o.horizon)) feature = static_cast<int>(k);
  }
  if (feature < 0) {
    for (size_t k = 0; k < g.feature_names.size(); ++k) {
      if (g.feature_names[k] == "ret_1") feature = static_cast<int>(k);
    }
  }
  auto persist = [&](int64_t i) {
    return feature < 0 ? majority : label_of(g.x[i * F + feature], o);
  };
  std::vector<std::vector<double>> given(o.classes, std::vector<double>(o.classes, 1.0));
  for (int64_t i : s.train) given[persist(i)][labels[i]] += 1;
  for (auto& row : given) {
    const double sum = std::accumulate(row.begin(), row.end(), 0.0);
    for (auto& v : row) v /= sum;
  }
  std::vector<int> ppred;
  std::vector<std::vector<double>> pprob;
  for (int64_t i : s.test) {
    ppred.push_back(persist(i));
    pprob.push_back(given[ppred.back()]);
  }
  r.persistence = score(truth, ppred, pprob, o.classes);
  // No graph: the same network without the GATv2 layers, trained the same way.
  torch::manual_seed(o.seed);
  NetOptions flat = no;
  flat.graph = false;
  GnnNet plain(flat);
  (void)fit(plain, t, s, class_weights, o, {});
  const auto nprob = probabilities(plain, t, s.test);
  const auto npred = argmax(nprob);
  r.no_graph = score(truth, npred, nprob, o.classes);

  // The best baseline by accuracy, and the model's difference to it.
  struct Named {
    const char* name;
    const Scores* s;
    std::vector<int> pred;
  };
  std::vector<Named> bases = {{"majority", &r.majority, std::vector<int>(truth.size(), majority)},
                              {"persistence", &r.persistence, ppred},
                              {"no_graph", &r.no_graph, npred}};
  const Named* best = &bases[0];
  for (const auto& b : bases) {
    if (b.s->accuracy > best->s->accuracy) best = &b;
  }
  r.best_baseline = best->name;
  std::vector<bool> model_right, base_right;
  for (size_t k = 0; k < truth.size(); ++k) {
    model_right.push_back(pred[k] == truth[k]);
    base_right.push_back(best->pred[k] == truth[k]);
  }
  r.delta = r.test.accuracy - best->s->accuracy;
  const int block =
      std::max(10, o.horizon * 2) * static_cast<int>(std::max<size_t>(1, g.symbols.size()));
  r.ci95 = block_bootstrap_delta(model_right, base_right, block, o.bootstrap_resamples, o.seed);
  r.p_value = mcnemar_p(model_right, base_right);

  // Weights: a dict of tensors under PyG's names, as torch.save writes it.
  c10::Dict<std::string, at::Tensor> dict;
  for (auto& [name, tensor] : net->pyg_state()) {
    dict.insert(name, tensor.detach().clone().contiguous());
    r.weight_keys.push_back(name);
  }
  r.weights = torch::pickle_save(dict);
  r.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

}  // namespace sf::gnn
