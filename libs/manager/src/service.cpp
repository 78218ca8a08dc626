#include "sf/manager/service.h"

#include <malloc.h>

#include <atomic>
#include <boost/json.hpp>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "sf/core/backoff.h"
#include "sf/core/clock.h"
#include "sf/kafka/client.h"
#include "sf/log/log.h"
#include "sf/manager/plan.h"
#include "sf/manager/state.h"

namespace sf::manager {

namespace json = boost::json;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

namespace {
constexpr const char* kCollection = "queue_state";

std::string quote(const std::string& s) {
  return json::serialize(json::value(s));
}

bool valid_env_name(const std::string& v) {
  if (v.empty() || std::isdigit(static_cast<unsigned char>(v[0]))) return false;
  return std::all_of(v.begin(), v.end(), [](char c) {
    return std::isupper(static_cast<unsigned char>(c)) ||
           std::isdigit(static_cast<unsigned char>(c)) || c == '_';
  });
}

}  // namespace

std::string envelope(const std::string& status, const std::string& message,
                     const std::string& data_json) {
  return "{\"status\":" + quote(status) + ",\"message\":" + quote(message) +
         ",\"data\":" + data_json + "}";
}

Answer error_answer(int http, const std::string& message, const std::string& data_json) {
  return {http, envelope("error", message, data_json)};
}

std::variant<ManagerConfig, config::ConfigError> manager_config_from_env(
    const config::EnvLookup& env) {
  ManagerConfig c;
  // The manager's own Kafka user is the seeds' KAFKA_USER / KAFKA_PASSWORD.
  auto kafka_env = [&](std::string_view name) -> std::optional<std::string> {
    if (name == "KAFKA_USER_PRODUCER") return env("KAFKA_USER");
    if (name == "KAFKA_PASSWORD_PRODUCER") return env("KAFKA_PASSWORD");
    return env(name);
  };
  auto k = config::load_kafka_settings(kafka_env, config::KafkaRole::producer);
  if (auto* e = std::get_if<config::ConfigError>(&k)) return *e;
  c.kafka = std::get<config::KafkaSettings>(k);
  c.worker_bootstrap = env("WORKER_KAFKA_BOOTSTRAP_SERVERS").value_or(c.kafka.bootstrap_servers);
  c.control_topic = env("QUEUE_CONTROL_TOPIC").value_or(c.control_topic);
  c.events_topic = env("QUEUE_EVENTS_TOPIC").value_or(c.events_topic);
  for (const auto& [var, topic] :
       {std::pair<const char*, std::string>{"QUEUE_CONTROL_TOPIC", c.control_topic},
        {"QUEUE_EVENTS_TOPIC", c.events_topic}}) {
    if (!config::valid_topic_name(topic)) {
      return config::ConfigError{var, std::string("config error: ") + var + "='" + topic +
                                          "' is invalid: expected a Kafka topic name"};
    }
  }
  c.kafka_user_producer = env("KAFKA_USER_PRODUCER").value_or("");
  c.kafka_user_consumer = env("KAFKA_USER_CONSUMER").value_or("");
  c.kafka_password_producer = {env("KAFKA_PASSWORD_PRODUCER_SECRET").value_or("kafka-producer"),
                               "password", env("KAFKA_PASSWORD_PRODUCER").value_or("")};
  c.kafka_password_consumer = {env("KAFKA_PASSWORD_CONSUMER_SECRET").value_or("kafka-consumer"),
                               "password", env("KAFKA_PASSWORD_CONSUMER").value_or("")};
  c.ca_path = env("CA_PATH").value_or("");
  c.binance_api_url = env("BINANCE_API_URL").value_or(c.binance_api_url);
  c.binance_ws_url = env("BINANCE_WS_URL").value_or(c.binance_ws_url);
  c.binance_vision_url = env("BINANCE_VISION_URL").value_or(c.binance_vision_url);
  c.telemetry_interval = env("TELEMETRY_INTERVAL").value_or(c.telemetry_interval);
  const auto worker_env = config::parse_kv_list(env("WORKER_ENV").value_or(""));
  if (!worker_env) {
    return config::ConfigError{"WORKER_ENV",
                               "config error: WORKER_ENV is invalid: expected K=V;K=V, e.g. "
                               "BINANCE_PARALLEL_PAGES=8;LOG_FORMAT=json"};
  }
  c.worker_env = *worker_env;
  const auto worker_secrets = config::parse_kv_list(env("WORKER_SECRETS").value_or(""));
  if (!worker_secrets) {
    return config::ConfigError{
        "WORKER_SECRETS",
        "config error: WORKER_SECRETS is invalid: expected "
        "VAR=secret/key;VAR=secret/key, e.g. BINANCE_API_KEY=binance/api-key"};
  }
  for (const auto& [var, ref] : *worker_secrets) {
    const size_t slash = ref.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == ref.size() ||
        !valid_env_name(var)) {
      return config::ConfigError{"WORKER_SECRETS",
                                 "config error: WORKER_SECRETS entry '" + var + "=" + ref +
                                     "' is invalid: expected VAR=secret/key;VAR=secret/key, e.g. "
                                     "BINANCE_API_KEY=binance/api-key"};
    }
    c.worker_secrets[var] = {ref.substr(0, slash), ref.substr(slash + 1), env(var).value_or("")};
  }
  auto store = store::store_settings_from_env(env);
  if (!store) return config::ConfigError{"ARANGO_URL", store.error().message};
  c.store = *store;
  if (!c.store.arango) {
    c.store.sqlite.path = std::filesystem::absolute(c.store.sqlite.path).string();
  }
  c.arango_password = {env("ARANGO_PASSWORD_SECRET").value_or("arangodb"), "password",
                       c.store.arango_options.password};
  auto grace = config::int_var(env, "STOP_GRACE_SECONDS", 30, 0, 86'400, "seconds");
  if (auto* e = std::get_if<config::ConfigError>(&grace)) return *e;
  c.stop_grace = milliseconds(std::get<int64_t>(grace) * 1000);
  auto retained = config::int_var(env, "RETAINED_ENDED_QUEUES", 1000, 0, 10'000'000, "queues");
  if (auto* e = std::get_if<config::ConfigError>(&retained)) return *e;
  c.retained_ended = static_cast<size_t>(std::get<int64_t>(retained));
  return c;
}

struct QueueManager::Impl {
  ManagerConfig cfg;
  std::shared_ptr<store::Store> store;
  std::unique_ptr<Launcher> launcher;
  std::shared_ptr<Metrics> metrics;
  spdlog::logger& lg = log::get();
  std::unique_ptr<kafka::Producer> control;
  std::unique_ptr<kafka::Consumer> events;
  std::unique_ptr<kafka::Consumer> probe;

  mutable std::mutex mu;
  std::atomic<int64_t> queue_count{0};  // summaries.size(), for probes that must not take `mu`
  // Whole in memory: every queue still running and the newest `retained_ended` ended ones.
  std::unordered_map<std::string, QueueState> queues;
  std::unordered_map<std::string, std::string> docs;  // queue_id -> its stored JSON
  // Every queue, resident or not: what lists filter on (a few dozen bytes each).
  struct Summary {
    std::string status, symbol;
  };
  std::unordered_map<std::string, Summary> summaries;
  std::map<std::string, int> status_counts;  // for the streamforge_queues gauge, kept as we go
  std::deque<std::string> ended_order;       // resident ended queues, oldest end first
  std::unordered_set<std::string> ended_resident;
  std::set<std::pair<int64_t, std::string>, std::greater<>> newest_first;  // (created_at, id)
  std::unordered_map<std::string, std::pair<std::string, size_t>>
      by_producer;  // producer -> queue, job
  std::unordered_map<std::string, std::pair<std::string, size_t>> by_job_name;
  struct Death {
    SteadyClock::time_point deadline;
    bool failed;
    std::string detail;
  };
  std::map<std::string, Death> deaths;  // job_name -> how it ended, awaiting its final event
  std::vector<std::function<void(const std::string&)>> listeners;

  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::thread dispatcher, supervisor;

  static std::string now_iso() { return records::format_utc(SystemClock().now_ms()); }

  // ---------------------------------------------------------------- state bookkeeping

  void index(const QueueState& q) {
    newest_first.insert({q.created_at_ms, q.id});
    for (size_t i = 0; i < q.jobs.size(); ++i) {
      by_producer[q.jobs[i].plan.producer_id] = {q.id, i};
      by_job_name[q.jobs[i].plan.job_name] = {q.id, i};
    }
  }

  // Changes are stored in batches: touch() marks a queue changed, flush() stores every changed
  // queue in one transaction and only then pushes them to the listeners (and shows them to GET).
  // The dispatcher flushes once per batch of events and commits their offsets only once the
  // flush stored them; API calls and the supervisor flush at once. A failed write (disk full,
  // a locked database, ArangoDB down) keeps the queues dirty and is retried with backoff.
  // Called with `mu` held.
  std::unordered_set<std::string> dirty;
  int write_failures = 0;
  SteadyClock::time_point retry_at{};
  // Queues with a job not ended yet: the only ones the supervisor looks at.
  std::unordered_set<std::string> active;

  static bool all_ended(const QueueState& q) {
    return std::all_of(q.jobs.begin(), q.jobs.end(),
                       [](const JobState& j) { return is_terminal(j.status); });
  }

  void push(const QueueState& q, const std::string& doc) {
    const std::string msg = "{\"event\":\"queue\",\"queue_id\":" + quote(q.id) +
                            ",\"status\":" + quote(q.status) + ",\"queue\":" + doc + "}";
    for (const auto& l : listeners) l(msg);
  }

  // The summary of `q` (its status for lists and the gauge) as it is now.
  void summarize(const QueueState& q) {
    auto [it, fresh] = summaries.try_emplace(q.id);
    if (!fresh && it->second.status == q.status) return;
    if (!fresh) --status_counts[it->second.status];
    ++status_counts[q.status];
    it->second.status = q.status;
    it->second.symbol = q.symbol;
  }

  // Ended queues past the newest `retained_ended` leave memory once stored (their indexes for
  // names stay: a new queue never reuses an old name). Called with `mu` held, after a flush.
  void retire() {
    while (ended_order.size() > cfg.retained_ended) {
      const std::string id = ended_order.front();
      if (dirty.count(id)) return;  // stored first
      ended_order.pop_front();
      ended_resident.erase(id);
      auto it = queues.find(id);
      if (it == queues.end() || !all_ended(it->second)) continue;  // running again
      queues.erase(it);
      docs.erase(id);
    }
  }

  void touch(QueueState& q) {
    const std::string before = q.status;
    q.derive_status(now_iso());
    summarize(q);
    dirty.insert(q.id);
    // GET shows a new queue and a new status at once, stored or not yet (the rest at the flush).
    if (q.status != before || !docs.count(q.id)) docs[q.id] = to_json(q);
    if (all_ended(q)) {
      active.erase(q.id);
      if (ended_resident.insert(q.id).second) ended_order.push_back(q.id);
    } else {
      active.insert(q.id);
    }
  }

  // True when nothing is left unstored.
  bool flush() {
    if (dirty.empty()) return true;
    const auto now = SteadyClock::now();
    if (now < retry_at) return false;
    std::vector<store::Document> batch;
    batch.reserve(dirty.size());
    for (const auto& id : dirty) {
      const auto& q = queues.at(id);
      batch.push_back(store::Document{id, to_json(q), q.created_at_ms});
    }
    auto w = store->upsert(kCollection, batch);
    if (!w || !w->errors.empty()) {
      ++write_failures;
      const auto backoff =
          backoff_delay(milliseconds(100), milliseconds(5'000), write_failures).count();
      retry_at = now + milliseconds(backoff);
      metrics->inc("streamforge_state_write_failures_total");
      if (write_failures == 1 || write_failures % 20 == 0) {
        lg.error(
            "cannot store {} queue states (attempt {}, again in {} ms; nothing is committed "
            "until they are stored): {}",
            batch.size(), write_failures, backoff,
            w ? w->errors.front().message : w.error().message);
      }
      return false;
    }
    if (write_failures > 0) {
      lg.info("queue states stored again after {} failed attempts", write_failures);
    }
    write_failures = 0;
    retry_at = {};
    for (auto& d : batch) {
      push(queues.at(d.key), d.json);
      docs[d.key] = std::move(d.json);
    }
    dirty.clear();
    retire();
    refresh_queue_metrics();
    return true;
  }

  void persist(QueueState& q) {
    touch(q);
    flush();
  }

  void refresh_queue_metrics() {
    metrics->set("streamforge_queues_in_memory", {}, static_cast<double>(queues.size()));
    metrics->reset("streamforge_queues");
    for (const char* s : {"pending", "loading", "stopping", "finished", "interrupted", "error"}) {
      auto it = status_counts.find(s);
      metrics->set("streamforge_queues", {{"status", s}},
                   it == status_counts.end() ? 0 : it->second);
    }
  }

  void job_ended_metrics(const JobState& j) {
    metrics->inc("streamforge_jobs_finished_total",
                 {{"target", j.plan.target}, {"status", j.status}});
    if (j.status == "error")
      metrics->inc("streamforge_jobs_failed_total", {{"target", j.plan.target}});
  }

  // ---------------------------------------------------------------- launching

  LaunchSpec spec_for(const QueueState& q, const JobState& j) const {
    LaunchSpec s;
    s.job_name = j.plan.job_name;
    s.queue_id = q.id;
    s.target = j.plan.target;
    s.type = j.plan.type;
    auto& e = s.env;
    e = cfg.worker_env;
    for (const auto& [var, ref] : cfg.worker_secrets) s.secrets[var] = ref;
    e["QUEUE_ID"] = q.id;
    e["SYMBOL"] = q.symbol;
    e["TYPE"] = j.plan.type;
    if (!q.time_range.empty()) e["TIME_RANGE"] = q.time_range;
    e["KAFKA_TOPIC"] = j.plan.kafka_topic.empty() ? q.id + "-" + j.plan.type : j.plan.kafka_topic;
    e["TELEMETRY_PRODUCER_ID"] = j.plan.producer_id;
    e["KAFKA_BOOTSTRAP_SERVERS"] = cfg.worker_bootstrap;
    e["QUEUE_CONTROL_TOPIC"] = cfg.control_topic;
    e["QUEUE_EVENTS_TOPIC"] = cfg.events_topic;
    e["BINANCE_API_URL"] = cfg.binance_api_url;
    e["BINANCE_WS_URL"] = cfg.binance_ws_url;
    e["BINANCE_VISION_URL"] = cfg.binance_vision_url;
    e["TELEMETRY_INTERVAL"] = cfg.telemetry_interval;
    if (!cfg.ca_path.empty()) e["CA_PATH"] = cfg.ca_path;
    if (!j.plan.interval.empty() && j.plan.target != "gnn-trainer") e["INTERVAL"] = j.plan.interval;
    const bool consumer = j.plan.target.rfind("loader-", 0) != 0;
    if (!consumer && !cfg.kafka_user_producer.empty()) {
      e["KAFKA_USER_PRODUCER"] = cfg.kafka_user_producer;
      s.secrets["KAFKA_PASSWORD_PRODUCER"] = cfg.kafka_password_producer;
    }
    if (consumer && !cfg.kafka_user_consumer.empty()) {
      e["KAFKA_USER_CONSUMER"] = cfg.kafka_user_consumer;
      s.secrets["KAFKA_PASSWORD_CONSUMER"] = cfg.kafka_password_consumer;
    }
    if (consumer) {
      if (cfg.store.arango) {
        e["ARANGO_URL"] = cfg.store.arango_options.url;
        e["ARANGO_DB"] = cfg.store.arango_options.database;
        e["ARANGO_USER"] = cfg.store.arango_options.user;
        s.secrets["ARANGO_PASSWORD"] = cfg.arango_password;
      } else {
        e["STREAMFORGE_DB"] = cfg.store.sqlite.path;
      }
    }
    if (!j.plan.collection.empty()) {
      e[j.plan.target == "graph-builder" ? "COLLECTION_OUTPUT" : "COLLECTION_NAME"] =
          j.plan.collection;
    }
    if (!j.plan.collection_inputs.empty()) {
      std::string inputs;
      for (const auto& c : j.plan.collection_inputs) inputs += (inputs.empty() ? "" : ",") + c;
      e["COLLECTION_INPUTS"] = inputs;
    }
    if (!j.plan.graph_collection.empty()) e["GRAPH_COLLECTION"] = j.plan.graph_collection;
    if (!j.plan.model_output.empty()) e["MODEL_OUTPUT"] = j.plan.model_output;
    if (!j.plan.inference_interval.empty()) e["INFERENCE_INTERVAL"] = j.plan.inference_interval;
    if (!j.plan.source.empty()) e["SOURCE"] = j.plan.source;
    if (!e.count("LOG_FORMAT")) e["LOG_FORMAT"] = "json";
    return s;
  }

  // Launches `j` (mu held). A refusal makes the job `error` at once.
  void launch(QueueState& q, JobState& j) {
    auto r = launcher->launch(spec_for(q, j));
    if (!r) {
      j.status = "error";
      j.error_message = "could not launch: " + r.error().message;
      j.finished_at = now_iso();
      lg.error("queue {}: {} {}: {}", q.id, j.plan.target, j.plan.type, j.error_message);
      job_ended_metrics(j);
      return;
    }
    j.status = "launched";
    j.log = r->where;
    j.pid = r->pid;
    j.pid_start = r->pid_start;
    metrics->inc("streamforge_jobs_started_total", {{"target", j.plan.target}});
    lg.info("queue {}: launched {} ({} {}) -> {}", q.id, j.plan.job_name, j.plan.target,
            j.plan.type, j.log);
  }

  // Starts pending jobs whose inputs are complete; fails those whose inputs never will be.
  bool schedule(QueueState& q) {
    if (q.stop_requested) return false;
    bool changed = false;
    for (auto& j : q.jobs) {
      if (j.status != "pending") continue;
      bool ready = true;
      std::string broken;
      for (const auto& c : j.plan.waits_for) {
        for (const auto& other : q.jobs) {
          if (std::find(other.plan.completes.begin(), other.plan.completes.end(), c) ==
              other.plan.completes.end())
            continue;
          if (other.status == "finished") continue;
          ready = false;
          if (is_terminal(other.status)) {
            broken = "its input " + c + " was not completed (" + other.plan.job_name + " ended " +
                     other.status + ")";
          }
        }
      }
      if (!broken.empty()) {
        j.status = "error";
        j.error_message = broken;
        j.ended_by_manager = true;
        j.finished_at = now_iso();
        job_ended_metrics(j);
        changed = true;
      } else if (ready) {
        launch(q, j);
        changed = true;
      }
    }
    return changed;
  }

  // ---------------------------------------------------------------- dispatcher

  Status start_dispatcher() {
    kafka::ConsumerOptions o;
    o.settings = cfg.kafka;
    o.client_id = "queue-manager-dispatcher";
    o.group_id = cfg.dispatcher_group;
    // Prefetch little: events are small and the manager's memory is for its queues.
    o.properties = {{"queued.max.messages.kbytes", "2048"},
                    {"queued.min.messages", "5000"},
                    {"fetch.max.bytes", "1048576"},
                    {"max.partition.fetch.bytes", "1048576"}};
    auto c = kafka::Consumer::create(o);
    if (!c) return c.error();
    events = std::move(c).value();
    kafka::ConsumerOptions po;
    po.settings = cfg.kafka;
    po.client_id = "queue-manager-offsets";
    auto p = kafka::Consumer::create(po);
    if (!p) return p.error();
    probe = std::move(p).value();
    auto n = probe->partition_count(cfg.events_topic, milliseconds(30'000));
    if (!n) return n.error();
    auto committed = events->committed(cfg.events_topic, *n, milliseconds(30'000));
    if (!committed) return committed.error();
    auto marks = probe->all_watermarks(cfg.events_topic, *n, milliseconds(30'000));
    if (!marks) return marks.error();
    std::vector<kafka::PartitionOffset> positions;
    for (int32_t i = 0; i < *n; ++i) {
      const int64_t c0 = (*committed)[static_cast<size_t>(i)];
      const int64_t low = (*marks)[static_cast<size_t>(i)].low;
      int64_t start = c0 == kafka::kNoOffset ? low : c0;
      if (start < low) {
        lg.warn("telemetry {}[{}] offsets {}..{} expired before this manager read them",
                cfg.events_topic, i, start, low - 1);
        start = low;
      }
      positions.push_back({i, start});
    }
    lg.info("telemetry dispatcher: {} ({} partitions) from the offsets of group {}",
            cfg.events_topic, *n, cfg.dispatcher_group);
    return events->assign(cfg.events_topic, positions);
  }

  void dispatch_loop() {
    std::map<int32_t, int64_t> next;
    auto last_commit = SteadyClock::now();
    for (;;) {
      {
        std::lock_guard lock(stop_mu);
        if (stopping) break;
      }
      auto m = events->poll(milliseconds(100));
      if (!m) {
        lg.warn("telemetry: {}", m.error().message);
        std::this_thread::sleep_for(milliseconds(200));
      } else if (*m) {
        // A batch: this event and whatever else is already here (up to 5000), applied in memory,
        // then stored in one transaction, then committed.
        std::lock_guard lock(mu);
        apply(**m);
        next[(*m)->partition] = (*m)->offset + 1;
        for (int i = 0; i < 5000; ++i) {
          auto more = events->poll(milliseconds(0));
          if (!more || !*more) break;
          apply(**more);
          next[(*more)->partition] = (*more)->offset + 1;
        }
        flush();
      } else {
        std::lock_guard lock(mu);
        flush();  // a write that failed, retried (its backoff permitting)
      }
      bool stored = false;
      {
        std::lock_guard lock(mu);
        stored = dirty.empty();
      }
      // Offsets only for what is stored: a restart reads again whatever was not.
      if (stored && !next.empty() &&
          (!m || !*m || SteadyClock::now() - last_commit > milliseconds(500))) {
        std::vector<kafka::PartitionOffset> commit;
        for (auto [p, o] : next) commit.push_back({p, o});
        if (auto st = events->commit(cfg.events_topic, commit); !st) {
          lg.warn("telemetry: {}", st.error().message);
        } else {
          next.clear();
        }
        last_commit = SteadyClock::now();
      }
    }
    bool stored = false;
    {
      std::lock_guard lock(mu);
      retry_at = {};
      stored = flush();
    }
    if (!next.empty() && stored) {
      std::vector<kafka::PartitionOffset> commit;
      for (auto [p, o] : next) commit.push_back({p, o});
      (void)events->commit(cfg.events_topic, commit);
    } else if (!stored) {
      lg.error(
          "stopping with queue states not stored: their telemetry is not committed and "
          "will be read again at the next start");
    }
  }

  // Called with `mu` held.
  void apply(const kafka::Message& m) {
    auto e = parse_event(m.value);
    if (!e) {
      metrics->inc("streamforge_telemetry_events_ignored_total", {{"reason", "not_telemetry"}});
      return;
    }
    auto it = by_producer.find(e->producer);
    if (it == by_producer.end() || it->second.first != e->queue_id) {
      metrics->inc("streamforge_telemetry_events_ignored_total", {{"reason", "unknown_job"}});
      return;
    }
    auto qit = queues.find(it->second.first);
    if (qit == queues.end()) {  // a queue that ended long ago and left memory
      metrics->inc("streamforge_telemetry_events_ignored_total", {{"reason", "retired"}});
      return;
    }
    auto& q = qit->second;
    auto& j = q.jobs.at(it->second.second);
    const bool was_terminal = is_terminal(j.status);
    if (!apply_event(j, *e)) {
      metrics->inc("streamforge_telemetry_events_ignored_total", {{"reason", "no_change"}});
      return;
    }
    metrics->inc("streamforge_telemetry_events_applied_total");
    if (!was_terminal && is_terminal(j.status)) {
      job_ended_metrics(j);
      deaths.erase(j.plan.job_name);
      schedule(q);
    } else if (was_terminal && j.status == "finished") {
      // A late final event (review #15): the jobs failed for want of this input get their turn.
      lg.info("queue {}: {} said finished after all", q.id, j.plan.job_name);
      for (auto& other : q.jobs) {
        if (other.ended_by_manager && other.status == "error" && other.log.empty()) {
          other.status = "pending";
          other.ended_by_manager = false;
          other.error_message.clear();
          other.finished_at.clear();
        }
      }
      schedule(q);
    }
    if (q.started_at.empty() && !j.started_at.empty()) q.started_at = j.started_at;
    touch(q);
  }

  // ---------------------------------------------------------------- supervisor

  void supervise_loop() {
    for (;;) {
      {
        std::unique_lock lock(stop_mu);
        if (stop_cv.wait_for(lock, cfg.tick, [&] { return stopping; })) break;
      }
      supervise();
    }
  }

  void supervise() {
    auto ended = launcher->reap();
    const auto now = SteadyClock::now();
    std::lock_guard lock(mu);
    for (auto& e : ended) {
      auto it = by_job_name.find(e.job_name);
      if (it == by_job_name.end() || !queues.count(it->second.first)) continue;
      const auto& j = queues.at(it->second.first).jobs.at(it->second.second);
      if (is_terminal(j.status)) continue;
      // Its final event may still be on its way through Kafka: give it death_grace.
      deaths[e.job_name] = {now + cfg.death_grace, e.failed, e.detail};
    }
    std::set<std::string> touched;
    for (auto it = deaths.begin(); it != deaths.end();) {
      if (now < it->second.deadline) {
        ++it;
        continue;
      }
      auto where = by_job_name.find(it->first);
      if (where != by_job_name.end() && queues.count(where->second.first)) {
        auto& q = queues.at(where->second.first);
        auto& j = q.jobs.at(where->second.second);
        if (!is_terminal(j.status)) {
          if (q.stop_requested) {
            j.status = "interrupted";
            j.message = "ended by the stop (" + it->second.detail + ")";
          } else {
            j.status = "error";
            j.error_message = "ended without a final event: " + it->second.detail;
          }
          j.ended_by_manager = true;
          j.finished_at = now_iso();
          job_ended_metrics(j);
          lg.warn("queue {}: {} {}", q.id, j.plan.job_name,
                  j.status == "error" ? j.error_message : j.message);
          touched.insert(q.id);
        }
      }
      it = deaths.erase(it);
    }
    // Stops past their grace: end what is still running.
    const int64_t now_ms = SystemClock().now_ms();
    for (const auto& id : active) {
      auto& q = queues.at(id);
      if (!q.stop_requested || q.status == "interrupted") continue;
      if (now_ms - q.stop_requested_at_ms < cfg.stop_grace.count()) continue;
      for (auto& j : q.jobs) {
        if (job_rank(j.status) >= 1 && !is_terminal(j.status) && !deaths.count(j.plan.job_name)) {
          lg.warn("queue {}: {} did not stop within {} s: ending it", id, j.plan.job_name,
                  cfg.stop_grace.count() / 1000);
          (void)launcher->kill(j.plan.job_name);
          deaths[j.plan.job_name] = {now + cfg.stop_grace + cfg.death_grace, true,
                                     "ended by the manager after the grace period"};
        }
      }
    }
    for (const auto& id : active) {
      if (schedule(queues.at(id))) touched.insert(id);
    }
    for (const auto& id : touched) touch(queues.at(id));
    flush();
  }

  // ---------------------------------------------------------------- API

  // A plan whose names are all new: a queue id, job name or telemetry producer id that any
  // queue already has (24 random bits each) is drawn again, so no job can take another's place.
  bool names_taken(const Plan& plan) const {
    if (summaries.count(plan.queue_id)) return true;
    return std::any_of(plan.jobs.begin(), plan.jobs.end(), [&](const JobPlan& j) {
      return by_job_name.count(j.job_name) || by_producer.count(j.producer_id);
    });
  }

  Answer start_queue(const std::string& body) {
    const int64_t now_ms = SystemClock().now_ms();
    auto r = plan_request(body, now_ms, cfg.random_hex);
    if (!r.parse_error.empty()) return error_answer(400, r.parse_error);
    if (!r.plan) {
      // Listed in full up to kShownErrors: a request cannot make its answer grow without bound.
      constexpr size_t kShownErrors = 20;
      json::array errs;
      std::string summary;
      for (size_t i = 0; i < r.errors.size() && i < kShownErrors; ++i) {
        const auto& e = r.errors[i];
        errs.push_back(
            json::object{{"field", e.field}, {"problem", e.problem}, {"expected", e.expected}});
        summary += (summary.empty() ? "" : "; ") + e.field + ": " + e.problem + " (expected " +
                   e.expected + ")";
      }
      if (r.errors.size() > kShownErrors) {
        summary += "; and " + std::to_string(r.errors.size() - kShownErrors) + " more";
      }
      return error_answer(
          422, "invalid request: " + summary,
          json::serialize(json::object{{"errors", errs},
                                       {"error_count", static_cast<int64_t>(r.errors.size())}}));
    }
    for (int attempt = 1; attempt < 8; ++attempt) {
      {
        std::lock_guard lock(mu);
        if (!names_taken(*r.plan)) break;
      }
      lg.warn("queue {}: a name is already taken; drawing new names", r.plan->queue_id);
      r = plan_request(body, now_ms, cfg.random_hex);
    }
    Plan& plan = *r.plan;
    QueueState q;
    q.id = plan.queue_id;
    q.symbol = plan.symbol;
    q.form = plan.form;
    q.kind = plan.kind;
    q.time_range = plan.time_range;
    q.type = plan.form == "queue" ? plan.jobs.front().type : "workflow";
    q.created_at_ms = now_ms;
    for (auto& jp : plan.jobs) {
      JobState j;
      j.plan = jp;
      q.jobs.push_back(std::move(j));
    }
    std::lock_guard lock(mu);
    if (names_taken(plan)) {
      return error_answer(409, "queue id collision; send the request again");
    }
    auto& stored = queues[q.id] = std::move(q);
    summarize(stored);
    queue_count = static_cast<int64_t>(summaries.size());
    index(stored);
    schedule(stored);
    persist(stored);
    json::array jobs;
    for (const auto& j : stored.jobs) {
      jobs.push_back(json::object{{"target", j.plan.target},
                                  {"type", j.plan.type},
                                  {"job_name", j.plan.job_name},
                                  {"kafka_topic", j.plan.kafka_topic},
                                  {"collection", j.plan.collection},
                                  {"producer_id", j.plan.producer_id},
                                  {"status", j.status}});
    }
    lg.info("queue {} started: {} jobs", stored.id, stored.jobs.size());
    return {200,
            envelope("success", "Queue started",
                     json::serialize(json::object{
                         {"queue_id", stored.id}, {"status", stored.status}, {"jobs", jobs}}))};
  }

  Answer stop_queue(const std::string& id) {
    if (id.empty())
      return error_answer(422, "queue_id is missing: POST /queues/stop?queue_id=<id>");
    {
      std::lock_guard lock(mu);
      auto it = queues.find(id);
      if (it == queues.end()) {
        auto sum = summaries.find(id);
        if (sum == summaries.end()) return error_answer(404, "no queue " + id);
        // Only ended queues leave memory.
        return error_answer(
            409, "queue " + id + " has already ended (" + sum->second.status + "); nothing to stop",
            "{\"queue_id\":" + quote(id) + ",\"status\":" + quote(sum->second.status) + "}");
      }
      const bool ended = std::all_of(it->second.jobs.begin(), it->second.jobs.end(),
                                     [](const JobState& j) { return is_terminal(j.status); });
      if (ended) {
        return error_answer(
            409, "queue " + id + " has already ended (" + it->second.status + "); nothing to stop",
            "{\"queue_id\":" + quote(id) + ",\"status\":" + quote(it->second.status) + "}");
      }
      if (it->second.stop_requested) {
        return {200, envelope("success", "Queue already stopping",
                              "{\"queue_id\":" + quote(id) + ",\"status\":\"stopping\"}")};
      }
    }
    const std::string command = "{\"command\":\"stop\",\"queue_id\":" + quote(id) + "}";
    Status sent = control->send(cfg.control_topic, id, command);
    if (sent) sent = control->flush(milliseconds(10'000));
    if (!sent) {
      return error_answer(503, "cannot publish the stop command to " + cfg.control_topic + ": " +
                                   sent.error().message + ". Try again when Kafka is reachable");
    }
    std::lock_guard lock(mu);
    auto qit = queues.find(id);
    if (qit == queues.end()) return error_answer(409, "queue " + id + " has already ended");
    auto& q = qit->second;
    q.stop_requested = true;
    q.stop_requested_at_ms = SystemClock().now_ms();
    for (auto& j : q.jobs) {
      if (j.status == "pending") {  // never started: nothing to stop
        j.status = "interrupted";
        j.message = "stopped before it started";
        j.finished_at = now_iso();
      }
    }
    persist(q);
    lg.info("queue {}: stop requested", id);
    return {200, envelope("success", "Queue stopped",
                          "{\"queue_id\":" + quote(id) + ",\"status\":" + quote(q.status) + "}")};
  }
};

QueueManager::QueueManager(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<QueueManager>> QueueManager::start(ManagerConfig config,
                                                          std::shared_ptr<store::Store> store,
                                                          std::unique_ptr<Launcher> launcher,
                                                          std::shared_ptr<Metrics> metrics) {
  auto impl = std::make_unique<Impl>();
  impl->cfg = std::move(config);
  if (!impl->cfg.random_hex) impl->cfg.random_hex = random_hex6;
  impl->store = std::move(store);
  impl->launcher = std::move(launcher);
  impl->metrics = std::move(metrics);
  auto& m = *impl->metrics;
  m.describe("streamforge_queues", "gauge", "Queues by status");
  m.describe("streamforge_jobs_started_total", "counter", "Jobs launched, by target");
  m.describe("streamforge_jobs_finished_total", "counter", "Jobs ended, by target and status");
  m.describe("streamforge_jobs_failed_total", "counter", "Jobs ended in error, by target");
  m.describe("streamforge_telemetry_events_applied_total", "counter",
             "Telemetry events that changed a job");
  m.describe("streamforge_telemetry_events_ignored_total", "counter",
             "Telemetry events that changed nothing (duplicates, unknown jobs), by reason");
  m.describe("streamforge_queues_in_memory", "gauge",
             "Queues held whole in memory: the running ones and the newest ended ones");
  m.describe("streamforge_state_write_failures_total", "counter",
             "queue_state writes that failed and are retried with backoff");
  // Unlabelled counters start at 0, so that rate() has a series from the start.
  m.inc("streamforge_telemetry_events_applied_total", {}, 0);
  m.inc("streamforge_state_write_failures_total", {}, 0);
  if (auto st = impl->store->ensure_collection(kCollection); !st) return st.error();

  kafka::ProducerOptions po;
  po.settings = impl->cfg.kafka;
  po.client_id = "queue-manager";
  auto p = kafka::Producer::create(po);
  if (!p) return p.error();
  impl->control = std::move(p).value();
  for (const auto& t : {impl->cfg.control_topic, impl->cfg.events_topic}) {
    if (auto st = impl->control->prepare(t, milliseconds(10'000)); !st) return st.error();
  }

  // Every queue the store holds, newest first, a page at a time: the running ones and the
  // newest `retained_ended` ended ones whole, the others as a summary (review #9).
  constexpr int64_t kPage = 2000;
  size_t ended_kept = 0;
  std::vector<std::string> kept_ended;  // newest first
  for (int64_t offset = 0;; offset += kPage) {
    auto page = impl->store->find(kCollection, {{}, kPage, offset});
    if (!page) return page.error();
    for (const auto& doc : page->documents) {
      auto q = queue_from_json(doc);
      if (!q) continue;
      impl->index(*q);
      impl->summarize(*q);
      const bool ended = Impl::all_ended(*q);
      if (ended && ended_kept >= impl->cfg.retained_ended) continue;
      if (ended) {
        ++ended_kept;
        kept_ended.push_back(q->id);
      } else {
        impl->active.insert(q->id);
      }
      impl->docs[q->id] = doc;
      impl->queues[q->id] = std::move(*q);
    }
    if (static_cast<int64_t>(page->documents.size()) < kPage) break;
  }
  for (auto it = kept_ended.rbegin(); it != kept_ended.rend(); ++it) {
    impl->ended_order.push_back(*it);
    impl->ended_resident.insert(*it);
  }
  // Jobs that were running when the manager stopped: alive still, or gone without (yet) a final
  // event the dispatcher is about to read.
  const auto now = SteadyClock::now();
  for (auto& [id, q] : impl->queues) {
    for (auto& j : q.jobs) {
      if (job_rank(j.status) < 1 || is_terminal(j.status)) continue;
      auto alive = impl->launcher->alive(j.plan.job_name, j.pid, j.pid_start);
      if (alive && !*alive) {
        impl->deaths[j.plan.job_name] = {
            now + std::max(impl->cfg.death_grace, milliseconds(10'000)), true,
            "it was not running when the manager restarted"};
      }
    }
  }
  impl->queue_count = static_cast<int64_t>(impl->summaries.size());
  impl->refresh_queue_metrics();
  // The documents read at start are parsed and gone: hand their memory back to the system.
  malloc_trim(0);
  impl->lg.info("queue-manager: {} queues in {} ({} in memory), {} launcher",
                impl->summaries.size(), impl->store->describe(), impl->queues.size(),
                impl->launcher->kind());
  if (auto st = impl->start_dispatcher(); !st) return st.error();
  Impl* raw = impl.get();
  impl->dispatcher = std::thread([raw] { raw->dispatch_loop(); });
  impl->supervisor = std::thread([raw] { raw->supervise_loop(); });
  return std::unique_ptr<QueueManager>(new QueueManager(std::move(impl)));
}

QueueManager::~QueueManager() {
  {
    std::lock_guard lock(impl_->stop_mu);
    impl_->stopping = true;
  }
  impl_->stop_cv.notify_all();
  if (impl_->dispatcher.joinable()) impl_->dispatcher.join();
  if (impl_->supervisor.joinable()) impl_->supervisor.join();
  // Local jobs end with the manager (SIGTERM: they send `interrupted`), so none is orphaned.
  impl_->launcher->shutdown(milliseconds(10'000));
  (void)impl_->control->flush(milliseconds(5'000));
}

Answer QueueManager::start_queue(const std::string& body) {
  return impl_->start_queue(body);
}
Answer QueueManager::stop_queue(const std::string& id) {
  return impl_->stop_queue(id);
}

Answer QueueManager::get_queue(const std::string& id) {
  std::string doc;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->docs.find(id);
    if (it != impl_->docs.end()) {
      doc = it->second;
    } else if (!impl_->summaries.count(id)) {
      return error_answer(404, "no queue " + id);
    }
  }
  if (doc.empty()) {  // ended long ago: as stored (outside the lock: the store may be slow)
    auto stored = impl_->store->get(kCollection, id);
    if (!stored) {
      return error_answer(
          503, "queue " + id + " is in the store, which did not answer: " + stored.error().message);
    }
    if (!*stored) return error_answer(404, "no queue " + id);
    doc = std::move(**stored);
  }
  return {200, envelope("success", "Queue status", doc)};
}

Answer QueueManager::list_queues(const std::map<std::string, std::string>& query) {
  int64_t limit = 50, offset = 0;
  json::array errs;
  auto number = [&](const char* name, int64_t& out, int64_t lo, int64_t hi) {
    auto it = query.find(name);
    if (it == query.end()) return;
    char* end = nullptr;
    const long long v = std::strtoll(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0' || v < lo || v > hi) {
      errs.push_back(json::object{
          {"field", name},
          {"problem", "'" + it->second + "' is not valid"},
          {"expected", "a whole number from " + std::to_string(lo) + " to " + std::to_string(hi)}});
      return;
    }
    out = v;
  };
  number("limit", limit, 1, 1000);
  number("offset", offset, 0, INT64_MAX / 2);
  std::string status, symbol;
  if (auto it = query.find("status"); it != query.end()) {
    status = it->second;
    static const std::set<std::string> known = {"pending",  "loading",     "stopping",
                                                "finished", "interrupted", "error"};
    if (!known.count(status)) {
      errs.push_back(
          json::object{{"field", "status"},
                       {"problem", "unknown status '" + status + "'"},
                       {"expected", "pending, loading, stopping, finished, interrupted or error"}});
    }
  }
  if (auto it = query.find("symbol"); it != query.end()) {
    symbol = it->second;
    if (!config::valid_symbol(symbol)) {
      errs.push_back(json::object{{"field", "symbol"},
                                  {"problem", "'" + symbol + "' is not a valid symbol"},
                                  {"expected", "2-20 characters A-Z 0-9, e.g. BTCUSDT"}});
    }
  }
  if (!errs.empty()) {
    return error_answer(422, "invalid query parameters",
                        json::serialize(json::object{{"errors", errs}}));
  }
  int64_t total = 0;
  // The page's documents: from memory, or (queues that left it) read from the store afterwards.
  std::vector<std::pair<std::string, std::string>> page;  // id, document (empty: read it)
  {
    std::lock_guard lock(impl_->mu);
    // Newest first from the index kept in order: no sort per request.
    for (const auto& [created, id] : impl_->newest_first) {
      if (!status.empty() || !symbol.empty()) {
        const auto& sum = impl_->summaries.at(id);
        if (!status.empty() && sum.status != status) continue;
        if (!symbol.empty() && sum.symbol != symbol) continue;
      }
      if (total >= offset && total < offset + limit) {
        auto d = impl_->docs.find(id);
        page.emplace_back(id, d == impl_->docs.end() ? std::string() : d->second);
      }
      ++total;
    }
  }
  std::string data = "[";
  for (auto& [id, doc] : page) {
    if (doc.empty()) {
      auto stored = impl_->store->get(kCollection, id);
      if (!stored) {
        return error_answer(503, "the store did not answer: " + stored.error().message);
      }
      if (!*stored) continue;
      doc = std::move(**stored);
    }
    if (data.size() > 1) data += ",";
    data += doc;
  }
  data += "]";
  return {200, envelope("success",
                        "Queues fetched (" +
                            std::to_string(std::max<int64_t>(0, std::min(limit, total - offset))) +
                            " of " + std::to_string(total) + ")",
                        data)};
}

void QueueManager::on_change(std::function<void(const std::string&)> listener) {
  std::lock_guard lock(impl_->mu);
  impl_->listeners.push_back(std::move(listener));
}

bool QueueManager::ready(std::string& why) {
  if (auto st = impl_->store->ping(); !st) {
    why = "store: " + st.error().message;
    return false;
  }
  auto n = impl_->probe->partition_count(impl_->cfg.events_topic, milliseconds(2000));
  if (!n) {
    why = "kafka: " + n.error().message;
    return false;
  }
  return true;
}

int64_t QueueManager::queues() const {
  return impl_->queue_count.load();
}

std::string QueueManager::launcher_kind() const {
  return impl_->launcher->kind();
}

}  // namespace sf::manager
