#include "sf/manager/service.h"

#include <atomic>
#include <boost/json.hpp>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "dispatcher.h"
#include "job_env.h"
#include "queue_book.h"
#include "scheduler.h"
#include "sf/kafka/client.h"
#include "sf/log/log.h"
#include "sf/manager/plan.h"
#include "sf/manager/state.h"
#include "sf/protocol/protocol.h"
#include "sf/records/time_range.h"
#include "supervisor.h"

namespace sf::manager {

namespace json = boost::json;
using std::chrono::milliseconds;

namespace {
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
  if (auto u = env("WORKER_ARANGO_USER"); u && !u->empty()) {
    if (!c.store.arango) {
      return config::ConfigError{"WORKER_ARANGO_USER",
                                 "config error: WORKER_ARANGO_USER='" + *u +
                                     "' is set but the store is SQLite (ARANGO_URL is unset): "
                                     "set ARANGO_URL, or unset WORKER_ARANGO_USER"};
    }
    if (*u == c.store.arango_options.user) {
      return config::ConfigError{
          "WORKER_ARANGO_USER",
          "config error: WORKER_ARANGO_USER='" + *u +
              "' is the manager's own ARANGO_USER: give jobs a user of their own (one that "
              "cannot write queue_state), or unset it"};
    }
    c.worker_arango_user = *u;
    c.worker_arango_password = {env("WORKER_ARANGO_PASSWORD_SECRET").value_or("arangodb-worker"),
                                "password", env("WORKER_ARANGO_PASSWORD").value_or("")};
  }
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
  std::shared_ptr<Clock> clock;
  std::unique_ptr<kafka::Producer> control;
  std::unique_ptr<QueueBook> book;
  std::unique_ptr<Scheduler> scheduler;
  std::unique_ptr<Supervisor> supervisor;
  std::unique_ptr<Dispatcher> dispatcher;

  std::mutex stop_mu;
  std::condition_variable stop_cv;
  std::atomic<bool> stopping{false};
  std::thread dispatch_thread, supervise_thread;

  std::string now_iso() const { return records::format_utc(clock->now_ms()); }

  void supervise_loop() {
    supervisor->recover();
    for (;;) {
      {
        std::unique_lock lock(stop_mu);
        if (stop_cv.wait_for(lock, cfg.tick, [&] { return stopping.load(); })) break;
      }
      supervisor->tick();
    }
  }

  static Reply invalid(const std::vector<FieldError>& errors) {
    // Listed in full up to kShownErrors: a request cannot make its answer grow without bound.
    constexpr size_t kShownErrors = 20;
    json::array errs;
    std::string summary;
    for (size_t i = 0; i < errors.size() && i < kShownErrors; ++i) {
      const auto& e = errors[i];
      errs.push_back(
          json::object{{"field", e.field}, {"problem", e.problem}, {"expected", e.expected}});
      summary += (summary.empty() ? "" : "; ") + e.field + ": " + e.problem + " (expected " +
                 e.expected + ")";
    }
    if (errors.size() > kShownErrors) {
      summary += "; and " + std::to_string(errors.size() - kShownErrors) + " more";
    }
    return {Outcome::invalid, "invalid request: " + summary,
            json::serialize(json::object{{"errors", errs},
                                         {"error_count", static_cast<int64_t>(errors.size())}})};
  }

  Reply start_queue(const std::string& body) {
    const int64_t now_ms = clock->now_ms();
    auto r = plan_request(body, now_ms, cfg.random_hex);
    if (!r.parse_error.empty()) return {Outcome::malformed, r.parse_error};
    if (!r.plan) return invalid(r.errors);
    // A plan whose names are all new: a queue id, job name or telemetry producer id that any
    // queue already has (24 random bits each) is drawn again, so no job can take another's place.
    for (int attempt = 1; attempt < 8; ++attempt) {
      {
        std::lock_guard lock(book->mu);
        if (!book->names_taken(*r.plan)) break;
      }
      log::get().warn("queue {}: a name is already taken; drawing new names", r.plan->queue_id);
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
    std::lock_guard lock(book->mu);
    if (book->names_taken(plan)) {
      return {Outcome::conflict, "queue id collision; send the request again"};
    }
    auto& stored = book->add(std::move(q));
    scheduler->schedule(stored);
    book->persist(stored);
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
    log::get().info("queue {} started: {} jobs", stored.id, stored.jobs.size());
    return {Outcome::ok, "Queue started",
            json::serialize(
                json::object{{"queue_id", stored.id}, {"status", stored.status}, {"jobs", jobs}})};
  }

  static Reply already_ended(const std::string& id, const std::string& status) {
    return {Outcome::conflict,
            "queue " + id + " has already ended (" + status + "); nothing to stop",
            "{\"queue_id\":" + quote(id) + ",\"status\":" + quote(status) + "}"};
  }

  Reply stop_queue(const std::string& id) {
    if (id.empty()) {
      return {Outcome::invalid, "queue_id is missing: POST /queues/stop?queue_id=<id>"};
    }
    {
      std::lock_guard lock(book->mu);
      const QueueState* q = book->resident(id);
      if (!q) {
        const std::string* status = book->status_of(id);
        if (!status) return {Outcome::not_found, "no queue " + id};
        return already_ended(id, *status);  // only ended queues leave memory
      }
      if (std::all_of(q->jobs.begin(), q->jobs.end(),
                      [](const JobState& j) { return is_terminal(j.status); })) {
        return already_ended(id, q->status);
      }
      if (q->stop_requested) {
        return {Outcome::ok, "Queue already stopping",
                "{\"queue_id\":" + quote(id) + ",\"status\":\"stopping\"}"};
      }
    }
    Status sent = control->send(cfg.control_topic, id, protocol::stop_command(id));
    if (sent) sent = control->flush(milliseconds(10'000));
    if (!sent) {
      return {Outcome::unavailable, "cannot publish the stop command to " + cfg.control_topic +
                                        ": " + sent.error().message +
                                        ". Try again when Kafka is reachable"};
    }
    std::lock_guard lock(book->mu);
    QueueState* q = book->resident(id);
    if (!q) return {Outcome::conflict, "queue " + id + " has already ended"};
    q->stop_requested = true;
    q->stop_requested_at_ms = clock->now_ms();
    for (auto& j : q->jobs) {
      if (j.status == "pending") {  // never started: nothing to stop
        j.status = "interrupted";
        j.message = "stopped before it started";
        j.finished_at = now_iso();
      }
    }
    book->persist(*q);
    log::get().info("queue {}: stop requested", id);
    return {Outcome::ok, "Queue stopped",
            "{\"queue_id\":" + quote(id) + ",\"status\":" + quote(q->status) + "}"};
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
  impl->clock = impl->cfg.clock ? impl->cfg.clock : SystemClock::shared();
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

  Impl& i = *impl;
  i.book = std::make_unique<QueueBook>(i.store, i.metrics, i.clock, i.cfg.retained_ended);
  if (auto st = i.book->load(); !st) return st.error();
  const ManagerConfig* cfg = &i.cfg;
  i.scheduler = std::make_unique<Scheduler>(
      *i.launcher, *i.metrics,
      [cfg](const QueueState& q, const JobState& j) { return launch_spec(*cfg, q, j); }, i.clock);
  i.supervisor = std::make_unique<Supervisor>(*i.book, *i.scheduler, *i.launcher, i.clock,
                                              SupervisorTimes{i.cfg.death_grace, i.cfg.stop_grace});
  i.dispatcher =
      std::make_unique<Dispatcher>(i.cfg, *i.book, *i.scheduler, *i.supervisor, *i.metrics);

  kafka::ProducerOptions po;
  po.settings = i.cfg.kafka;
  po.client_id = "queue-manager";
  auto p = kafka::Producer::create(po);
  if (!p) return p.error();
  i.control = std::move(p).value();
  for (const auto& t : {i.cfg.control_topic, i.cfg.events_topic}) {
    if (auto st = i.control->prepare(t, milliseconds(10'000)); !st) return st.error();
  }
  // Jobs that were running when the manager stopped (alive still, or gone without yet a final
  // event the dispatcher is about to read) are asked about by the supervisor's thread.
  {
    std::lock_guard lock(i.book->mu);
    log::get().info("queue-manager: {} queues in {} ({} in memory), {} launcher", i.book->count(),
                    i.store->describe(), i.book->queues().size(), i.launcher->kind());
  }
  if (auto st = i.dispatcher->start(); !st) return st.error();
  Impl* raw = impl.get();
  i.dispatch_thread = std::thread([raw] { raw->dispatcher->run(raw->stopping); });
  i.supervise_thread = std::thread([raw] { raw->supervise_loop(); });
  return std::unique_ptr<QueueManager>(new QueueManager(std::move(impl)));
}

QueueManager::~QueueManager() {
  {
    std::lock_guard lock(impl_->stop_mu);
    impl_->stopping = true;
  }
  impl_->stop_cv.notify_all();
  if (impl_->dispatch_thread.joinable()) impl_->dispatch_thread.join();
  if (impl_->supervise_thread.joinable()) impl_->supervise_thread.join();
  // Local jobs end with the manager (SIGTERM: they send `interrupted`), so none is orphaned.
  impl_->launcher->shutdown(milliseconds(10'000));
  (void)impl_->control->flush(milliseconds(5'000));
}

Reply QueueManager::start_queue(const std::string& body) {
  return impl_->start_queue(body);
}
Reply QueueManager::stop_queue(const std::string& id) {
  return impl_->stop_queue(id);
}

std::optional<Reply> QueueManager::get_queue_from_memory(const std::string& id) {
  std::lock_guard lock(impl_->book->mu);
  std::string doc = impl_->book->doc(id);
  if (!doc.empty()) return Reply{Outcome::ok, "Queue status", std::move(doc)};
  if (!impl_->book->status_of(id)) return Reply{Outcome::not_found, "no queue " + id};
  return std::nullopt;  // ended long ago: only the store has it
}

Reply QueueManager::get_queue(const std::string& id) {
  if (auto in_memory = get_queue_from_memory(id)) return std::move(*in_memory);
  // As stored (outside the lock: the store may be slow).
  auto stored = impl_->store->get(kQueueCollection, id);
  if (!stored) {
    return {Outcome::unavailable,
            "queue " + id + " is in the store, which did not answer: " + stored.error().message};
  }
  if (!*stored) return {Outcome::not_found, "no queue " + id};
  return {Outcome::ok, "Queue status", std::move(**stored)};
}

Reply QueueManager::list_queues(const std::map<std::string, std::string>& query) {
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
    return {Outcome::invalid, "invalid query parameters",
            json::serialize(json::object{{"errors", errs}})};
  }
  // The page's documents: from memory, or (queues that left it) read from the store afterwards.
  std::vector<std::pair<std::string, std::string>> page;  // id, document (empty: read it)
  int64_t total = 0;
  {
    std::lock_guard lock(impl_->book->mu);
    total = impl_->book->page(status, symbol, offset, limit, page);
  }
  size_t size = 2;
  for (const auto& [id, doc] : page) size += doc.size() + 1;
  std::string data = "[";
  data.reserve(size);  // one allocation (documents from the store may add to it)
  for (auto& [id, doc] : page) {
    if (doc.empty()) {
      auto stored = impl_->store->get(kQueueCollection, id);
      if (!stored)
        return {Outcome::unavailable, "the store did not answer: " + stored.error().message};
      if (!*stored) continue;
      doc = std::move(**stored);
    }
    if (data.size() > 1) data += ",";
    data += doc;
  }
  data += "]";
  return {Outcome::ok,
          "Queues fetched (" +
              std::to_string(std::max<int64_t>(0, std::min(limit, total - offset))) + " of " +
              std::to_string(total) + ")",
          std::move(data)};
}

void QueueManager::on_change(std::function<void(const std::string&)> listener) {
  std::lock_guard lock(impl_->book->mu);
  impl_->book->on_change(std::move(listener));
}

bool QueueManager::ready(std::string& why) {
  if (auto st = impl_->store->ping(); !st) {
    why = "store: " + st.error().message;
    return false;
  }
  auto n = impl_->dispatcher->check(milliseconds(2000));
  if (!n) {
    why = "kafka: " + n.error().message;
    return false;
  }
  return true;
}

bool QueueManager::started(std::string& why) const {
  if (impl_->supervisor->recovered()) return true;
  const int64_t n = impl_->supervisor->to_check();
  why = n < 0 ? "reading the state of the earlier run"
              : "checking the jobs of the earlier run: " +
                    std::to_string(impl_->supervisor->checked()) + " of " + std::to_string(n);
  return false;
}

int64_t QueueManager::queues() const {
  return impl_->book->count();
}

std::string QueueManager::launcher_kind() const {
  return impl_->launcher->kind();
}

}  // namespace sf::manager
