#include "sf/worker/telemetry.h"

#include "sf/log/log.h"

namespace sf::worker {

Telemetry::Telemetry(kafka::Producer& producer, std::string topic, WorkerIdentity id,
                     std::shared_ptr<Clock> clock)
    : producer_(producer), topic_(std::move(topic)), id_(std::move(id)), clock_(std::move(clock)) {}

Status Telemetry::send(const TelemetryEvent& e) {
  // Tag -1 keeps telemetry out of the data's max_delivered_tag (timestamps are positive).
  return producer_.send(topic_, id_.queue_id, event_json(id_, e, clock_->now_ms()), -1,
                        std::chrono::milliseconds(1000));
}

Status assign_queue_events(kafka::Consumer& consumer, const config::WorkerConfig& config) {
  const std::chrono::milliseconds timeout(30'000);
  if (config.queue_created_at_ms <= 0) {
    return consumer.assign_from_beginning(config.events_topic, timeout);
  }
  const int64_t since = config.queue_created_at_ms - kQueueEventsMarginMs;
  if (auto st = consumer.assign_from_time(config.events_topic, since, timeout); !st) {
    log::get().warn("cannot find where {} reaches {} ms ({}): reading it from its start",
                    config.events_topic, since, st.error().message);
    return consumer.assign_from_beginning(config.events_topic, timeout);
  }
  log::get().info(
      "reading {} from its first event since {} ms (5 min before the queue was created)",
      config.events_topic, since);
  return ok_status();
}

}  // namespace sf::worker
