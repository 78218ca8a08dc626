#include "job_env.h"

namespace sf::manager {

LaunchSpec launch_spec(const ManagerConfig& cfg, const QueueState& q, const JobState& j) {
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
  if (q.created_at_ms > 0) e["QUEUE_CREATED_AT"] = std::to_string(q.created_at_ms);
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
      const bool own = !cfg.worker_arango_user.empty();
      e["ARANGO_USER"] = own ? cfg.worker_arango_user : cfg.store.arango_options.user;
      s.secrets["ARANGO_PASSWORD"] = own ? cfg.worker_arango_password : cfg.arango_password;
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

}  // namespace sf::manager
