// One validator per target: what a request of that target must say, and the job it makes.
#include <boost/json.hpp>

#include "plan_parts.h"
#include "sf/records/interval.h"
#include "sf/store/store.h"

namespace sf::manager::planning {

namespace json = boost::json;

namespace {

// A collection a request may name: a valid one, and not the control plane's own (queue_state)
// nor one of the sf_ names kept for it (review #24: a workflow must not overwrite the state).
bool user_collection(const std::string& name) {
  return store::valid_collection_name(name) && name != "queue_state" && name.rfind("sf_", 0) != 0;
}
constexpr const char* kCollectionRule =
    "a letter, then letters, digits, '_' or '-' (at most 64); not queue_state nor sf_...";

// The data kinds a loader TYPE may name: the normalised type, its interval and its kind.
struct LoaderType {
  std::string type, interval, kind;  // kind: api_candles, api_trades, ws_candles, ws_trades
};

std::optional<LoaderType> parse_loader_type(std::string type, const std::string& interval) {
  if (type == "ws_trade") type = "ws_trades";
  if (type == "api_trades" || type == "ws_trades") return LoaderType{type, "", type};
  for (const char* prefix : {"api_candles", "ws_candles"}) {
    const std::string p(prefix);
    if (type == p) {
      if (!records::Interval::parse(interval)) return std::nullopt;
      return LoaderType{p + "_" + interval, interval, p};
    }
    if (type.rfind(p + "_", 0) == 0) {
      const std::string iv = type.substr(p.size() + 1);
      if (!records::Interval::parse(iv)) return std::nullopt;
      return LoaderType{type, iv, p};
    }
  }
  return std::nullopt;
}

}  // namespace

const std::string kLoaderTypes =
    "one of api_candles_<interval>, api_trades, ws_candles_<interval>, ws_trades (interval: 1s, "
    "1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d, 3d, 1w, 1M)";

std::optional<std::string> Fields::string(const json::object& obj, const std::string& field,
                                          const std::string& path, bool required,
                                          const std::string& expected) {
  const auto* x = obj.if_contains(field);
  if (!x || x->is_null()) {
    if (required) fail(path, "missing", expected);
    return std::nullopt;
  }
  if (!x->is_string()) {
    fail(path, "not a string", expected);
    return std::nullopt;
  }
  return std::string(x->as_string());
}

bool data_job(Fields& f, const Request& r, const Range& range, JobPlan& job) {
  const std::string& at = r.at;
  auto lt = parse_loader_type(r.type, r.interval.value_or(""));
  if (!lt) {
    f.fail(at + "type",
           "'" + r.type + "' is not a data type" +
               (r.interval ? " (with interval '" + *r.interval + "')" : ""),
           kLoaderTypes);
    return false;
  }
  if (r.interval && !lt->interval.empty() && *r.interval != lt->interval) {
    f.fail(at + "interval", "'" + *r.interval + "' disagrees with type '" + r.type + "'",
           "the interval the type names (" + lt->interval + "), or no interval field");
    return false;
  }
  if (job.target == "loader-ws-trades" && lt->kind != "ws_trades") {
    f.fail(at + "type", "loader-ws-trades loads ws_trades only", "ws_trades");
    return false;
  }
  if (job.target == "loader-ws-candles" && lt->kind != "ws_candles") {
    f.fail(at + "type", "loader-ws-candles loads ws_candles_<interval> only",
           "ws_candles_<interval>, e.g. ws_candles_1m");
    return false;
  }
  job.type = lt->type;
  job.interval = lt->interval;
  job.realtime = lt->kind.rfind("ws_", 0) == 0;
  if (!job.realtime && !range.range) {
    if (!range.text) f.fail("time_range", "missing", "YYYY-MM-DD:YYYY-MM-DD for " + job.type);
    return false;
  }
  if (!job.realtime && range.range->start_ms > range.now_ms) {
    f.fail("time_range", "'" + *range.text + "' starts in the future",
           "a range whose first day has begun (UTC)");
    return false;
  }
  return true;
}

bool graph_builder_job(Fields& f, const Request& r, JobPlan& job) {
  const std::string& at = r.at;
  if (r.type != "gnn_graph" && r.type != "realtime_graph") {
    f.fail(at + "type", "'" + r.type + "' is not a graph-builder type",
           "gnn_graph or realtime_graph");
    return false;
  }
  job.type = r.type;
  job.realtime = r.type == "realtime_graph";
  const auto* inputs = r.obj.if_contains("collection_inputs");
  if (!inputs || !inputs->is_array() || inputs->as_array().empty()) {
    f.fail(at + "collection_inputs", inputs ? "must be a non-empty array of names" : "missing",
           "[\"btc_candles_5m_2024_06\", ...]");
    return false;
  }
  bool bad = false;
  for (size_t i = 0; i < inputs->as_array().size(); ++i) {
    const auto& x = inputs->as_array()[i];
    if (!x.is_string() || !user_collection(std::string(x.as_string()))) {
      f.fail(at + "collection_inputs[" + std::to_string(i) + "]", "not a valid collection name",
             kCollectionRule);
      bad = true;
    } else {
      job.collection_inputs.emplace_back(x.as_string());
    }
  }
  auto out_c = f.string(r.obj, "collection_output", at + "collection_output", true,
                        "the graph's collection, e.g. btc_graph_2024_06");
  if (out_c && !user_collection(*out_c)) {
    f.fail(at + "collection_output", "'" + *out_c + "' is not a valid collection name",
           kCollectionRule);
    bad = true;
  }
  if (bad || !out_c) return false;
  job.collection = *out_c;
  job.completes = {*out_c};
  if (!job.realtime) job.waits_for = job.collection_inputs;
  return true;
}

bool trainer_job(Fields& f, const Request& r, JobPlan& job) {
  const std::string& at = r.at;
  if (r.type != "gnn_train" && r.type != "realtime_gnn_infer") {
    f.fail(at + "type", "'" + r.type + "' is not a gnn-trainer type",
           "gnn_train or realtime_gnn_infer");
    return false;
  }
  job.type = r.type;
  job.realtime = r.type == "realtime_gnn_infer";
  auto graph = f.string(r.obj, "graph_collection", at + "graph_collection", true,
                        "the graph collection to read, e.g. btc_graph_2024_06");
  if (graph && !user_collection(*graph)) {
    f.fail(at + "graph_collection", "not a valid collection name",
           std::string(kCollectionRule) + ", e.g. btc_graph_2024_06");
    return false;
  }
  if (!graph) return false;
  job.graph_collection = *graph;
  if (!job.realtime) {
    auto model = f.string(r.obj, "model_output", at + "model_output", true,
                          "where to store the model, e.g. gnn_model_btc_2024_06");
    if (!model) return false;
    if (!user_collection(*model)) {
      f.fail(at + "model_output", "not a valid name",
             std::string(kCollectionRule) + ", e.g. gnn_model_btc_2024_06");
      return false;
    }
    job.model_output = *model;
    job.waits_for = {*graph};
    job.completes = {*model};
    return true;
  }
  auto every = f.string(r.obj, "inference_interval", at + "inference_interval", true,
                        "how often to infer, an interval like 5m");
  if (!every) return false;
  if (!records::Interval::parse(*every)) {
    f.fail(at + "inference_interval", "'" + *every + "' is not an interval", "e.g. 1m, 5m, 1h");
    return false;
  }
  job.inference_interval = *every;
  return true;
}

bool visualizer_job(Fields& f, const Request& r, JobPlan& job) {
  const std::string& at = r.at;
  job.type = r.type;
  job.realtime = true;
  auto source = f.string(r.obj, "source", at + "source", false, "a collection or topic");
  if (r.type == "graph_metrics_stream" && !source) {
    f.fail(at + "source", "missing", "the graph collection to show, e.g. btc_graph_rt_2024_08_01");
    return false;
  }
  if (source) job.source = *source;
  if (!dns1123_label(lower_dns(r.type))) {
    f.fail(at + "type", "'" + r.type + "' cannot name a job", "letters, digits and '_'");
    return false;
  }
  return true;
}

}  // namespace sf::manager::planning
