// Telemetry (SPEC §3): a worker's events on QUEUE_EVENTS_TOPIC, in the protocol's form
// (sf/protocol/protocol.h). Statuses: started, loading, then exactly one of finished, interrupted,
// error.
#pragma once

#include <map>
#include <memory>
#include <string>

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

}  // namespace sf::worker
