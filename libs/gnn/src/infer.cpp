// realtime_gnn_infer: a prediction for the newest bar of each symbol at every inference boundary,
// written into the graph collection, scored once its outcome is stored, with rolling live accuracy
// beside persistence and majority (torch-free; the network runs inside Predictor).
#include <fmt/format.h>

#include <boost/json.hpp>
#include <cmath>
#include <deque>
#include <limits>
#include <map>

#include "sf/gnn/infer.h"
#include "sf/gnn/predictor.h"
#include "sf/log/log.h"

namespace sf::gnn {
namespace {

namespace json = boost::json;

struct Pending {
  std::string key, node_key, symbol;
  int64_t open_time = 0;
  json::object doc;
  int pred = 0, persistence = 0;
};

struct Live {
  std::deque<std::array<bool, 3>> last;  // model, persistence, majority right (rolling window)
  int64_t scored = 0;
};

}  // namespace

Status run_realtime_infer(worker::WorkerContext& ctx, store::Store& store, const InferOptions& io,
                          const TrainOptions& to) {
  auto& lg = log::get();
  std::unique_ptr<Predictor> model;
  int64_t trained_at_labelled = 0;
  std::map<std::string, int64_t> last_predicted;
  std::map<std::string, Pending> pending;
  std::map<std::string, Live> live;
  int64_t written = 0, predictions = 0;
  bool waiting_logged = false;
  int64_t known_newest = -1;
  ctx.progress.written.store(0);

  auto put = [&](std::vector<store::Document> docs) -> Status {
    if (docs.empty()) return ok_status();
    auto w = store.upsert(io.graph, docs);
    if (!w) return w.error();
    written += w->written;
    ctx.progress.written.store(written);
    return ok_status();
  };

  while (!ctx.stop.stop_requested()) {
    auto meta = store.get(io.graph, "meta");
    if (!meta) return make_error("cannot read " + io.graph + ": " + meta.error().message);
    if (!*meta) {
      ctx.stop.wait_for(io.poll);
      continue;
    }
    const auto mo = json::parse(**meta).as_object();
    const bool complete = mo.contains("complete") && mo.at("complete").as_bool();
    const auto bar = records::Interval::parse(std::string(mo.at("interval").as_string()));
    if (!bar || bar->fixed_ms() == 0) return make_error("the graph's interval is not a fixed one");
    // The window of bars before the newest node. The newest is found by a query once; then each
    // round reads on from the last round's newest (a find() counts the whole collection).
    if (known_newest < 0) {
      store::Query newest;
      newest.equals["kind"] = "node";
      newest.limit = 1;
      auto page = store.find(io.graph, newest);
      if (!page) return make_error("cannot read " + io.graph + ": " + page.error().message);
      if (page->documents.empty()) {
        if (complete) return make_error("graph " + io.graph + " is complete and has no nodes");
        ctx.stop.wait_for(io.poll);
        continue;
      }
      known_newest = json::parse(page->documents.front()).at("open_time").as_int64();
    }
    auto docs = store.range_by_time(io.graph, known_newest - io.window_bars * bar->fixed_ms(),
                                    std::numeric_limits<int64_t>::max(), 10'000'000);
    if (!docs) return make_error("cannot read " + io.graph + ": " + docs.error().message);
    docs->push_back(**meta);
    auto g = graph_from_documents(*docs);
    if (!g) return g.error();
    for (int64_t i = 0; i < g->nodes; ++i) known_newest = std::max(known_newest, g->open_time[i]);

    // A model: the one named, else the registry's newest for these symbols and features, else
    // one trained here once enough labelled bars exist (and again as labels mature).
    if (!model && !io.model_input.empty()) {
      auto p = Predictor::from_store(store, io.model_input);
      if (!p) return make_error("MODEL_INPUT=" + io.model_input + ": " + p.error().message);
      model = std::move(p).value();
    }
    if (!model) {
      store::Query q;
      q.equals["interval"] = g->interval;
      q.limit = 1000;
      if (auto reg = store.find("gnn_models", q)) {
        int64_t best_t = -1;
        std::string best;
        for (const auto& d : reg->documents) {
          auto r = json::parse(d).as_object();
          std::vector<std::string> syms;
          for (const auto& s : r.at("symbols").as_array()) syms.emplace_back(s.as_string());
          if (syms != g->symbols || r.at("horizon_bars").to_number<int64_t>() != to.horizon)
            continue;
          if (r.at("test_to_ms").as_int64() > best_t) {
            best_t = r.at("test_to_ms").as_int64();
            best = std::string(r.at("model_collection").as_string());
          }
        }
        if (!best.empty()) {
          if (auto p = Predictor::from_store(store, best);
              p && (*p)->feature_names() == g->feature_names) {
            model = std::move(p).value();
          }
        }
      }
    }
    int64_t labelled = 0;
    if (auto y = g->y.find(to.horizon); y != g->y.end()) {
      for (int64_t i = 0; i < g->nodes; ++i) labelled += !g->gap[i] && std::isfinite(y->second[i]);
    }
    const bool online =
        io.model_input.empty() && (!model || model->source().rfind("trained", 0) == 0);
    if (online && labelled >= to.min_nodes &&
        (!model || labelled - trained_at_labelled >= io.refresh_bars)) {
      auto full = load_graph(store, io.graph);
      if (!full) return full.error();
      auto r = train_and_evaluate(*full, to);
      if (r) {
        auto p = Predictor::from_training(*r, to, *full);
        if (!p) return p.error();
        model = std::move(p).value();
        trained_at_labelled = labelled;
        lg.info("trained online: {} (test accuracy {:.3f}, best baseline {:.3f})", model->source(),
                r->test.accuracy, r->test.accuracy - r->delta);
      } else {
        lg.info("online training not possible yet: {}", r.error().message);
        trained_at_labelled = labelled;
      }
    }
    if (!model) {
      if (!waiting_logged) {
        lg.info("no model yet for {} ({} labelled bars of {} needed to train one)", io.graph,
                labelled, to.min_nodes);
        waiting_logged = true;
      }
      if (complete && labelled < to.min_nodes) {
        return make_error("graph " + io.graph + " is complete with " + std::to_string(labelled) +
                          " labelled bars: no model names it (MODEL_INPUT, registry) and " +
                          std::to_string(to.min_nodes) +
                          " are needed to train one (GNN_MIN_NODES)");
      }
      ctx.stop.wait_for(io.poll);
      continue;
    }

    // Predict the newest bar of each symbol that closes on an inference boundary.
    std::map<int, int64_t> newest_of;
    for (int64_t i = 0; i < g->nodes; ++i) {
      if (g->gap[i]) continue;
      auto [n, fresh] = newest_of.emplace(g->symbol_of[i], i);
      if (!fresh && g->open_time[i] > g->open_time[n->second]) n->second = i;
    }
    std::vector<int64_t> todo;
    for (auto& [s, i] : newest_of) {
      const int64_t t = g->open_time[i], close = bar->close_time(t);
      if ((close + 1) % io.every_ms != 0) continue;
      if (last_predicted[g->symbols[s]] >= t) continue;
      todo.push_back(i);
    }
    std::vector<store::Document> out;
    if (!todo.empty()) {
      auto preds = model->predict(*g, todo);
      if (!preds) return preds.error();
      int ret_feature = -1;
      for (size_t k = 0; k < g->feature_names.size(); ++k) {
        if (g->feature_names[k] == "ret_" + std::to_string(to.horizon)) ret_feature = int(k);
        if (ret_feature < 0 && g->feature_names[k] == "ret_1") ret_feature = int(k);
      }
      for (size_t k = 0; k < todo.size(); ++k) {
        const int64_t i = todo[k];
        const std::string sym = g->symbols[g->symbol_of[i]];
        Pending p;
        p.symbol = sym;
        p.open_time = g->open_time[i];
        p.node_key = g->keys[i];
        p.key = fmt::format("p:{}:{}:{}:h{}", sym, g->interval, p.open_time, to.horizon);
        p.pred = (*preds)[k].pred;
        p.persistence = ret_feature < 0 ? model->majority_class()
                                        : label_of(g->x[i * g->features + ret_feature], to);
        json::array probs, top;
        for (double v : (*preds)[k].p) probs.push_back(v);
        for (const auto& [src, w] : (*preds)[k].top_attention)
          top.push_back(json::array{json::value(g->keys[src]), w});
        p.doc = {{"_key", p.key},
                 {"kind", "prediction"},
                 {"symbol", sym},
                 {"interval", g->interval},
                 {"open_time", p.open_time},
                 {"horizon_bars", to.horizon},
                 {"classes", model->classes()},
                 {"p", probs},
                 {"pred", p.pred},
                 {"persistence", p.persistence},
                 {"majority", model->majority_class()},
                 {"outcome", nullptr},
                 {"correct", nullptr},
                 {"top_attention", top},
                 {"model", model->source()},
                 {"split", "live"}};
        out.push_back({p.key, json::serialize(p.doc), p.open_time});
        last_predicted[sym] = p.open_time;
        pending[p.key] = std::move(p);
        ++predictions;
      }
    }
    // Score what has its outcome now.
    std::map<std::string, int64_t> index;
    for (int64_t i = 0; i < g->nodes; ++i) index[g->keys[i]] = i;
    const auto& y = g->y[to.horizon];
    for (auto it = pending.begin(); it != pending.end();) {
      auto& p = it->second;
      auto at = index.find(p.node_key);
      const bool known = at != index.end() && at->second < static_cast<int64_t>(y.size()) &&
                         std::isfinite(y[at->second]);
      if (!known) {
        // Out of the window, or a graph that is complete without this outcome: it never comes.
        if (at == index.end() || complete) {
          it = pending.erase(it);
        } else {
          ++it;
        }
        continue;
      }
      const int outcome = label_of(y[at->second], to);
      p.doc["outcome"] = outcome;
      p.doc["correct"] = p.pred == outcome;
      out.push_back({p.key, json::serialize(p.doc), p.open_time});
      auto& l = live[p.symbol];
      l.last.push_back(
          {p.pred == outcome, p.persistence == outcome, model->majority_class() == outcome});
      if (l.last.size() > static_cast<size_t>(io.rolling)) l.last.pop_front();
      ++l.scored;
      double acc[3] = {0, 0, 0};
      for (const auto& r : l.last) {
        for (int k = 0; k < 3; ++k) acc[k] += r[k];
      }
      for (double& a : acc) a /= static_cast<double>(l.last.size());
      const std::string mk = fmt::format("im:{}:{}:h{}", p.symbol, g->interval, to.horizon);
      json::object m{{"_key", mk},
                     {"kind", "inference_metrics"},
                     {"symbol", p.symbol},
                     {"interval", g->interval},
                     {"open_time", p.open_time},
                     {"horizon_bars", to.horizon},
                     {"scored", l.scored},
                     {"window", static_cast<int64_t>(l.last.size())},
                     {"accuracy", acc[0]},
                     {"persistence_accuracy", acc[1]},
                     {"majority_accuracy", acc[2]},
                     {"model", model->source()}};
      out.push_back({mk, json::serialize(m), p.open_time});
      ctx.set_metric("live_accuracy", acc[0]);
      ctx.set_metric("persistence_accuracy", acc[1]);
      ctx.set_metric("majority_accuracy", acc[2]);
      ctx.set_metric("scored", static_cast<double>(l.scored));
      it = pending.erase(it);
    }
    if (auto st = put(std::move(out)); !st) return st;
    ctx.set_metric("predictions", static_cast<double>(predictions));
    if (complete && pending.empty()) {
      lg.info("graph {} is complete and every prediction is scored: {} predictions", io.graph,
              predictions);
      return ok_status();
    }
    ctx.stop.wait_for(io.poll);
  }
  return ok_status();
}

}  // namespace sf::gnn
