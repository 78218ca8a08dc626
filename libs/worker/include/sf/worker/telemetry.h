// Telemetry (SPEC §3): a worker's events on QUEUE_EVENTS_TOPIC, in the protocol's form
// (sf/protocol/protocol.h). Statuses: started, loading, then exactly one of finished, interrupted,
// error.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "sf/config/worker_config.h"
#include "sf/core/clock.h"
#include "sf/kafka/client.h"
#include "sf/protocol/protocol.h"

namespace sf::worker {

// The event's form is the protocol's (sf/protocol/protocol.h): one home for what workers write
// and what the manager and the connector read.
using WorkerIdentity = protocol::Identity;
using EventStatus = protocol::EventStatus;
using TelemetryEvent = protocol::Report;
using protocol::event_json;
using protocol::to_string;

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

// Assigns `consumer` to every partition of QUEUE_EVENTS_TOPIC where a reader of this queue's
// events starts. The topic holds every queue's telemetry for its retention (14 days): with
// QUEUE_CREATED_AT (set by the manager) from the first event stamped 5 minutes before the
// queue's creation (the margin covers the clocks of the manager, which stamps creation, and of
// the workers, which stamp events), else, or if that search fails, from the topic's start
// (review #17).
inline constexpr int64_t kQueueEventsMarginMs = 5 * 60 * 1000;
Status assign_queue_events(kafka::Consumer& consumer, const config::WorkerConfig& config);

}  // namespace sf::worker
