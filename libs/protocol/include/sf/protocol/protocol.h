// The worker <-> manager protocol (SPEC §3, §5) in one place, for the workers (sf::worker), the
// connector (which waits for its loader's final event) and the queue-manager:
//
//   statuses   pending < launched < started < loading < one final status (finished, interrupted,
//              error). pending and launched are the manager's own; a worker says started, then
//              loading, then exactly one final status.
//   telemetry  one JSON object per event on QUEUE_EVENTS_TOPIC, keyed by queue id:
//              {"queue_id","symbol","type","status","message","records_written","finished",
//               "producer","timestamp"} plus error_message on error, last_loaded_timestamp and any
//              extra numeric fields (progress, dead_lettered, nodes, ...) event_json/parse_event
//   control    {"command":"stop","queue_id":<id>} on QUEUE_CONTROL_TOPIC   stop_command/stop_target
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace sf::protocol {

// ------------------------------------------------------------------ statuses

// What a worker can say about itself.
enum class EventStatus { started, loading, finished, interrupted, error };
std::string_view to_string(EventStatus s);

// The order of a job's statuses: pending 0, launched 1, started 2, loading 3, final 4; -1 for a
// string that is no status. Telemetry never moves a job to a lower rank.
int status_rank(std::string_view status);
bool is_final(std::string_view status);  // finished, interrupted or error

// ------------------------------------------------------------------ telemetry

// Who sends: the job's queue, symbol, data type and its own producer id.
struct Identity {
  std::string queue_id, symbol, type, producer_id;
};

// What a worker reports in one event.
struct Report {
  EventStatus status = EventStatus::loading;
  std::string message;
  int64_t records_written = 0;
  int64_t last_loaded_timestamp = 0;  // 0: none yet (omitted)
  std::string error_message;          // only for error
  std::map<std::string, double> extra;
};

// The JSON of one event, e.g. {"queue_id":"wf-...","symbol":"BTCUSDT",...,"timestamp":
// 1722445567.890}. Messages pass config::redact: a worker's secrets never leave it.
std::string event_json(const Identity& id, const Report& r, int64_t now_ms);

// One event as read from the topic.
struct Event {
  std::string queue_id, symbol, type, producer, status, message, error_message;
  int64_t records_written = -1;  // -1: absent
  int64_t last_loaded_timestamp = 0;
  double timestamp = 0;  // unix seconds
  int64_t dead_lettered = -1;
  double progress = -1;  // 0..1 when the worker knows how much is left
  // Other numeric top-level fields (at most kMaxMetrics, names of at most kMaxMetricName bytes).
  std::map<std::string, double> metrics;
};
inline constexpr size_t kMaxMetrics = 24;
inline constexpr size_t kMaxMetricName = 40;

// Nothing for what is not a telemetry event: not a JSON object, no queue_id or producer, or a
// status a worker cannot send. Numbers are clamped to int64 (never undefined, never a throw).
std::optional<Event> parse_event(std::string_view json);

// A JSON number as a whole int64: rounded, clamped to int64's range; `fallback` for NaN or inf.
int64_t whole(double v, int64_t fallback);

// ------------------------------------------------------------------ control

std::string stop_command(std::string_view queue_id);
// The queue a stop command names; nothing for anything else (other commands, other shapes,
// text that is not JSON).
std::optional<std::string> stop_target(std::string_view message);

}  // namespace sf::protocol
