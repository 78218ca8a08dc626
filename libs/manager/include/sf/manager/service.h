// QueueManager: the control plane's core, without HTTP (api.h puts it on the wire). Its parts,
// each in its own file under src/: job_env (what a job is launched with), scheduler (the
// dependency graph -> launches), queue_book (states, indexes, batched writes, start-up load),
// dispatcher (Kafka -> book), supervisor (deaths, stop grace, restart recovery).
//
//   start_queue  plan (validated, 400/422) -> queue_state document -> jobs launched as the
//                dependency graph allows (the rest `pending`)
//   stop_queue   {"command":"stop","queue_id"} on the control topic, queue `stopping`; past the
//                grace period the launcher ends what did not exit; final status `interrupted`
//   dispatcher   QUEUE_EVENTS_TOPIC from the group's committed offsets, each event applied
//                idempotently, the document stored, then the offset committed
//   supervisor   reaps jobs that ended, marks the ones that died without a final event `error`
//                (or `interrupted` when stopping), starts waiting jobs whose inputs completed
//
// Every state change is stored first, then pushed to on_change listeners (the WebSocket).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "sf/config/env.h"
#include "sf/config/worker_config.h"
#include "sf/core/clock.h"
#include "sf/core/result.h"
#include "sf/manager/launcher.h"
#include "sf/manager/metrics.h"
#include "sf/store/store.h"

namespace sf::manager {

struct ManagerConfig {
  config::KafkaSettings kafka;  // the manager's own connection
  std::string control_topic = "queue-control";
  std::string events_topic = "queue-events";
  std::string dispatcher_group = "queue-manager";
  // Given to the jobs (SPEC §3).
  std::string worker_bootstrap;  // default: kafka.bootstrap_servers
  std::string kafka_user_producer, kafka_user_consumer;
  SecretRef kafka_password_producer, kafka_password_consumer;
  std::string ca_path;
  std::string binance_api_url = "https://api.binance.com";
  std::string binance_ws_url = "wss://stream.binance.com:9443/ws";
  std::string binance_vision_url = "https://data.binance.vision";
  std::string telemetry_interval = "5";
  std::map<std::string, std::string> worker_env;  // WORKER_ENV="K=V;K=V": anything else
  // WORKER_SECRETS="VAR=secret/key;...": secrets every job gets, in Kubernetes as secretKeyRef
  // (never a plain value in a manifest), locally from the manager's own VAR.
  std::map<std::string, SecretRef> worker_secrets;
  store::StoreSettings store;  // where connectors write
  SecretRef arango_password;
  // The ArangoDB user jobs get (review #24: not the manager's, which alone may write
  // queue_state): WORKER_ARANGO_USER, its password from the Secret WORKER_ARANGO_PASSWORD_SECRET
  // (key "password"; locally WORKER_ARANGO_PASSWORD). Empty: jobs use the manager's user.
  std::string worker_arango_user;
  SecretRef worker_arango_password;
  std::chrono::milliseconds stop_grace{30'000};  // STOP_GRACE_SECONDS
  std::chrono::milliseconds death_grace{3'000};  // wait for a final event after an exit
  std::chrono::milliseconds tick{200};
  // Time for the supervisor, the scheduler and the book (a seam for tests); default the system's.
  std::shared_ptr<Clock> clock;
  // Ended queues kept whole in memory (the newest); older ones are read from the store when
  // asked for, so memory follows what is active, not the history (RETAINED_ENDED_QUEUES).
  size_t retained_ended = 1000;
  // The random suffixes of queue ids, job names and producer ids (a seam for tests).
  std::function<std::string()> random_hex;
};

// Reads the manager's variables (the seeds' KAFKA_*, ARANGO_*, topics, plus ours; see
// docs/operations.md). Errors are config errors (exit 2).
std::variant<ManagerConfig, config::ConfigError> manager_config_from_env(
    const config::EnvLookup& env);

// What the core answers, before any HTTP: api.cpp alone turns an outcome into a status code
// and the seeds' envelope {"status","message","data"}.
enum class Outcome {
  ok,
  malformed,    // the body is not the JSON it must be
  invalid,      // fields that fail their checks (data: {"errors":[...],"error_count":N})
  not_found,    // no such queue
  conflict,     // the queue has already ended; a name taken meanwhile
  unavailable,  // Kafka or the store did not answer: try again
};

struct Reply {
  Outcome outcome = Outcome::ok;
  std::string message;
  std::string data = "{}";  // JSON
};

class QueueManager {
 public:
  static Result<std::unique_ptr<QueueManager>> start(ManagerConfig config,
                                                     std::shared_ptr<store::Store> store,
                                                     std::unique_ptr<Launcher> launcher,
                                                     std::shared_ptr<Metrics> metrics);
  ~QueueManager();  // stops the threads, ends the jobs it launched (local), flushes

  Reply start_queue(const std::string& body);
  Reply stop_queue(const std::string& queue_id);
  Reply get_queue(const std::string& queue_id);  // may read the store
  // The same from memory alone (no I/O); nullopt for a queue that only the store holds now.
  std::optional<Reply> get_queue_from_memory(const std::string& queue_id);
  Reply list_queues(const std::map<std::string, std::string>& query);
  // Called with {"event":"queue","queue_id":...,"status":...,"queue":{...}} on every change.
  void on_change(std::function<void(const std::string&)> listener);
  // Kafka and the store reachable now; `why` says what is not.
  bool ready(std::string& why);
  // Start-up done: the jobs of the manager's earlier run were asked about (local: their pids;
  // Kubernetes: their Jobs); `why` says how far it is.
  bool started(std::string& why) const;
  int64_t queues() const;
  std::string launcher_kind() const;

  struct Impl;

 private:
  explicit QueueManager(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sf::manager
