#include "sf/manager/plan.h"

#include <boost/json.hpp>
#include <functional>
#include <random>
#include <set>

#include "sf/config/worker_config.h"
#include "sf/records/interval.h"
#include "sf/store/store.h"

namespace sf::manager {

namespace json = boost::json;

const std::vector<std::string> kTargets = {
    "loader-producer", "loader-ws-candles", "loader-ws-trades", "arango-connector",
    "graph-builder",   "gnn-trainer",       "visualizer"};

constexpr size_t kMaxRequests = 256;

std::string random_hex6() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[8];
  std::snprintf(buf, sizeof buf, "%06x", static_cast<unsigned>(rng() & 0xffffff));
  return buf;
}

std::string base_asset(const std::string& symbol) {
  static const char* quotes[] = {"FDUSD", "USDT", "USDC", "BUSD", "TUSD", "EUR",
                                 "TRY",   "BRL",  "GBP",  "BTC",  "ETH",  "BNB"};
  std::string s = symbol;
  for (const char* q : quotes) {
    const std::string quote(q);
    if (s.size() > quote.size() && s.compare(s.size() - quote.size(), quote.size(), quote) == 0) {
      s = s.substr(0, s.size() - quote.size());
      break;
    }
  }
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

namespace {

// A collection a request may name: a valid one, and not the control plane's own (queue_state)
// nor one of the sf_ names kept for it (review #24: a workflow must not overwrite the state).
bool user_collection(const std::string& name) {
  return store::valid_collection_name(name) && name != "queue_state" && name.rfind("sf_", 0) != 0;
}
constexpr const char* kCollectionRule =
    "a letter, then letters, digits, '_' or '-' (at most 64); not queue_state nor sf_...";

std::string ymd(int64_t ms, const char* sep, bool day) {
  const std::string iso = records::format_utc(ms);  // 2024-08-09T...
  std::string out = iso.substr(0, 4) + sep + iso.substr(5, 2);
  if (day) out += sep + iso.substr(8, 2);
  return out;
}

// The data kinds a loader TYPE may name; returns the normalised type and its interval, or an
// error text.
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

const std::string kLoaderTypes =
    "one of api_candles_<interval>, api_trades, ws_candles_<interval>, ws_trades (interval: 1s, "
    "1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d, 3d, 1w, 1M)";

std::string lower_dns(std::string s) {
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) c = '-';
  }
  while (!s.empty() && s.back() == '-') s.pop_back();
  while (!s.empty() && s.front() == '-') s.erase(s.begin());
  return s;
}

}  // namespace

bool dns1123_label(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '-'))
      return false;
  }
  return s.front() != '-' && s.back() != '-';
}

std::string collection_name(const std::string& symbol, const std::string& type,
                            const std::optional<records::TimeRange>& range, int64_t now_ms) {
  std::string kind = type;  // api_candles_5m -> candles_5m; ws_trades -> ws_trades
  if (kind.rfind("api_", 0) == 0) kind = kind.substr(4);
  std::string when;
  if (!range) {
    when = ymd(now_ms, "_", true);
  } else {
    const std::string a = ymd(range->start_ms, "_", true), b = ymd(range->end_ms, "_", true);
    if (a == b) {
      when = a;
    } else if (a.substr(0, 7) == b.substr(0, 7)) {
      when = a.substr(0, 7);
    } else {
      when = a.substr(0, 7) + "_" + b.substr(0, 7);
    }
  }
  std::string name = base_asset(symbol) + "_" + kind + "_" + when;
  for (char& c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) c = '_';
  }
  // "1M" (a month) stays distinct from "1m" (a minute).
  if (name.size() > 64) name.resize(64);
  return name;
}

std::string job_name(const std::string& queue_id, const std::string& target,
                     const std::string& type) {
  // wf-historical-20240601-a1b2c3 + loader-producer + api_candles_5m ->
  // sf-a1b2c3-loader-producer-api-candles-5m (the queue's 6 hex keep it unique).
  const std::string hex = queue_id.size() >= 6 ? queue_id.substr(queue_id.size() - 6) : queue_id;
  std::string t = type;
  // Kubernetes names are lower case: a month interval "1M" becomes "1mo".
  if (t.size() >= 2 && t.compare(t.size() - 2, 2, "1M") == 0) t = t.substr(0, t.size() - 1) + "mo";
  std::string name = lower_dns("sf-" + hex + "-" + target + "-" + t);
  if (name.size() > 63) {
    const std::string h = std::to_string(std::hash<std::string>{}(name) % 100000);
    name = name.substr(0, 63 - h.size() - 1);
    while (!name.empty() && name.back() == '-') name.pop_back();
    name += "-" + h;
  }
  return name;
}

PlanResult plan_request(const std::string& body, int64_t now_ms,
                        const std::function<std::string()>& random_hex) {
  PlanResult out;
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) {
    out.parse_error = "the body is not valid JSON (" + ec.message() +
                      "). Send an object like {\"symbol\":\"BTCUSDT\",\"type\":\"api_candles_1m\","
                      "\"time_range\":\"2024-06-01:2024-06-02\"}";
    return out;
  }
  if (!v.is_object()) {
    out.parse_error = "the body must be a JSON object (QueueCreate or a workflow with requests)";
    return out;
  }
  const auto& o = v.as_object();
  auto& errors = out.errors;
  auto fail = [&](std::string field, std::string problem, std::string expected) {
    errors.push_back({std::move(field), std::move(problem), std::move(expected)});
  };
  auto get_string = [&](const json::object& obj, const std::string& field, const std::string& path,
                        bool required, const std::string& expected) -> std::optional<std::string> {
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
  };

  Plan plan;
  auto symbol = get_string(o, "symbol", "symbol", true,
                           "a Binance symbol of 2-20 characters A-Z 0-9, e.g. BTCUSDT");
  if (symbol && !config::valid_symbol(*symbol)) {
    fail("symbol", "'" + *symbol + "' is not a valid symbol",
         "2-20 characters A-Z 0-9 (upper case), e.g. BTCUSDT");
    symbol.reset();
  }
  auto range_text = get_string(o, "time_range", "time_range", false,
                               "YYYY-MM-DD:YYYY-MM-DD (UTC, both days inclusive)");
  std::optional<records::TimeRange> range;
  if (range_text) {
    auto r = records::TimeRange::parse(*range_text);
    if (!r) {
      fail("time_range", "'" + *range_text + "': " + r.error().message,
           "YYYY-MM-DD:YYYY-MM-DD, earlier day first, e.g. 2024-06-01:2024-06-30");
    } else {
      range = *r;
    }
  }

  // The requests, whichever form.
  struct Req {
    std::string path;
    const json::object* obj;
    std::string target;
  };
  std::vector<Req> reqs;
  json::object synthetic_loader, synthetic_connector;
  const auto* requests = o.if_contains("requests");
  if (requests) {
    plan.form = "workflow";
    if (!requests->is_array() || requests->as_array().empty()) {
      fail("requests", "must be a non-empty array", "[{\"target\":\"loader-producer\",...}, ...]");
    } else if (requests->as_array().size() > kMaxRequests) {
      // One error, not one per entry: a request cannot make its answer (or its jobs) unbounded.
      fail("requests", "has " + std::to_string(requests->as_array().size()) + " entries",
           "at most " + std::to_string(kMaxRequests) + " jobs in one workflow");
    } else {
      const auto& arr = requests->as_array();
      for (size_t i = 0; i < arr.size(); ++i) {
        const std::string path = "requests[" + std::to_string(i) + "]";
        if (!arr[i].is_object()) {
          fail(path, "not an object", "{\"target\":...,\"type\":...}");
          continue;
        }
        auto target = get_string(arr[i].as_object(), "target", path + ".target", true,
                                 "one of loader-producer, loader-ws-candles, loader-ws-trades, "
                                 "arango-connector, graph-builder, gnn-trainer, visualizer");
        if (!target) continue;
        if (std::find(kTargets.begin(), kTargets.end(), *target) == kTargets.end()) {
          fail(path + ".target", "unknown target '" + *target + "'",
               "one of loader-producer, loader-ws-candles, loader-ws-trades, arango-connector, "
               "graph-builder, gnn-trainer, visualizer");
          continue;
        }
        reqs.push_back({path, &arr[i].as_object(), *target});
      }
    }
  } else {
    plan.form = "queue";
    auto type = get_string(o, "type", "type", true, kLoaderTypes + ", or api/rest/ws");
    if (type) {
      std::string t = *type;
      std::string interval = "1m";
      if (auto iv = get_string(o, "interval", "interval", false, "a Binance interval, e.g. 5m")) {
        interval = *iv;
      }
      if (t == "api" || t == "rest") t = "api_candles";
      if (t == "ws") t = "ws_candles";
      synthetic_loader = {{"target", "loader-producer"}, {"type", t}};
      if (const auto* iv = o.if_contains("interval")) synthetic_loader["interval"] = *iv;
      if (t == "api_candles" || t == "ws_candles") synthetic_loader["interval"] = interval;
      synthetic_connector = synthetic_loader;
      synthetic_connector["target"] = "arango-connector";
      reqs.push_back({"", &synthetic_loader, "loader-producer"});
      reqs.push_back({"", &synthetic_connector, "arango-connector"});
    }
  }

  const std::string queue_hex = random_hex();
  bool any_api = false, any_live = false;
  std::map<std::string, size_t> loader_of_type;  // normalised type -> job index
  std::set<std::string> job_names;
  for (const auto& r : reqs) {
    const std::string at = r.path.empty() ? "" : r.path + ".";
    JobPlan job;
    job.target = r.target;
    auto type = get_string(*r.obj, "type", at + "type", true, "the job's type");
    if (!type) continue;
    auto interval = get_string(*r.obj, "interval", at + "interval", false, "e.g. 5m");
    const bool loader = r.target.rfind("loader-", 0) == 0;
    if (loader || r.target == "arango-connector") {
      auto lt = parse_loader_type(*type, interval.value_or(""));
      if (!lt) {
        fail(at + "type",
             "'" + *type + "' is not a data type" +
                 (interval ? " (with interval '" + *interval + "')" : ""),
             kLoaderTypes);
        continue;
      }
      if (interval && !lt->interval.empty() && *interval != lt->interval) {
        fail(at + "interval", "'" + *interval + "' disagrees with type '" + *type + "'",
             "the interval the type names (" + lt->interval + "), or no interval field");
        continue;
      }
      if (r.target == "loader-ws-trades" && lt->kind != "ws_trades") {
        fail(at + "type", "loader-ws-trades loads ws_trades only", "ws_trades");
        continue;
      }
      if (r.target == "loader-ws-candles" && lt->kind != "ws_candles") {
        fail(at + "type", "loader-ws-candles loads ws_candles_<interval> only",
             "ws_candles_<interval>, e.g. ws_candles_1m");
        continue;
      }
      job.type = lt->type;
      job.interval = lt->interval;
      job.realtime = lt->kind.rfind("ws_", 0) == 0;
      (job.realtime ? any_live : any_api) = true;
      if (!job.realtime && !range) {
        if (!range_text) fail("time_range", "missing", "YYYY-MM-DD:YYYY-MM-DD for " + job.type);
        continue;
      }
      if (!job.realtime && range && range->start_ms > now_ms) {
        fail("time_range", "'" + *range_text + "' starts in the future",
             "a range whose first day has begun (UTC)");
        continue;
      }
    } else if (r.target == "graph-builder") {
      if (*type != "gnn_graph" && *type != "realtime_graph") {
        fail(at + "type", "'" + *type + "' is not a graph-builder type",
             "gnn_graph or realtime_graph");
        continue;
      }
      job.type = *type;
      job.realtime = *type == "realtime_graph";
      const auto* inputs = r.obj->if_contains("collection_inputs");
      if (!inputs || !inputs->is_array() || inputs->as_array().empty()) {
        fail(at + "collection_inputs", inputs ? "must be a non-empty array of names" : "missing",
             "[\"btc_candles_5m_2024_06\", ...]");
        continue;
      }
      bool bad = false;
      for (size_t i = 0; i < inputs->as_array().size(); ++i) {
        const auto& x = inputs->as_array()[i];
        if (!x.is_string() || !user_collection(std::string(x.as_string()))) {
          fail(at + "collection_inputs[" + std::to_string(i) + "]", "not a valid collection name",
               kCollectionRule);
          bad = true;
        } else {
          job.collection_inputs.emplace_back(x.as_string());
        }
      }
      auto out_c = get_string(*r.obj, "collection_output", at + "collection_output", true,
                              "the graph's collection, e.g. btc_graph_2024_06");
      if (out_c && !user_collection(*out_c)) {
        fail(at + "collection_output", "'" + *out_c + "' is not a valid collection name",
             kCollectionRule);
        bad = true;
      }
      if (bad || !out_c) continue;
      job.collection = *out_c;
      job.completes = {*out_c};
      if (!job.realtime) job.waits_for = job.collection_inputs;
    } else if (r.target == "gnn-trainer") {
      if (*type != "gnn_train" && *type != "realtime_gnn_infer") {
        fail(at + "type", "'" + *type + "' is not a gnn-trainer type",
             "gnn_train or realtime_gnn_infer");
        continue;
      }
      job.type = *type;
      job.realtime = *type == "realtime_gnn_infer";
      auto graph = get_string(*r.obj, "graph_collection", at + "graph_collection", true,
                              "the graph collection to read, e.g. btc_graph_2024_06");
      if (graph && !user_collection(*graph)) {
        fail(at + "graph_collection", "not a valid collection name",
             std::string(kCollectionRule) + ", e.g. btc_graph_2024_06");
        continue;
      }
      if (!graph) continue;
      job.graph_collection = *graph;
      if (!job.realtime) {
        auto model = get_string(*r.obj, "model_output", at + "model_output", true,
                                "where to store the model, e.g. gnn_model_btc_2024_06");
        if (!model) continue;
        if (!user_collection(*model)) {
          fail(at + "model_output", "not a valid name",
               std::string(kCollectionRule) + ", e.g. gnn_model_btc_2024_06");
          continue;
        }
        job.model_output = *model;
        job.waits_for = {*graph};
        job.completes = {*model};
      } else {
        auto every = get_string(*r.obj, "inference_interval", at + "inference_interval", true,
                                "how often to infer, an interval like 5m");
        if (!every) continue;
        if (!records::Interval::parse(*every)) {
          fail(at + "inference_interval", "'" + *every + "' is not an interval", "e.g. 1m, 5m, 1h");
          continue;
        }
        job.inference_interval = *every;
      }
    } else if (r.target == "visualizer") {
      job.type = *type;
      job.realtime = true;
      auto source = get_string(*r.obj, "source", at + "source", false, "a collection or topic");
      if (*type == "graph_metrics_stream" && !source) {
        fail(at + "source", "missing",
             "the graph collection to show, e.g. btc_graph_rt_2024_08_01");
        continue;
      }
      if (source) job.source = *source;
      if (!dns1123_label(lower_dns(*type))) {
        fail(at + "type", "'" + *type + "' cannot name a job", "letters, digits and '_'");
        continue;
      }
    }
    plan.jobs.push_back(std::move(job));
  }
  if (!symbol) return out;  // its error is recorded; names below need it
  plan.symbol = *symbol;
  plan.time_range = range_text.value_or("");
  plan.kind = any_api && any_live ? "mixed" : any_live ? "realtime" : "historical";
  const int64_t day_ms = range ? range->start_ms : now_ms;
  std::string date = records::format_utc(day_ms).substr(0, 10);
  date.erase(std::remove(date.begin(), date.end(), '-'), date.end());
  plan.queue_id = "wf-" + plan.kind + "-" + date + "-" + queue_hex;

  // Names, topics, collections, and connectors wired to their loaders.
  for (size_t i = 0; i < plan.jobs.size(); ++i) {
    auto& job = plan.jobs[i];
    if (job.target.rfind("loader-", 0) == 0) {
      if (loader_of_type.count(job.type)) {
        fail("requests", "two loaders of type " + job.type, "one loader per type in a workflow");
        continue;
      }
      loader_of_type[job.type] = i;
      job.kafka_topic = plan.queue_id + "-" + job.type;
    }
  }
  for (auto& job : plan.jobs) {
    job.producer_id = job.target + "__" + random_hex();
    job.job_name = job_name(plan.queue_id, job.target, job.type);
    if (!job_names.insert(job.job_name).second) {
      fail("requests", "two " + job.target + " jobs of type " + job.type,
           "one job per target and type in a workflow");
    }
    if (job.target == "arango-connector") {
      auto it = loader_of_type.find(job.type);
      if (it == loader_of_type.end()) {
        fail("requests", "arango-connector of type " + job.type + " has no loader",
             "a loader-producer request of type " + job.type + " in the same workflow");
        continue;
      }
      job.kafka_topic = plan.jobs[it->second].kafka_topic;
      job.collection = collection_name(plan.symbol, job.type, range, now_ms);
      if (!job.realtime) job.completes = {job.collection};
    }
  }
  // A job waiting for a collection nobody in the plan completes waits for nothing: the
  // collection is taken to exist already.
  std::set<std::string> produced;
  for (const auto& job : plan.jobs) produced.insert(job.completes.begin(), job.completes.end());
  for (auto& job : plan.jobs) {
    std::vector<std::string> w;
    for (const auto& c : job.waits_for) {
      if (produced.count(c)) w.push_back(c);
    }
    job.waits_for = std::move(w);
  }
  if (errors.empty()) out.plan = std::move(plan);
  return out;
}

}  // namespace sf::manager
