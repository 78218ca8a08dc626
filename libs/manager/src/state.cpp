#include "sf/manager/state.h"

#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <set>

#include "sf/records/time_range.h"

namespace sf::manager {

namespace json = boost::json;

using protocol::whole;

std::string iso_utc(double unix_seconds) {
  const auto ms = whole(unix_seconds * 1000.0, 0);
  return records::format_utc(ms);
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
  if (!all_ended) finished_at.clear();  // a job runs again (a late final event revived it)
  if (!any_error) error_message.clear();
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

bool apply_event(JobState& job, const TelemetryEvent& e) {
  // The worker's own final word beats the manager's conclusion that it died without one.
  const bool late_final = is_terminal(job.status) && job.ended_by_manager && is_terminal(e.status);
  if (is_terminal(job.status) && !late_final) return false;
  if (late_final) {
    job.ended_by_manager = false;
    job.error_message.clear();
    job.message.clear();
  }
  const int now = late_final ? -1 : job_rank(job.status), next = job_rank(e.status);
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
  if (e.progress >= 0) {
    const int64_t permille = whole(std::min(1.0, e.progress) * 1000, 0);
    if (permille > job.progress_permille) {
      job.progress_permille = permille;
      changed = true;
    }
  }
  if (next >= now) {
    for (const auto& [k, v] : e.metrics) {
      auto it = job.metrics.find(k);
      if (it != job.metrics.end() && it->second == v) continue;
      if (it == job.metrics.end() && job.metrics.size() >= 24) continue;
      job.metrics[k] = v;
      changed = true;
    }
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

// A direct JSON writer: the state document is written for every change the telemetry makes, so it
// is built as text (no DOM). Field order is fixed; strings are escaped per RFC 8259.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void open() {
    out_.push_back('{');
    first_ = true;
  }
  void close() { out_.push_back('}'); }
  Writer& key(const char* k) {
    if (!first_) out_.push_back(',');
    first_ = false;
    out_.push_back('"');
    out_ += k;
    out_ += "\":";
    return *this;
  }
  void str(const std::string& v) {
    out_.push_back('"');
    // Runs that need no escaping are appended whole.
    size_t from = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      const auto c = static_cast<unsigned char>(v[i]);
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      out_.append(v, from, i - from);
      from = i + 1;
      switch (c) {
        case '"':
          out_ += "\\\"";
          break;
        case '\\':
          out_ += "\\\\";
          break;
        case '\n':
          out_ += "\\n";
          break;
        case '\r':
          out_ += "\\r";
          break;
        case '\t':
          out_ += "\\t";
          break;
        default: {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out_ += buf;
        }
      }
    }
    out_.append(v, from, std::string::npos);
    out_.push_back('"');
  }
  void opt_str(const std::string& v) {
    if (v.empty()) {
      out_ += "null";
    } else {
      str(v);
    }
  }
  void num(int64_t v) { out_ += std::to_string(v); }
  void boolean(bool b) { out_ += b ? "true" : "false"; }
  void strings(const std::vector<std::string>& v) {
    out_.push_back('[');
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) out_.push_back(',');
      str(v[i]);
    }
    out_.push_back(']');
  }
  void raw(const std::string& text) { out_ += text; }

 private:
  std::string& out_;
  bool first_ = true;
};

void write_job(Writer& w, const JobState& j) {
  w.open();
  w.key("target").str(j.plan.target);
  w.key("type").str(j.plan.type);
  w.key("job_name").str(j.plan.job_name);
  w.key("status").str(j.status);
  w.key("records_written").num(j.records_written);
  w.key("kafka_topic").str(j.plan.kafka_topic);
  w.key("collection").str(j.plan.collection);
  w.key("producer_id").str(j.plan.producer_id);
  w.key("started_at").opt_str(j.started_at);
  w.key("finished_at").opt_str(j.finished_at);
  w.key("error_message").opt_str(j.error_message);
  w.key("message").str(j.message);
  w.key("last_loaded_timestamp").num(j.last_loaded_timestamp);
  w.key("log").str(j.log);
  w.key("pid").num(j.pid);
  if (j.pid_start > 0) w.key("pid_start").num(j.pid_start);
  w.key("dead_lettered").num(j.dead_lettered);
  if (j.ended_by_manager) w.key("ended_by_manager").boolean(true);
  w.key("progress")
      .raw(j.progress_permille < 0 ? "null" : std::to_string(j.progress_permille / 1000.0));
  if (!j.metrics.empty()) {
    std::string m = "{";
    for (const auto& [k, v] : j.metrics) {
      if (m.size() > 1) m += ',';
      m += json::serialize(json::value(k)) + ":" +
           (std::isfinite(v) ? json::serialize(json::value(v)) : std::string("null"));
    }
    w.key("metrics").raw(m + "}");
  }
  w.key("interval").str(j.plan.interval);
  w.key("realtime").boolean(j.plan.realtime);
  w.key("waits_for").strings(j.plan.waits_for);
  w.key("completes").strings(j.plan.completes);
  if (!j.plan.collection_inputs.empty())
    w.key("collection_inputs").strings(j.plan.collection_inputs);
  if (!j.plan.graph_collection.empty()) w.key("graph_collection").str(j.plan.graph_collection);
  if (!j.plan.model_output.empty()) w.key("model_output").str(j.plan.model_output);
  if (!j.plan.inference_interval.empty())
    w.key("inference_interval").str(j.plan.inference_interval);
  if (!j.plan.source.empty()) w.key("source").str(j.plan.source);
  w.close();
}

std::string s(const json::object& o, const char* k) {
  auto* x = o.if_contains(k);
  return x && x->is_string() ? std::string(x->as_string()) : std::string();
}
int64_t n(const json::object& o, const char* k) {
  auto* x = o.if_contains(k);
  return x && x->is_number() ? whole(x->to_number<double>(), 0) : 0;
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
  std::string out;
  out.reserve(600 + 700 * q.jobs.size());
  Writer w(out);
  w.open();
  w.key("_key").str(q.id);
  w.key("id").str(q.id);
  w.key("queue_id").str(q.id);
  w.key("symbol").str(q.symbol);
  w.key("type").str(q.type);
  w.key("status").str(q.status);
  w.key("loader_type").str(q.form == "queue" ? "job" : "workflow");
  w.key("start_time").opt_str(range ? records::format_utc(range->start_ms) : "");
  w.key("end_time").opt_str(range ? records::format_utc(range->end_ms) : "");
  const int64_t newest = q.last_loaded_timestamp();
  w.key("last_loaded_timestamp").opt_str(newest ? records::format_utc(newest) : "");
  w.key("records_written").num(q.records_written());
  w.key("error_message").opt_str(q.error_message);
  w.key("kafka_topic").str(q.kafka_topic());
  w.key("started_at").opt_str(q.started_at);
  w.key("finished_at").opt_str(q.finished_at);
  w.key("time_range").str(q.time_range);
  w.key("form").str(q.form);
  w.key("kind").str(q.kind);
  w.key("stop_requested").boolean(q.stop_requested);
  w.key("stop_requested_at").num(q.stop_requested_at_ms);
  w.key("created_at").num(q.created_at_ms);
  w.key("jobs").raw("[");
  for (size_t i = 0; i < q.jobs.size(); ++i) {
    if (i) out.push_back(',');
    Writer jw(out);
    write_job(jw, q.jobs[i]);
  }
  out.push_back(']');
  w.close();
  return out;
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
      j.pid_start = n(jo, "pid_start");
      j.dead_lettered = n(jo, "dead_lettered");
      if (auto* x = jo.if_contains("ended_by_manager"); x && x->is_bool()) {
        j.ended_by_manager = x->as_bool();
      }
      if (auto* x = jo.if_contains("progress"); x && x->is_number()) {
        j.progress_permille = whole(x->to_number<double>() * 1000, 0);
      }
      if (auto* x = jo.if_contains("metrics"); x && x->is_object()) {
        for (const auto& [k, v] : x->as_object()) {
          if (v.is_number()) j.metrics[std::string(k)] = v.to_number<double>();
        }
      }
      q.jobs.push_back(std::move(j));
    }
  }
  return q;
}

}  // namespace sf::manager
