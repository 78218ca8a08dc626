// From a POST /queues/start body to a validated plan of jobs (SPEC §5), before anything launches.
//
// Two request forms:
//   QueueCreate  {"symbol","type","time_range"[,"interval"]}: one loader-producer and its
//                arango-connector. `type` is a worker TYPE (api_candles_5m, api_trades, ws_trades,
//                ...) or the seeds' coarse "api"/"rest" (historical candles) or "ws" (live
//                candles), both at `interval` (default 1m).
//   workflow     {"symbol","time_range","requests":[{"target","type",...}, ...]} with the
//   per-target
//                fields of the seeds.
//
// Every problem is collected (field, what is wrong, what is expected), so a 422 names them all.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sf/records/time_range.h"

namespace sf::manager {

struct FieldError {
  std::string field;     // "symbol", "requests[2].collection_output"
  std::string problem;   // what is wrong
  std::string expected;  // what would be right
};

struct JobPlan {
  std::string target;       // loader-producer, arango-connector, graph-builder, ...
  std::string type;         // as requested (ws_trade normalised to ws_trades)
  std::string interval;     // candle types and inference_interval
  std::string job_name;     // DNS-1123, <= 63 characters
  std::string producer_id;  // <target>__<6 hex>
  std::string kafka_topic;  // loaders: their data topic; connectors: the topic they read
  std::string collection;   // connectors: where they write; graph-builder: its output
  std::vector<std::string> collection_inputs;  // graph-builder
  std::string graph_collection, model_output, inference_interval, source;
  bool realtime = false;  // ws_*, realtime_*, visualizer streams: start at once, never "complete"
  // What must be complete before this job starts: collections other jobs of the plan produce.
  std::vector<std::string> waits_for;
  // Collection(s) this job makes complete when it finishes (connectors, graph-builder, trainer).
  std::vector<std::string> completes;
};

struct Plan {
  std::string queue_id;
  std::string symbol;
  std::string time_range;  // as given ("" for open-ended live work)
  std::string form;        // "queue" or "workflow"
  std::string kind;        // historical, realtime, mixed
  std::vector<JobPlan> jobs;
};

struct PlanResult {
  std::optional<Plan> plan;
  std::vector<FieldError> errors;  // 422
  std::string parse_error;         // 400 (not JSON / not an object)
};

// `now_ms` decides whether a time range starts in the future; `random_hex` supplies the 6-hex
// suffixes (a seam for tests).
PlanResult plan_request(const std::string& body, int64_t now_ms,
                        const std::function<std::string()>& random_hex);

// Naming rules (SPEC §5), exposed for tests and for the CLI.
std::string base_asset(const std::string& symbol);  // BTCUSDT -> btc
std::string collection_name(const std::string& symbol, const std::string& type,
                            const std::optional<records::TimeRange>& range, int64_t now_ms);
std::string job_name(const std::string& queue_id, const std::string& target,
                     const std::string& type);
bool dns1123_label(const std::string& s);  // [a-z0-9]([-a-z0-9]*[a-z0-9])?, <= 63
std::string random_hex6();

extern const std::vector<std::string> kTargets;

}  // namespace sf::manager
