#include "sf/worker/telemetry.h"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <cmath>
#include <cstdio>

#include "sf/config/env.h"

namespace sf::worker {
namespace {

std::string quoted(std::string_view s) {
  return boost::json::serialize(boost::json::string(s));
}

std::string number(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

std::string_view to_string(EventStatus s) {
  switch (s) {
    case EventStatus::started:
      return "started";
    case EventStatus::loading:
      return "loading";
    case EventStatus::finished:
      return "finished";
    case EventStatus::interrupted:
      return "interrupted";
    case EventStatus::error:
      return "error";
  }
  return "?";
}

std::string event_json(const WorkerIdentity& id, const TelemetryEvent& e, int64_t now_ms) {
  const bool final_event = e.status == EventStatus::finished ||
                           e.status == EventStatus::interrupted || e.status == EventStatus::error;
  std::string out = "{\"queue_id\":" + quoted(id.queue_id);
  out += ",\"symbol\":" + quoted(id.symbol);
  out += ",\"type\":" + quoted(id.type);
  out += ",\"status\":\"" + std::string(to_string(e.status)) + "\"";
  // Messages quote configuration and upstream errors: their secrets never leave the worker.
  out += ",\"message\":" + quoted(config::redact(e.message));
  out += ",\"records_written\":" + std::to_string(e.records_written);
  out += std::string(",\"finished\":") + (final_event ? "true" : "false");
  out += ",\"producer\":" + quoted(id.producer_id);
  char ts[40];
  std::snprintf(ts, sizeof ts, "%lld.%03lld", static_cast<long long>(now_ms / 1000),
                static_cast<long long>(now_ms % 1000));
  out += ",\"timestamp\":";
  out += ts;
  if (e.status == EventStatus::error)
    out += ",\"error_message\":" + quoted(config::redact(e.error_message));
  if (e.last_loaded_timestamp > 0) {
    out += ",\"last_loaded_timestamp\":" + std::to_string(e.last_loaded_timestamp);
  }
  for (const auto& [k, v] : e.extra) out += "," + quoted(k) + ":" + number(v);
  out += "}";
  return out;
}

Telemetry::Telemetry(kafka::Producer& producer, std::string topic, WorkerIdentity id,
                     std::shared_ptr<Clock> clock)
    : producer_(producer), topic_(std::move(topic)), id_(std::move(id)), clock_(std::move(clock)) {}

Status Telemetry::send(const TelemetryEvent& e) {
  // Tag -1 keeps telemetry out of the data's max_delivered_tag (timestamps are positive).
  return producer_.send(topic_, id_.queue_id, event_json(id_, e, clock_->now_ms()), -1,
                        std::chrono::milliseconds(1000));
}

}  // namespace sf::worker
