// WorkerConfig: every variable of the worker contract (SPEC §3), typed, with defaults and bounds in
// one place, validated once at start-up. A program calls load_worker_config() and, on error,
// exit_with_config_error() (exit code 2, one line naming the variable and the expected form).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "sf/config/env.h"
#include "sf/records/interval.h"
#include "sf/records/time_range.h"

namespace sf::config {

// `analytics`: a graph-builder / gnn-trainer / visualizer type (gnn_graph, realtime_graph, ...),
// which names no market data: INTERVAL and TIME_RANGE are optional and SYMBOL is the workflow's.
enum class DataKind { api_candles, api_trades, ws_candles, ws_trades, analytics };
std::string_view to_string(DataKind k);
bool is_live(DataKind k);      // ws_*
bool has_candles(DataKind k);  // *_candles

// Which Kafka credentials a program uses (SPEC §3: producers and consumers have their own).
enum class KafkaRole { producer, consumer };

struct KafkaSettings {
  std::string bootstrap_servers;
  std::string user;  // empty: PLAINTEXT
  Secret password;
  std::string ca_path;
  std::string security_protocol;  // PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
  std::string sasl_mechanism;     // empty unless SASL
  // Any librdkafka property, from KAFKA_PROPERTIES="key=value;key=value"; applied last.
  std::map<std::string, std::string> extra;
};

struct WorkerConfig {
  std::string queue_id;
  std::string symbol;
  std::string type;  // as given, e.g. "api_candles_1m"
  DataKind kind = DataKind::api_candles;
  std::optional<records::Interval> interval;  // set for candle kinds
  std::optional<records::TimeRange> time_range;
  std::string kafka_topic;
  std::string producer_id;  // TELEMETRY_PRODUCER_ID
  KafkaSettings kafka;
  std::string control_topic = "queue-control";
  std::string events_topic = "queue-events";
  // QUEUE_CREATED_AT (our own, set by the manager): the queue's creation time, Unix ms; 0 when
  // not given. Consumers of queue-events start reading there, not at the topic's beginning.
  int64_t queue_created_at_ms = 0;
  std::string binance_api_url = "https://api.binance.com";
  std::string binance_ws_url = "wss://stream.binance.com:9443/ws";
  std::string binance_api_key;
  Secret binance_api_secret;
  // REST manners (our own variables, documented in docs/decisions.md):
  double binance_weight_share = 0.8;  // BINANCE_WEIGHT_SHARE: share of the weight limit we use
  int binance_max_attempts = 8;       // BINANCE_MAX_ATTEMPTS: tries per page before `error`
  int binance_parallel_pages = 4;     // BINANCE_PARALLEL_PAGES: pages in flight at once
  // Historical loads (api_*): Binance's bulk archive where it has the data.
  std::string binance_vision_url = "https://data.binance.vision";  // BINANCE_VISION_URL
  std::string history_source = "auto";  // BINANCE_HISTORY_SOURCE: auto | archive | rest
  std::chrono::milliseconds telemetry_interval{5000};
  bool debug = false;
};

std::variant<WorkerConfig, ConfigError> load_worker_config(const EnvLookup& env,
                                                           KafkaRole role = KafkaRole::producer);
// The same for the analytics workers: TYPE must be one of `types` (kind = analytics); INTERVAL and
// TIME_RANGE are optional (validated when given).
std::variant<WorkerConfig, ConfigError> load_analytics_config(
    const EnvLookup& env, const std::vector<std::string>& types);
// The Kafka part alone (programs that need only a broker, e.g. tools).
std::variant<KafkaSettings, ConfigError> load_kafka_settings(const EnvLookup& env, KafkaRole role);

// Checks shared with the queue-manager's validation.
bool valid_symbol(std::string_view s);      // [A-Z0-9]{2,20}
bool valid_topic_name(std::string_view s);  // [A-Za-z0-9._-]{1,249}

}  // namespace sf::config
