#include "sf/worker/telemetry.h"

namespace sf::worker {

Telemetry::Telemetry(kafka::Producer& producer, std::string topic, WorkerIdentity id,
                     std::shared_ptr<Clock> clock)
    : producer_(producer), topic_(std::move(topic)), id_(std::move(id)), clock_(std::move(clock)) {}

Status Telemetry::send(const TelemetryEvent& e) {
  // Tag -1 keeps telemetry out of the data's max_delivered_tag (timestamps are positive).
  return producer_.send(topic_, id_.queue_id, event_json(id_, e, clock_->now_ms()), -1,
                        std::chrono::milliseconds(1000));
}

}  // namespace sf::worker
