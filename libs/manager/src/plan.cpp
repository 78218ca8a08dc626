// plan_request, the driver: the body read, the form told apart (QueueCreate or a workflow), each
// request handed to its target's validator (plan_targets.cpp), then the plan named and wired:
// queue id, topics, collections, connectors to their loaders, what waits for what (naming.cpp).
#include "sf/manager/plan.h"

#include <boost/json.hpp>
#include <functional>
#include <map>
#include <set>

#include "plan_parts.h"
#include "sf/config/worker_config.h"

namespace sf::manager {

namespace json = boost::json;

const std::vector<std::string> kTargets = {
    "loader-producer", "loader-ws-candles", "loader-ws-trades", "arango-connector",
    "graph-builder",   "gnn-trainer",       "visualizer"};

constexpr size_t kMaxRequests = 256;

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
  planning::Fields fields(errors);
  auto fail = [&](std::string field, std::string problem, std::string expected) {
    fields.fail(std::move(field), std::move(problem), std::move(expected));
  };
  auto get_string = [&](const json::object& obj, const std::string& field, const std::string& path,
                        bool required, const std::string& expected) {
    return fields.string(obj, field, path, required, expected);
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
    auto type = get_string(o, "type", "type", true, planning::kLoaderTypes + ", or api/rest/ws");
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
    const planning::Request req{*r.obj, at, *type,
                                get_string(*r.obj, "interval", at + "interval", false, "e.g. 5m")};
    bool valid = false;
    if (r.target.rfind("loader-", 0) == 0 || r.target == "arango-connector") {
      valid = planning::data_job(fields, req, {range_text, range, now_ms}, job);
      if (valid) (job.realtime ? any_live : any_api) = true;
    } else if (r.target == "graph-builder") {
      valid = planning::graph_builder_job(fields, req, job);
    } else if (r.target == "gnn-trainer") {
      valid = planning::trainer_job(fields, req, job);
    } else if (r.target == "visualizer") {
      valid = planning::visualizer_job(fields, req, job);
    }
    if (!valid) continue;
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
