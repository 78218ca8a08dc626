// The gnn-trainer worker (torch-free: the training itself is in train.cpp).
#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "sf/gnn/infer.h"
#include "sf/gnn/trainer.h"
#include "sf/log/log.h"
#include "sf/records/interval.h"

namespace sf::gnn {
namespace {

namespace json = boost::json;
constexpr size_t kChunkBytes = 256 * 1024;

std::string sha256_hex(const std::vector<char>& bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

std::string base64(const char* data, size_t n) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (size_t i = 0; i < n; i += 3) {
    const uint32_t b0 = static_cast<unsigned char>(data[i]);
    const uint32_t b1 = i + 1 < n ? static_cast<unsigned char>(data[i + 1]) : 0;
    const uint32_t b2 = i + 2 < n ? static_cast<unsigned char>(data[i + 2]) : 0;
    const uint32_t v = (b0 << 16) | (b1 << 8) | b2;
    out += t[(v >> 18) & 63];
    out += t[(v >> 12) & 63];
    out += i + 1 < n ? t[(v >> 6) & 63] : '=';
    out += i + 2 < n ? t[v & 63] : '=';
  }
  return out;
}

json::object scores_json(const Scores& s) {
  json::array confusion;
  for (const auto& row : s.confusion) {
    json::array r;
    for (auto v : row) r.push_back(v);
    confusion.push_back(r);
  }
  auto finite = [](double v) { return std::isfinite(v) ? json::value(v) : json::value(nullptr); };
  return {{"n", s.n},
          {"accuracy", finite(s.accuracy)},
          {"balanced_accuracy", finite(s.balanced_accuracy)},
          {"macro_f1", finite(s.macro_f1)},
          {"mcc", finite(s.mcc)},
          {"log_loss", finite(s.log_loss)},
          {"confusion", confusion}};
}

template <class T>
json::array array_of(const std::vector<T>& v) {
  json::array a;
  for (const auto& x : v) a.push_back(json::value(x));
  return a;
}

std::string features_hash(const GraphData& g) {
  std::string all;
  for (const auto& f : g.feature_names) all += f + ",";
  return sha256_hex(std::vector<char>(all.begin(), all.end())).substr(0, 16);
}

// In words a trader reads correctly.
std::string verdict(const TrainReport& r) {
  const double lo = r.ci95.low * 100, hi = r.ci95.high * 100;
  std::string s = fmt::format(
      "On {} test bars the model called the direction right {:.1f}% of the time; the best naive "
      "baseline ({}) {:.1f}%. Difference {:+.1f} points, 95% interval {:+.1f} to {:+.1f}. ",
      r.test.n, r.test.accuracy * 100, r.best_baseline, (r.test.accuracy - r.delta) * 100,
      r.delta * 100, lo, hi);
  if (lo > 0) {
    s += "The edge over the baselines is unlikely to be chance on this data.";
  } else if (hi < 0) {
    s += "The model did worse than a naive rule: do not trade on it.";
  } else {
    s += "That is no demonstrated edge: the model is indistinguishable from a naive rule here.";
  }
  return s;
}

}  // namespace

std::variant<TrainOptions, config::ConfigError> train_options_from_env(
    const config::EnvLookup& env) {
  TrainOptions o;
  if (auto e = config::read_int_settings(
          env,
          {
              {"GNN_LAYERS", 1, 8, "layers", [&](int64_t v) { o.layers = int(v); }, o.layers},
              {"GNN_HEADS", 1, 16, "heads", [&](int64_t v) { o.heads = int(v); }, o.heads},
              {"GNN_HIDDEN", 2, 512, "channels per head", [&](int64_t v) { o.hidden = int(v); },
               o.hidden},
              {"GNN_EPOCHS", 1, 10'000, "epochs", [&](int64_t v) { o.epochs = int(v); }, o.epochs},
              {"GNN_PATIENCE", 1, 10'000, "epochs", [&](int64_t v) { o.patience = int(v); },
               o.patience},
              {"GNN_SEED", 0, 1LL << 62, "", [&](int64_t v) { o.seed = uint64_t(v); },
               int64_t(o.seed)},
              {"GNN_THREADS", 1, 64, "threads", [&](int64_t v) { o.threads = int(v); }, o.threads},
              {"GNN_HORIZON", 1, 10'000, "bars", [&](int64_t v) { o.horizon = int(v); }, o.horizon},
              {"GNN_CLASSES", 2, 3, "classes", [&](int64_t v) { o.classes = int(v); }, o.classes},
              {"GNN_MIN_NODES", 10, 100'000'000, "nodes", [&](int64_t v) { o.min_nodes = v; },
               o.min_nodes},
          })) {
    return *e;
  }
  struct RealKnob {
    const char* name;
    double lo, hi;
    double* target;
  };
  const RealKnob reals[] = {
      {"GNN_DROPOUT", 0, 0.9, &o.dropout},           {"GNN_LR", 1e-6, 1, &o.lr},
      {"GNN_WEIGHT_DECAY", 0, 1, &o.weight_decay},   {"GNN_DEAD_ZONE", 0, 1, &o.dead_zone},
      {"GNN_TRAIN_SHARE", 0.1, 0.9, &o.train_share}, {"GNN_VAL_SHARE", 0.05, 0.5, &o.val_share}};
  for (const auto& k : reals) {
    auto v = env(k.name);
    if (!v) continue;
    char* end = nullptr;
    const double x = std::strtod(v->c_str(), &end);
    if (end == v->c_str() || *end != '\0' || !(x >= k.lo && x <= k.hi)) {
      return config::ConfigError{k.name, fmt::format("config error: {}='{}' is invalid: expected a "
                                                     "number between {} and {}",
                                                     k.name, *v, k.lo, k.hi)};
    }
    *k.target = x;
  }
  if (o.train_share + o.val_share > 0.95) {
    return config::ConfigError{"GNN_VAL_SHARE",
                               "config error: GNN_TRAIN_SHARE + GNN_VAL_SHARE must leave at least "
                               "5% of the bars for the test split"};
  }
  if (o.classes == 3 && o.dead_zone == 0) {
    return config::ConfigError{"GNN_DEAD_ZONE",
                               "config error: GNN_CLASSES=3 needs GNN_DEAD_ZONE, the |log return| "
                               "counted as flat, e.g. 0.01 for the original's +-1%"};
  }
  return o;
}

Status write_model(store::Store& store, const std::string& collection, const std::string& graph,
                   const GraphData& g, const TrainOptions& o, const TrainReport& r,
                   worker::Progress* progress) {
  std::vector<store::Document> docs;
  const std::string sha = sha256_hex(r.weights);
  const size_t chunks = (r.weights.size() + kChunkBytes - 1) / kChunkBytes;
  for (size_t c = 0; c < chunks; ++c) {
    const size_t from = c * kChunkBytes, n = std::min(kChunkBytes, r.weights.size() - from);
    const std::string key = fmt::format("weights:{:04d}", c);
    json::object w{{"_key", key},
                   {"kind", "weights"},
                   {"index", c},
                   {"base64", base64(r.weights.data() + from, n)}};
    docs.push_back({key, json::serialize(w), 0});
  }
  json::array curve;
  for (const auto& e : r.curve) curve.push_back(json::array{e[0], e[1], e[2]});
  json::object baselines{{"majority", scores_json(r.majority)},
                         {"persistence", scores_json(r.persistence)},
                         {"no_graph", scores_json(r.no_graph)}};
  json::object model{
      {"_key", "model"},
      {"kind", "model"},
      {"graph_collection", graph},
      {"symbols", array_of(g.symbols)},
      {"interval", g.interval},
      {"architecture",
       {{"type", "GATv2 (PyG GATv2Conv semantics)"},
        {"input_projection", o.heads * o.hidden},
        {"layers", o.layers},
        {"heads", o.heads},
        {"hidden_per_head", o.hidden},
        {"edge_dim", 3},
        {"layer_norm", true},
        {"activation", "elu"},
        {"residual", true},
        {"dropout", o.dropout},
        {"head", json::array{o.heads * o.hidden / 2, o.classes}},
        {"parameters", r.parameters}}},
      {"task",
       {{"horizon_bars", o.horizon},
        {"classes", o.classes},
        {"labels", o.classes == 2
                       ? "0: log return <= 0, 1: > 0"
                       : fmt::format("0: < -{0}, 1: within +-{0}, 2: > {0}", o.dead_zone)},
        {"dead_zone", o.dead_zone}}},
      {"features",
       {{"names", array_of(g.feature_names)},
        {"mean", array_of(r.feature_mean)},
        {"std", array_of(r.feature_std)},
        {"hash", features_hash(g)}}},
      {"split",
       {{"train", {{"from_ms", r.train_from}, {"to_ms", r.train_to}, {"nodes", r.n_train}}},
        {"val", {{"from_ms", r.val_from}, {"to_ms", r.val_to}, {"nodes", r.n_val}}},
        {"test", {{"from_ms", r.test_from}, {"to_ms", r.test_to}, {"nodes", r.n_test}}},
        {"embargo_bars", r.embargo_bars},
        {"shares", json::array{o.train_share, o.val_share, 1 - o.train_share - o.val_share}}}},
      {"training",
       {{"epochs", r.epochs_run},
        {"max_epochs", o.epochs},
        {"best_epoch", r.best_epoch},
        {"seed", o.seed},
        {"threads", o.threads},
        {"lr", o.lr},
        {"weight_decay", o.weight_decay},
        {"patience", o.patience},
        {"optimizer", "AdamW"},
        {"loss", "class-weighted cross-entropy on training nodes"},
        {"class_weights", array_of(r.class_weights)},
        {"train_class_counts", array_of(r.train_class_counts)},
        {"wall_s", r.wall_s},
        {"curve", curve}}},
      {"metrics",
       {{"test", scores_json(r.test)},
        {"baselines", baselines},
        {"vs_best_baseline",
         {{"baseline", r.best_baseline},
          {"delta", r.delta},
          {"ci95", json::array{r.ci95.low, r.ci95.high}},
          {"p", r.p_value},
          {"test",
           "McNemar exact; interval: moving-block bootstrap of the accuracy difference"}}}}},
      {"summary", verdict(r)},
      {"weights",
       {{"format", "torch.save dict of tensors (torch.load), PyG names"},
        {"sha256", sha},
        {"bytes", r.weights.size()},
        {"chunks", chunks},
        {"keys", array_of(r.weight_keys)}}}};
  for (const auto& p : r.predictions) {
    const std::string sym = g.symbols[g.symbol_of[p.node]];
    const int64_t t = g.open_time[p.node];
    const std::string key = fmt::format("p:{}:{}:{}:h{}", sym, g.interval, t, o.horizon);
    json::object d{{"_key", key},
                   {"kind", "prediction"},
                   {"symbol", sym},
                   {"interval", g.interval},
                   {"open_time", t},
                   {"horizon_bars", o.horizon},
                   {"classes", o.classes},
                   {"p", array_of(p.p)},
                   {"pred", p.pred},
                   {"outcome", p.outcome},
                   {"correct", p.pred == p.outcome},
                   {"split", "test"}};
    docs.push_back({key, json::serialize(d), t});
  }
  // The model card last: a reader that finds it finds its weights and predictions.
  docs.push_back({"model", json::serialize(model), 0});
  if (auto st = store.ensure_collection(collection); !st) return st;
  int64_t written = 0;
  for (size_t i = 0; i < docs.size(); i += 500) {
    std::vector<store::Document> batch(
        docs.begin() + static_cast<long>(i),
        docs.begin() + static_cast<long>(std::min(docs.size(), i + 500)));
    auto w = store.upsert(collection, batch);
    if (!w) return w.error();
    if (!w->errors.empty()) return make_error("the store refused " + w->errors.front().message);
    written += w->written;
    if (progress) progress->written.store(written);
  }
  json::object reg{{"_key", collection},
                   {"kind", "model_registry"},
                   {"model_collection", collection},
                   {"graph_collection", graph},
                   {"symbols", array_of(g.symbols)},
                   {"interval", g.interval},
                   {"features_hash", features_hash(g)},
                   {"horizon_bars", o.horizon},
                   {"classes", o.classes},
                   {"test_accuracy", r.test.accuracy},
                   {"best_baseline_accuracy", r.test.accuracy - r.delta},
                   {"test_to_ms", r.test_to},
                   {"weights_sha256", sha}};
  if (auto st = store.ensure_collection("gnn_models"); !st) return st;
  auto w = store.upsert("gnn_models", {{collection, json::serialize(reg), r.test_to}});
  if (!w) return w.error();
  if (progress) progress->written.store(written + w->written);
  return ok_status();
}

int trainer_main() {
  auto env = config::process_env();
  log::init(log::options_from_env("gnn-trainer", env));
  auto loaded = config::load_analytics_config(env, {"gnn_train", "realtime_gnn_infer"});
  if (auto* e = std::get_if<config::ConfigError>(&loaded)) config::exit_with_config_error(*e);
  const auto& cfg = std::get<config::WorkerConfig>(loaded);
  auto opts = train_options_from_env(env);
  if (auto* e = std::get_if<config::ConfigError>(&opts)) config::exit_with_config_error(*e);
  const auto& o = std::get<TrainOptions>(opts);
  const auto graph = env("GRAPH_COLLECTION");
  if (!graph || !store::valid_collection_name(*graph)) {
    config::exit_with_config_error(
        {"GRAPH_COLLECTION",
         "config error: GRAPH_COLLECTION" +
             (graph ? "='" + *graph + "' is invalid" : std::string(" is missing")) +
             ": expected the graph-builder's collection, e.g. btc_graph_2024_06"});
  }
  const auto output = env("MODEL_OUTPUT");
  if (cfg.type == "gnn_train" && (!output || !store::valid_collection_name(*output))) {
    config::exit_with_config_error(
        {"MODEL_OUTPUT",
         "config error: MODEL_OUTPUT" +
             (output ? "='" + *output + "' is invalid" : std::string(" is missing")) +
             ": expected the model's collection, e.g. gnn_model_btc_2024_06"});
  }
  InferOptions io;
  if (cfg.type == "realtime_gnn_infer") {
    io.graph = *graph;
    io.model_input = env("MODEL_INPUT").value_or("");
    if (!io.model_input.empty() && !store::valid_collection_name(io.model_input)) {
      config::exit_with_config_error({"MODEL_INPUT", "config error: MODEL_INPUT='" +
                                                         io.model_input +
                                                         "' is invalid: expected a model "
                                                         "collection, e.g. gnn_model_btc_2024_06"});
    }
    const auto every = env("INFERENCE_INTERVAL");
    const auto iv = every ? records::Interval::parse(*every) : std::nullopt;
    if (!iv || iv->fixed_ms() == 0) {
      config::exit_with_config_error(
          {"INFERENCE_INTERVAL",
           "config error: INFERENCE_INTERVAL" +
               (every ? "='" + *every + "' is invalid" : std::string(" is missing")) +
               ": expected a fixed Binance interval, e.g. 5m"});
    }
    io.every_ms = iv->fixed_ms();
    struct Knob {
      const char* name;
      int64_t lo, hi;
      int64_t* target;
    };
    int64_t rolling = io.rolling, poll = io.poll.count();
    const Knob knobs[] = {{"GNN_WINDOW_BARS", 50, 100'000, &io.window_bars},
                          {"GNN_REFRESH_BARS", 1, 10'000'000, &io.refresh_bars},
                          {"GNN_LIVE_WINDOW", 1, 1'000'000, &rolling},
                          {"GNN_POLL_MS", 10, 600'000, &poll}};
    for (const auto& k : knobs) {
      auto v = config::int_var(env, k.name, *k.target, k.lo, k.hi, "");
      if (auto* e = std::get_if<config::ConfigError>(&v)) config::exit_with_config_error(*e);
      *k.target = std::get<int64_t>(v);
    }
    io.rolling = static_cast<int>(rolling);
    io.poll = std::chrono::milliseconds(poll);
  }
  auto store = store::open_store_or_exit(env);
  if (cfg.type == "realtime_gnn_infer") {
    return worker::run_worker(
        cfg, [&](worker::WorkerContext& ctx) { return run_realtime_infer(ctx, *store, io, o); });
  }
  return worker::run_worker(cfg, [&](worker::WorkerContext& ctx) -> Status {
    auto& lg = log::get();
    auto g = load_graph(*store, *graph);
    if (!g) return g.error();
    if (!g->complete) lg.warn("graph {} is not marked complete: training on what is there", *graph);
    lg.info("graph {}: {} nodes, {} edges, {} features, symbols {}", *graph, g->nodes,
            g->src.size(), g->features, fmt::join(g->symbols, ","));
    ctx.progress.expected.store(o.epochs);
    auto report = train_and_evaluate(*g, o, [&](int epoch, double tl, double vl, double va) {
      ctx.progress.done.store(epoch);
      ctx.set_metric("epoch", epoch);
      ctx.set_metric("train_loss", tl);
      ctx.set_metric("val_loss", vl);
      ctx.set_metric("val_accuracy", va);
    });
    if (!report) return report.error();
    ctx.progress.done.store(o.epochs);
    if (auto st = write_model(*store, *output, *graph, *g, o, *report, &ctx.progress); !st) {
      return st;
    }
    if (const auto dir = env("MODEL_DIR")) {
      std::filesystem::create_directories(*dir);
      std::ofstream(*dir + "/" + *output + ".pt", std::ios::binary)
          .write(report->weights.data(), static_cast<std::streamsize>(report->weights.size()));
    }
    ctx.set_metric("test_accuracy", report->test.accuracy);
    ctx.set_metric("best_baseline_accuracy", report->test.accuracy - report->delta);
    ctx.set_metric("ci95_low", report->ci95.low);
    ctx.set_metric("ci95_high", report->ci95.high);
    ctx.set_metric("test_nodes", static_cast<double>(report->n_test));
    lg.info("{}", verdict(*report));
    return ok_status();
  });
}

}  // namespace sf::gnn
