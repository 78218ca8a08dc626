// The graph-builder's documents -> GraphData (torch-free).
#include <boost/json.hpp>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "sf/gnn/trainer.h"

namespace sf::gnn {
namespace {

namespace json = boost::json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double number_or_nan(const json::value* v) {
  return v && v->is_number() ? v->to_number<double>() : kNaN;
}

class Builder {
 public:
  Status add(const std::string& text) {
    json::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_object()) return make_error("a graph document is not a JSON object");
    const auto& o = v.as_object();
    const auto* kind = o.if_contains("kind");
    if (!kind || !kind->is_string()) return ok_status();
    if (kind->as_string() == "meta") return meta(o);
    if (kind->as_string() == "node") return node(o);
    return ok_status();  // metrics, predictions, ...
  }

  Result<GraphData> finish() {
    if (!has_meta_)
      return make_error("the graph has no meta document: is it a graph-builder graph?");
    if (g_.nodes == 0) return make_error("the graph has no nodes");
    // Lane positions, in time order per symbol.
    std::vector<int64_t> order(g_.nodes);
    for (int64_t i = 0; i < g_.nodes; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return g_.open_time[a] < g_.open_time[b]; });
    std::vector<int> seen(g_.symbols.size(), 0);
    g_.lane_index.assign(g_.nodes, 0);
    for (int64_t i : order) g_.lane_index[i] = seen[g_.symbol_of[i]]++;
    // Edges, now that every node is known.
    for (const auto& e : pending_) {
      auto it = index_.find(e.source);
      if (it == index_.end()) continue;  // outside the graph (e.g. before its time range)
      g_.src.push_back(it->second);
      g_.dst.push_back(e.target);
      g_.edge_attr.push_back(e.cross ? 1.0 : 0.0);
      g_.edge_attr.push_back(std::log1p(e.lag));
      g_.edge_attr.push_back(e.corr);
    }
    return std::move(g_);
  }

 private:
  struct Edge {
    std::string source;
    int64_t target;
    bool cross;
    double lag, corr;
  };

  Status meta(const json::object& o) {
    has_meta_ = true;
    if (auto* v = o.if_contains("interval"); v && v->is_string()) g_.interval = v->as_string();
    if (auto* v = o.if_contains("node_features"); v && v->is_array()) {
      for (const auto& f : v->as_array()) g_.feature_names.emplace_back(f.as_string());
    }
    if (auto* v = o.if_contains("horizons"); v && v->is_array()) {
      for (const auto& h : v->as_array())
        g_.horizons.push_back(static_cast<int>(h.to_number<double>()));
    }
    if (auto* v = o.if_contains("warmup_bars"); v && v->is_number()) {
      g_.warmup_bars = static_cast<int>(v->to_number<double>());
    }
    if (auto* v = o.if_contains("complete"); v && v->is_bool()) g_.complete = v->as_bool();
    g_.features = static_cast<int64_t>(g_.feature_names.size());
    // Nodes read before the meta are checked against it at the end.
    for (const auto& x : early_x_) {
      if (static_cast<int64_t>(x) != g_.features) {
        return make_error("a node has " + std::to_string(x) + " features, the meta names " +
                          std::to_string(g_.features));
      }
    }
    return ok_status();
  }

  Status node(const json::object& o) {
    const auto* key = o.if_contains("_key");
    const auto* x = o.if_contains("x");
    const auto* sym = o.if_contains("symbol");
    const auto* t = o.if_contains("open_time");
    if (!key || !key->is_string() || !x || !x->is_array() || !sym || !sym->is_string() || !t ||
        !t->is_int64()) {
      return make_error("a node lacks _key, symbol, open_time or x");
    }
    const int64_t i = g_.nodes++;
    const std::string k(key->as_string());
    index_[k] = i;
    g_.keys.push_back(k);
    const auto& xs = x->as_array();
    if (has_meta_ && static_cast<int64_t>(xs.size()) != g_.features) {
      return make_error("node " + k + " has " + std::to_string(xs.size()) +
                        " features, the meta names " + std::to_string(g_.features));
    }
    if (!has_meta_) early_x_.push_back(xs.size());
    for (const auto& f : xs) g_.x.push_back(f.is_number() ? f.to_number<double>() : 0.0);
    g_.open_time.push_back(t->as_int64());
    const std::string s(sym->as_string());
    auto si = symbol_index_.find(s);
    if (si == symbol_index_.end()) {
      si = symbol_index_.emplace(s, static_cast<int>(g_.symbols.size())).first;
      g_.symbols.push_back(s);
    }
    g_.symbol_of.push_back(si->second);
    const auto* gap = o.if_contains("gap");
    g_.gap.push_back(gap && gap->is_bool() && gap->as_bool());
    g_.close.push_back(number_or_nan(o.if_contains("c")));
    if (const auto* y = o.if_contains("y"); y && y->is_object()) {
      for (const auto& [name, v] : y->as_object()) {
        if (name.size() < 2 || name[0] != 'r') continue;
        const int h = std::atoi(std::string(name.substr(1)).c_str());
        auto& col = g_.y[h];
        col.resize(i, kNaN);
        col.push_back(number_or_nan(&v));
      }
    }
    if (const auto* in = o.if_contains("in"); in && in->is_array()) {
      for (const auto& e : in->as_array()) {
        if (!e.is_array() || e.as_array().size() < 4 || !e.as_array()[0].is_string()) continue;
        const auto& a = e.as_array();
        pending_.push_back({std::string(a[0].as_string()), i, a[1] == "c", number_or_nan(&a[2]),
                            a[3].is_number() ? a[3].to_number<double>() : 0});
      }
    }
    return ok_status();
  }

  GraphData g_;
  bool has_meta_ = false;
  std::vector<size_t> early_x_;
  std::unordered_map<std::string, int64_t> index_;
  std::unordered_map<std::string, int> symbol_index_;
  std::vector<Edge> pending_;
};

}  // namespace

Result<GraphData> graph_from_documents(const std::vector<std::string>& docs) {
  Builder b;
  for (const auto& d : docs) {
    if (auto st = b.add(d); !st) return st.error();
  }
  auto g = b.finish();
  if (!g) return g;
  for (auto& [h, col] : g->y) col.resize(g->nodes, kNaN);
  return g;
}

Result<GraphData> load_graph(store::Store& store, const std::string& collection) {
  auto n = store.count(collection);
  if (!n) return make_error("cannot read " + collection + ": " + n.error().message);
  if (*n == 0) {
    return make_error("graph collection " + collection +
                      " is missing or empty: run its graph-builder first (GRAPH_COLLECTION)");
  }
  Builder b;
  auto meta = store.get(collection, "meta");
  if (!meta) return make_error("cannot read " + collection + ": " + meta.error().message);
  if (!*meta) return make_error("graph collection " + collection + " has no meta document");
  if (auto st = b.add(**meta); !st) return st.error();
  // Nodes by time, in pages; a millisecond's documents stay in one page (node times are bar
  // open times: a few symbols share one).
  int64_t from = 1;
  const int64_t page = 20'000;
  for (;;) {
    auto docs = store.range_by_time(collection, from, std::numeric_limits<int64_t>::max(), page);
    if (!docs) return make_error("cannot read " + collection + ": " + docs.error().message);
    int64_t last = from;
    size_t take = docs->size();
    if (static_cast<int64_t>(docs->size()) == page) {
      // Drop the last millisecond (it may continue in the next page) unless it is all there is.
      auto t_of = [](const std::string& d) {
        auto v = json::parse(d);
        auto* t = v.as_object().if_contains("open_time");
        return t && t->is_int64() ? t->as_int64() : int64_t{0};
      };
      last = t_of(docs->back());
      while (take > 0 && t_of((*docs)[take - 1]) == last) --take;
      if (take == 0)
        return make_error("more than " + std::to_string(page) + " documents at one time");
    }
    for (size_t i = 0; i < take; ++i) {
      if (auto st = b.add((*docs)[i]); !st) return st.error();
    }
    if (static_cast<int64_t>(docs->size()) < page) break;
    from = last;
  }
  auto g = b.finish();
  if (!g) return g;
  for (auto& [h, col] : g->y) col.resize(g->nodes, kNaN);
  return g;
}

}  // namespace sf::gnn
