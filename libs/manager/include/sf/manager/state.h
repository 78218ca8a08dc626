// The state of queues and their jobs, and how telemetry moves it (SPEC §5).
//
// Job statuses in order: pending (waits for its inputs) < launched (started by the launcher, no
// event yet) < started < loading < one terminal status (finished, interrupted, error). An event
// never moves a job backwards and a terminal job never changes: replayed or out-of-order
// telemetry leaves the state as it was.
//
// Queue status, derived from its jobs: pending, loading, stopping, then finished, interrupted or
// error once every job has ended (interrupted whenever a stop was asked for).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sf/manager/plan.h"
#include "sf/protocol/protocol.h"

namespace sf::manager {

struct JobState {
  JobPlan plan;
  std::string status = "pending";
  int64_t records_written = 0;
  int64_t last_loaded_timestamp = 0;
  std::string message, error_message;
  std::string started_at, finished_at;  // ISO 8601 UTC
  std::string log;                      // local: the log file; kubernetes: namespace/job
  int64_t pid = 0;                      // local launcher
  int64_t pid_start = 0;                // and when that process started (a pid is reused)
  int64_t dead_lettered = 0;
  int64_t progress_permille = -1;  // the loader's `progress` (0..1) x 1000; -1 unknown
  // Its end was the manager's conclusion, not the worker's word: it died without a final event,
  // or (never launched) its input ended without completing. A late final event from the worker
  // still counts (review #15), and a job failed for its input runs once that input finishes.
  bool ended_by_manager = false;
  // The worker's own numeric telemetry fields (nodes, edges, epoch, accuracy, ...), latest value.
  std::map<std::string, double> metrics;
};

struct QueueState {
  std::string id;
  std::string symbol, type, form, kind, time_range;
  std::string status = "pending";
  bool stop_requested = false;
  int64_t created_at_ms = 0;
  int64_t stop_requested_at_ms = 0;
  std::string started_at, finished_at;
  std::string error_message;
  std::vector<JobState> jobs;

  int64_t records_written() const;        // connectors' sum, else loaders'
  int64_t last_loaded_timestamp() const;  // newest of any job
  std::string kafka_topic() const;        // the first loader's topic
  // Recomputes `status` (and finished_at) from the jobs; true if it changed.
  bool derive_status(const std::string& now_iso);
};

// Telemetry as the protocol reads it (sf/protocol/protocol.h): the one parser workers, the
// connector and the manager share.
using TelemetryEvent = protocol::Event;
using protocol::parse_event;

inline int job_rank(const std::string& status) {
  return protocol::status_rank(status);
}
inline bool is_terminal(const std::string& status) {
  return protocol::is_final(status);
}

// Applies `e` to `job`; true if anything changed.
bool apply_event(JobState& job, const TelemetryEvent& e);

// The document of a queue in `queue_state` (the seeds' QueueState plus each job), and back.
std::string to_json(const QueueState& q);
std::optional<QueueState> queue_from_json(const std::string& json);
// The short form for lists and WebSocket pushes: the same without per-job plans' details.
std::string iso_utc(double unix_seconds);

}  // namespace sf::manager
