// Telemetry (SPEC §3): events on QUEUE_EVENTS_TOPIC with the seeds' fields
//   queue_id, symbol, type, status, message, records_written, finished, producer, timestamp
// plus error_message on error, last_loaded_timestamp (ms of the newest acknowledged record) and any
// extra numeric fields (progress, reconnects, ...). Statuses: started, loading, then exactly one of
// finished, interrupted, error.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "sf/core/clock.h"
#include "sf/kafka/client.h"

namespace sf::worker {

struct WorkerIdentity {
  std::string queue_id, symbol, type, producer_id;
};

enum class EventStatus { started, loading, finished, interrupted, error };
std::string_view to_string(EventStatus s);

struct TelemetryEvent {
  EventStatus status = EventStatus::loading;
  std::string message;
  int64_t records_written = 0;
  int64_t last_loaded_timestamp = 0;  // 0: none yet (omitted)
  std::string error_message;          // only for error
  std::map<std::string, double> extra;
};

// The JSON of one event, e.g.
// {"queue_id":"wf-...","symbol":"BTCUSDT",...,"timestamp":1722445567.890}.
std::string event_json(const WorkerIdentity& id, const TelemetryEvent& e, int64_t now_ms);

// Sends events through a Producer (key = queue_id). Thread-safe.
class Telemetry {
 public:
  Telemetry(kafka::Producer& producer, std::string topic, WorkerIdentity id,
            std::shared_ptr<Clock> clock);
  Status send(const TelemetryEvent& e);

 private:
  kafka::Producer& producer_;
  std::string topic_;
  WorkerIdentity id_;
  std::shared_ptr<Clock> clock_;
};

}  // namespace sf::worker
