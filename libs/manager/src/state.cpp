#include "sf/manager/state.h"

#include <boost/json.hpp>
#include <cmath>
#include <ctime>

#include "sf/records/time_range.h"

namespace sf::manager {

namespace json = boost::json;

std::string iso_utc(double unix_seconds) {
  const auto ms = static_cast<int64_t>(std::llround(unix_seconds * 1000.0));
  return records::format_utc(ms);
}

int job_rank(const std::string& s) {
  if (s == "pending") return 0;
  if (s == "launched") return 1;
  if (s == "started") return 2;
  if (s == "loading") return 3;
  if (s == "finished" || s == "interrupted" || s == "error") return 4;
  return -1;
}

bool is_terminal(const std::string& s) {
  return job_rank(s) == 4;
}

int64_t QueueState::records_written() const {
  int64_t loaders = 0, sinks = 0;
  bool any_sink = false;
  for (const auto& j : jobs) {
    if (j.plan.target == "arango-connector") {
      any_sink = true;
      sinks += j.records_written;
    } else if (j.plan.target.rfind("loader-", 0) == 0) {
      loaders += j.records_written;
    }
  }
  return any_sink ? sinks : loaders;
}

int64_t QueueState::last_loaded_timestamp() const {
  int64_t t = 0;
  for (const auto& j : jobs) t = std::max(t, j.last_loaded_timestamp);
  return t;
}

std::string QueueState::kafka_topic() const {
  for (const auto& j : jobs) {
    if (j.plan.target.rfind("loader-", 0) == 0) return j.plan.kafka_topic;
  }
  return "";
}

bool QueueState::derive_status(const std::string& now_iso) {
  const std::string before = status;
  bool all_ended = !jobs.empty(), any_error = false, any_interrupted = false, any_running = false;
  for (const auto& j : jobs) {
    if (!is_terminal(j.status)) all_ended = false;
    if (j.status == "error") any_error = true;
    if (j.status == "interrupted") any_interrupted = true;
    if (job_rank(j.status) >= 1 && !is_terminal(j.status)) any_running = true;
  }
  if (all_ended) {
    status = stop_requested    ? "interrupted"
             : any_error       ? "error"
             : any_interrupted ? "interrupted"
                               : "finished";
  } else if (stop_requested) {
    status = "stopping";
  } else if (any_error) {
    status = "error";
  } else if (any_running) {
    status = "loading";
  } else {
    status = "pending";
  }
  if (all_ended && finished_at.empty()) finished_at = now_iso;
  if (any_error && error_message.empty()) {
    for (const auto& j : jobs) {
      if (j.status == "error") {
        error_message = j.plan.target + " (" + j.plan.type + "): " + j.error_message;
        break;
      }
    }
  }
  return status != before;
}

std::optional<TelemetryEvent> parse_event(const std::string& text) {
  json::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.as_object();
  auto str = [&](const char* k) {
    auto* x = o.if_contains(k);
    return x && x->is_string() ? std::string(x->as_string()) : std::string();
  };
  auto num = [&](const char* k, double fallback) {
    auto* x = o.if_contains(k);
    return x && x->is_number() ? x->to_number<double>() : fallback;
  };
  TelemetryEvent e;
  e.queue_id = str("queue_id");
  e.producer = str("producer");
  e.status = str("status");
  if (e.queue_id.empty() || e.producer.empty() || job_rank(e.status) < 2) return std::nullopt;
  e.message = str("message");
  e.error_message = str("error_message");
  e.records_written = static_cast<int64_t>(num("records_written", -1));
  e.last_loaded_timestamp = static_cast<int64_t>(num("last_loaded_timestamp", 0));
  e.timestamp = num("timestamp", 0);
  e.dead_lettered = static_cast<int64_t>(num("dead_lettered", -1));
  return e;
}

bool apply_event(JobState& job, const TelemetryEvent& e) {
  if (is_terminal(job.status)) return false;
  const int now = job_rank(job.status), next = job_rank(e.status);
  if (next < now) return false;
  bool changed = false;
  if (next > now) {
    job.status = e.status;
    changed = true;
    if (job.started_at.empty() && e.timestamp > 0) job.started_at = iso_utc(e.timestamp);
    if (is_terminal(e.status) && e.timestamp > 0) job.finished_at = iso_utc(e.timestamp);
    if (!e.message.empty()) job.message = e.message;
    if (e.status == "error")
      job.error_message = e.error_message.empty() ? e.message : e.error_message;
  }
  // Counters only grow within a run (a terminal event carries the final figures).
  if (e.records_written > job.records_written ||
      (next > now && e.records_written >= 0 && is_terminal(e.status))) {
    changed |= job.records_written != e.records_written;
    job.records_written = e.records_written;
  }
  if (e.last_loaded_timestamp > job.last_loaded_timestamp) {
    job.last_loaded_timestamp = e.last_loaded_timestamp;
    changed = true;
  }
  if (e.dead_lettered > job.dead_lettered) {
    job.dead_lettered = e.dead_lettered;
    changed = true;
  }
  if (next == now && !e.message.empty() && e.message != job.message) {
    job.message = e.message;
    changed = true;
  }
  return changed;
}

namespace {

json::object job_json(const JobState& j) {
  json::object o{
      {"target", j.plan.target},
      {"type", j.plan.type},
      {"job_name", j.plan.job_name},
      {"status", j.status},
      {"records_written", j.records_written},
      {"kafka_topic", j.plan.kafka_topic},
      {"collection", j.plan.collection},
      {"producer_id", j.plan.producer_id},
      {"started_at", j.started_at.empty() ? json::value() : json::value(j.started_at)},
      {"finished_at", j.finished_at.empty() ? json::value() : json::value(j.finished_at)},
      {"error_message", j.error_message.empty() ? json::value() : json::value(j.error_message)},
      {"message", j.message},
      {"last_loaded_timestamp", j.last_loaded_timestamp},
      {"log", j.log},
      {"pid", j.pid},
      {"dead_lettered", j.dead_lettered},
      {"interval", j.plan.interval},
      {"realtime", j.plan.realtime}};
  auto arr = [](const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) a.emplace_back(s);
    return a;
  };
  o["waits_for"] = arr(j.plan.waits_for);
  o["completes"] = arr(j.plan.completes);
  if (!j.plan.collection_inputs.empty()) o["collection_inputs"] = arr(j.plan.collection_inputs);
  if (!j.plan.graph_collection.empty()) o["graph_collection"] = j.plan.graph_collection;
  if (!j.plan.model_output.empty()) o["model_output"] = j.plan.model_output;
  if (!j.plan.inference_interval.empty()) o["inference_interval"] = j.plan.inference_interval;
  if (!j.plan.source.empty()) o["source"] = j.plan.source;
  return o;
}

std::string s(const json::object& o, const char* k) {
  auto* x = o.if_contains(k);
  return x && x->is_string() ? std::string(x->as_string()) : std::string();
}
int64_t n(const json::object& o, const char* k) {
  auto* x = o.if_contains(k);
  return x && x->is_number() ? x->to_number<int64_t>() : 0;
}
std::vector<std::string> sv(const json::object& o, const char* k) {
  std::vector<std::string> out;
  auto* x = o.if_contains(k);
  if (x && x->is_array()) {
    for (const auto& e : x->as_array()) {
      if (e.is_string()) out.emplace_back(e.as_string());
    }
  }
  return out;
}

}  // namespace

std::string to_json(const QueueState& q) {
  std::optional<records::TimeRange> range;
  if (auto r = records::TimeRange::parse(q.time_range)) range = *r;
  json::array jobs;
  for (const auto& j : q.jobs) jobs.push_back(job_json(j));
  auto opt = [](const std::string& v) { return v.empty() ? json::value() : json::value(v); };
  json::object o{
      {"_key", q.id},
      {"id", q.id},
      {"queue_id", q.id},
      {"symbol", q.symbol},
      {"type", q.type},
      {"status", q.status},
      {"loader_type", q.form == "queue" ? "job" : "workflow"},
      {"start_time", range ? json::value(records::format_utc(range->start_ms)) : json::value()},
      {"end_time", range ? json::value(records::format_utc(range->end_ms)) : json::value()},
      {"last_loaded_timestamp", q.last_loaded_timestamp()
                                    ? json::value(records::format_utc(q.last_loaded_timestamp()))
                                    : json::value()},
      {"records_written", q.records_written()},
      {"error_message", opt(q.error_message)},
      {"kafka_topic", q.kafka_topic()},
      {"started_at", opt(q.started_at)},
      {"finished_at", opt(q.finished_at)},
      {"time_range", q.time_range},
      {"form", q.form},
      {"kind", q.kind},
      {"stop_requested", q.stop_requested},
      {"stop_requested_at", q.stop_requested_at_ms},
      {"created_at", q.created_at_ms},
      {"jobs", jobs}};
  return json::serialize(o);
}

std::optional<QueueState> queue_from_json(const std::string& text) {
  json::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.as_object();
  QueueState q;
  q.id = s(o, "id");
  if (q.id.empty()) return std::nullopt;
  q.symbol = s(o, "symbol");
  q.type = s(o, "type");
  q.form = s(o, "form");
  q.kind = s(o, "kind");
  q.time_range = s(o, "time_range");
  q.status = s(o, "status");
  q.error_message = s(o, "error_message");
  q.started_at = s(o, "started_at");
  q.finished_at = s(o, "finished_at");
  q.created_at_ms = n(o, "created_at");
  q.stop_requested_at_ms = n(o, "stop_requested_at");
  if (auto* x = o.if_contains("stop_requested"); x && x->is_bool()) q.stop_requested = x->as_bool();
  if (auto* jobs = o.if_contains("jobs"); jobs && jobs->is_array()) {
    for (const auto& jv : jobs->as_array()) {
      if (!jv.is_object()) continue;
      const auto& jo = jv.as_object();
      JobState j;
      j.plan.target = s(jo, "target");
      j.plan.type = s(jo, "type");
      j.plan.job_name = s(jo, "job_name");
      j.plan.kafka_topic = s(jo, "kafka_topic");
      j.plan.collection = s(jo, "collection");
      j.plan.producer_id = s(jo, "producer_id");
      j.plan.interval = s(jo, "interval");
      j.plan.waits_for = sv(jo, "waits_for");
      j.plan.completes = sv(jo, "completes");
      j.plan.collection_inputs = sv(jo, "collection_inputs");
      j.plan.graph_collection = s(jo, "graph_collection");
      j.plan.model_output = s(jo, "model_output");
      j.plan.inference_interval = s(jo, "inference_interval");
      j.plan.source = s(jo, "source");
      if (auto* x = jo.if_contains("realtime"); x && x->is_bool()) j.plan.realtime = x->as_bool();
      j.status = s(jo, "status");
      j.records_written = n(jo, "records_written");
      j.last_loaded_timestamp = n(jo, "last_loaded_timestamp");
      j.started_at = s(jo, "started_at");
      j.finished_at = s(jo, "finished_at");
      j.error_message = s(jo, "error_message");
      j.message = s(jo, "message");
      j.log = s(jo, "log");
      j.pid = n(jo, "pid");
      j.dead_lettered = n(jo, "dead_lettered");
      q.jobs.push_back(std::move(j));
    }
  }
  return q;
}

}  // namespace sf::manager
