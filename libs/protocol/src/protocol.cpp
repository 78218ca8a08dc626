#include "sf/protocol/protocol.h"

#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <set>

#include "sf/config/env.h"

namespace sf::protocol {

namespace json = boost::json;

namespace {

std::string quoted(std::string_view s) {
  return json::serialize(json::string(s));
}

std::string number(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::optional<json::object> object_of(std::string_view text) {
  json::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

std::string str(const json::object& o, const char* k) {
  auto* x = o.if_contains(k);
  return x && x->is_string() ? std::string(x->as_string()) : std::string();
}

double num(const json::object& o, const char* k, double fallback) {
  auto* x = o.if_contains(k);
  return x && x->is_number() ? x->to_number<double>() : fallback;
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

int status_rank(std::string_view s) {
  if (s == "pending") return 0;
  if (s == "launched") return 1;
  if (s == "started") return 2;
  if (s == "loading") return 3;
  if (s == "finished" || s == "interrupted" || s == "error") return 4;
  return -1;
}

bool is_final(std::string_view s) {
  return status_rank(s) == 4;
}

int64_t whole(double v, int64_t fallback) {
  if (!std::isfinite(v)) return fallback;
  constexpr double kMax = 9.2e18;
  if (v >= kMax) return static_cast<int64_t>(kMax);
  if (v <= -kMax) return -static_cast<int64_t>(kMax);
  return static_cast<int64_t>(std::llround(v));
}

std::string event_json(const Identity& id, const Report& r, int64_t now_ms) {
  const bool final_event = is_final(to_string(r.status));
  std::string out = "{\"queue_id\":" + quoted(id.queue_id);
  out += ",\"symbol\":" + quoted(id.symbol);
  out += ",\"type\":" + quoted(id.type);
  out += ",\"status\":\"" + std::string(to_string(r.status)) + "\"";
  out += ",\"message\":" + quoted(config::redact(r.message));
  out += ",\"records_written\":" + std::to_string(r.records_written);
  out += std::string(",\"finished\":") + (final_event ? "true" : "false");
  out += ",\"producer\":" + quoted(id.producer_id);
  char ts[40];
  std::snprintf(ts, sizeof ts, "%lld.%03lld", static_cast<long long>(now_ms / 1000),
                static_cast<long long>(now_ms % 1000));
  out += ",\"timestamp\":";
  out += ts;
  if (r.status == EventStatus::error)
    out += ",\"error_message\":" + quoted(config::redact(r.error_message));
  if (r.last_loaded_timestamp > 0) {
    out += ",\"last_loaded_timestamp\":" + std::to_string(r.last_loaded_timestamp);
  }
  for (const auto& [k, v] : r.extra) out += "," + quoted(k) + ":" + number(v);
  out += "}";
  return out;
}

std::optional<Event> parse_event(std::string_view text) {
  auto obj = object_of(text);
  if (!obj) return std::nullopt;
  const auto& o = *obj;
  Event e;
  e.queue_id = str(o, "queue_id");
  e.producer = str(o, "producer");
  e.status = str(o, "status");
  if (e.queue_id.empty() || e.producer.empty() || status_rank(e.status) < 2) return std::nullopt;
  e.symbol = str(o, "symbol");
  e.type = str(o, "type");
  e.message = str(o, "message");
  e.error_message = str(o, "error_message");
  e.records_written = whole(num(o, "records_written", -1), -1);
  e.last_loaded_timestamp = whole(num(o, "last_loaded_timestamp", 0), 0);
  e.timestamp = num(o, "timestamp", 0);
  e.dead_lettered = whole(num(o, "dead_lettered", -1), -1);
  e.progress = num(o, "progress", -1);
  static const std::set<std::string_view> known = {"records_written", "last_loaded_timestamp",
                                                   "timestamp", "dead_lettered", "progress"};
  for (const auto& [k, v] : o) {
    if (!v.is_number() || known.count(k) || k.size() > kMaxMetricName ||
        e.metrics.size() >= kMaxMetrics)
      continue;
    e.metrics[std::string(k)] = v.to_number<double>();
  }
  return e;
}

std::string stop_command(std::string_view queue_id) {
  return "{\"command\":\"stop\",\"queue_id\":" + quoted(queue_id) + "}";
}

std::optional<std::string> stop_target(std::string_view message) {
  auto obj = object_of(message);
  if (!obj) return std::nullopt;
  const auto* cmd = obj->if_contains("command");
  const auto* qid = obj->if_contains("queue_id");
  if (!cmd || !qid || !cmd->is_string() || !qid->is_string() || cmd->as_string() != "stop")
    return std::nullopt;
  return std::string(qid->as_string());
}

}  // namespace sf::protocol
