#include "sf/config/worker_config.h"

#include <gtest/gtest.h>

#include <fstream>

namespace sf::config {
namespace {

std::map<std::string, std::string> base() {
  return {{"QUEUE_ID", "wf-bulk-load-20240801-a1b2c3"},
          {"SYMBOL", "BTCUSDT"},
          {"TYPE", "api_candles_1m"},
          {"TIME_RANGE", "2024-08-01:2024-08-02"},
          {"KAFKA_TOPIC", "wf-bulk-load-20240801-a1b2c3-data"},
          {"TELEMETRY_PRODUCER_ID", "loader-producer__a1b2c3"},
          {"KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"}};
}

WorkerConfig load_ok(std::map<std::string, std::string> vars) {
  auto r = load_worker_config(map_env(std::move(vars)));
  if (auto* e = std::get_if<ConfigError>(&r)) ADD_FAILURE() << e->message;
  return std::get<WorkerConfig>(r);
}

ConfigError load_bad(std::map<std::string, std::string> vars,
                     KafkaRole role = KafkaRole::producer) {
  auto r = load_worker_config(map_env(std::move(vars)), role);
  if (std::holds_alternative<WorkerConfig>(r)) {
    ADD_FAILURE() << "expected a config error";
    return {};
  }
  return std::get<ConfigError>(r);
}

TEST(WorkerConfig, DefaultsFromTheSpec) {
  auto c = load_ok(base());
  EXPECT_EQ(c.kind, DataKind::api_candles);
  ASSERT_TRUE(c.interval.has_value());
  EXPECT_EQ(c.interval->name(), "1m");
  EXPECT_EQ(c.time_range->start_ms, 1722470400000);
  EXPECT_EQ(c.control_topic, "queue-control");
  EXPECT_EQ(c.events_topic, "queue-events");
  EXPECT_EQ(c.binance_api_url, "https://api.binance.com");
  EXPECT_EQ(c.binance_ws_url, "wss://stream.binance.com:9443/ws");
  EXPECT_EQ(c.telemetry_interval, std::chrono::milliseconds(5000));
  EXPECT_FALSE(c.debug);
  EXPECT_EQ(c.kafka.security_protocol, "PLAINTEXT");
  EXPECT_TRUE(c.kafka.sasl_mechanism.empty());
}

TEST(WorkerConfig, EveryVariableIsRead) {
  std::string ca = ::testing::TempDir() + "/ca.crt";
  std::ofstream(ca) << "-----BEGIN CERTIFICATE-----\n";
  auto v = base();
  v["TYPE"] = "ws_candles";
  v["INTERVAL"] = "1h";
  v.erase("TIME_RANGE");
  v["KAFKA_USER_PRODUCER"] = "user-producer-tls";
  v["KAFKA_PASSWORD_PRODUCER"] = "s3cret";
  v["CA_PATH"] = ca;
  v["QUEUE_CONTROL_TOPIC"] = "ctl";
  v["QUEUE_EVENTS_TOPIC"] = "evt";
  v["BINANCE_API_URL"] = "http://127.0.0.1:8080";
  v["BINANCE_WS_URL"] = "ws://127.0.0.1:8080/ws";
  v["BINANCE_API_KEY"] = "key";
  v["BINANCE_API_SECRET"] = "secret";
  v["TELEMETRY_INTERVAL"] = "0.5";
  v["DEBUG"] = "true";
  v["KAFKA_PROPERTIES"] = "linger.ms=20;compression.type=zstd";
  v["BINANCE_WEIGHT_SHARE"] = "0.5";
  v["BINANCE_MAX_ATTEMPTS"] = "3";
  v["BINANCE_PARALLEL_PAGES"] = "2";
  v["QUEUE_CREATED_AT"] = "1722470400000";
  auto c = load_ok(v);
  EXPECT_EQ(c.queue_created_at_ms, 1722470400000);
  EXPECT_DOUBLE_EQ(c.binance_weight_share, 0.5);
  EXPECT_EQ(c.binance_max_attempts, 3);
  EXPECT_EQ(c.binance_parallel_pages, 2);
  EXPECT_EQ(c.kind, DataKind::ws_candles);
  EXPECT_EQ(c.interval->name(), "1h");
  EXPECT_FALSE(c.time_range.has_value()) << "TIME_RANGE is optional for ws_*";
  EXPECT_EQ(c.kafka.user, "user-producer-tls");
  EXPECT_EQ(c.kafka.password.reveal(), "s3cret");
  EXPECT_EQ(c.kafka.security_protocol, "SASL_SSL");
  EXPECT_EQ(c.kafka.sasl_mechanism, "SCRAM-SHA-512");
  EXPECT_EQ(c.kafka.ca_path, ca);
  EXPECT_EQ(c.control_topic, "ctl");
  EXPECT_EQ(c.events_topic, "evt");
  EXPECT_EQ(c.binance_api_url, "http://127.0.0.1:8080");
  EXPECT_EQ(c.binance_ws_url, "ws://127.0.0.1:8080/ws");
  EXPECT_EQ(c.binance_api_key, "key");
  EXPECT_EQ(c.binance_api_secret.reveal(), "secret");
  EXPECT_EQ(c.telemetry_interval, std::chrono::milliseconds(500));
  EXPECT_TRUE(c.debug);
  EXPECT_EQ(c.kafka.extra.at("linger.ms"), "20");
  EXPECT_EQ(c.kafka.extra.at("compression.type"), "zstd");

  v["KAFKA_SECURITY_PROTOCOL"] = "SASL_PLAINTEXT";
  v["KAFKA_SASL_MECHANISM"] = "SCRAM-SHA-256";
  auto o = load_ok(v);
  EXPECT_EQ(o.kafka.security_protocol, "SASL_PLAINTEXT");
  EXPECT_EQ(o.kafka.sasl_mechanism, "SCRAM-SHA-256");
}

TEST(WorkerConfig, TypeSpellings) {
  auto v = base();
  v["TYPE"] = "ws_trade";  // the seeds' spelling
  EXPECT_EQ(load_ok(v).kind, DataKind::ws_trades);
  v["TYPE"] = "api_trades";
  auto t = load_ok(v);
  EXPECT_EQ(t.kind, DataKind::api_trades);
  EXPECT_FALSE(t.interval.has_value());
  v["TYPE"] = "api_candles";
  v["INTERVAL"] = "1M";
  EXPECT_EQ(load_ok(v).interval->name(), "1M");
  v["TYPE"] = "api_candles_1m";
  v["INTERVAL"] = "1m";  // agreeing is fine
  EXPECT_EQ(load_ok(v).interval->name(), "1m");
}

struct BadCase {
  std::string var;
  std::optional<std::string> value;  // nullopt: unset it
  std::string named;                 // the variable the error must name
  std::string hint;                  // a fragment of the expected form
};

TEST(WorkerConfig, EachBadOrMissingVariableIsNamedWithTheExpectedForm) {
  const std::vector<BadCase> cases = {
      {"QUEUE_ID", std::nullopt, "QUEUE_ID", "wf-"},
      {"QUEUE_ID", "has space", "QUEUE_ID", "a-z"},
      {"SYMBOL", std::nullopt, "SYMBOL", "BTCUSDT"},
      {"SYMBOL", "btcusdt", "SYMBOL", "A-Z"},
      {"SYMBOL", "B", "SYMBOL", "2-20"},
      {"TYPE", std::nullopt, "TYPE", "api_candles_<interval>"},
      {"TYPE", "candles", "TYPE", "api_trades"},
      {"TYPE", "api_candles_2m", "TYPE", "1m"},
      {"INTERVAL", "1h", "INTERVAL", "disagree"},  // TYPE=api_candles_1m beside INTERVAL=1h
      {"INTERVAL", "7m", "INTERVAL", "Binance interval"},
      {"TIME_RANGE", std::nullopt, "TIME_RANGE", "YYYY-MM-DD:YYYY-MM-DD"},
      {"TIME_RANGE", "2024-08-02:2024-08-01", "TIME_RANGE", "reversed"},
      {"TIME_RANGE", "2024-8-1:2024-8-2", "TIME_RANGE", "YYYY-MM-DD"},
      {"KAFKA_TOPIC", std::nullopt, "KAFKA_TOPIC", "topic"},
      {"KAFKA_TOPIC", "a/b", "KAFKA_TOPIC", "A-Z a-z 0-9 . _ -"},
      {"TELEMETRY_PRODUCER_ID", std::nullopt, "TELEMETRY_PRODUCER_ID", "loader-producer__"},
      {"KAFKA_BOOTSTRAP_SERVERS", std::nullopt, "KAFKA_BOOTSTRAP_SERVERS", "host:port"},
      {"KAFKA_BOOTSTRAP_SERVERS", "localhost", "KAFKA_BOOTSTRAP_SERVERS", "host:port"},
      {"KAFKA_BOOTSTRAP_SERVERS", "a:1,b:x", "KAFKA_BOOTSTRAP_SERVERS", "host:port"},
      {"KAFKA_BOOTSTRAP_SERVERS", "a:99999999999999999999", "KAFKA_BOOTSTRAP_SERVERS", "host:port"},
      {"KAFKA_BOOTSTRAP_SERVERS", "a:65536", "KAFKA_BOOTSTRAP_SERVERS", "host:port"},
      {"KAFKA_USER_PRODUCER", "u", "KAFKA_PASSWORD_PRODUCER", "password"},
      {"KAFKA_SECURITY_PROTOCOL", "TLS", "KAFKA_SECURITY_PROTOCOL", "SASL_SSL"},
      {"KAFKA_SECURITY_PROTOCOL", "SASL_SSL", "KAFKA_USER_PRODUCER", "SASL"},
      {"CA_PATH", "/nonexistent/ca.crt", "CA_PATH", "PEM"},
      {"QUEUE_CONTROL_TOPIC", "bad topic", "QUEUE_CONTROL_TOPIC", "topic"},
      {"QUEUE_EVENTS_TOPIC", "bad topic", "QUEUE_EVENTS_TOPIC", "topic"},
      {"BINANCE_API_URL", "api.binance.com", "BINANCE_API_URL", "https://"},
      {"BINANCE_WS_URL", "https://x", "BINANCE_WS_URL", "wss://"},
      {"TELEMETRY_INTERVAL", "five", "TELEMETRY_INTERVAL", "seconds"},
      {"TELEMETRY_INTERVAL", "0", "TELEMETRY_INTERVAL", "0.1 to 3600"},
      {"DEBUG", "maybe", "DEBUG", "true or false"},
      {"KAFKA_PROPERTIES", "linger.ms", "KAFKA_PROPERTIES", "key=value"},
      {"BINANCE_WEIGHT_SHARE", "2", "BINANCE_WEIGHT_SHARE", "between 0.05 and 1"},
      {"BINANCE_MAX_ATTEMPTS", "0", "BINANCE_MAX_ATTEMPTS", "from 1 to 100"},
      {"BINANCE_PARALLEL_PAGES", "many", "BINANCE_PARALLEL_PAGES", "from 1 to 16"},
      {"QUEUE_CREATED_AT", "yesterday", "QUEUE_CREATED_AT", "Unix milliseconds"},
      {"QUEUE_CREATED_AT", "1722470400", "QUEUE_CREATED_AT", "Unix milliseconds"},
  };
  for (const auto& bc : cases) {
    auto v = base();
    if (bc.value) {
      v[bc.var] = *bc.value;
    } else {
      v.erase(bc.var);
    }
    auto e = load_bad(v);
    EXPECT_EQ(e.variable, bc.named) << bc.var << ": " << e.message;
    EXPECT_EQ(e.message.rfind("config error: " + bc.named, 0), 0u) << e.message;
    EXPECT_NE(e.message.find(bc.hint), std::string::npos) << e.message;
    EXPECT_EQ(e.message.find('\n'), std::string::npos) << "one line";
  }
}

TEST(WorkerConfig, ConsumersUseTheirOwnCredentials) {
  auto v = base();
  v["KAFKA_USER_CONSUMER"] = "user-consumer";
  auto e = load_bad(v, KafkaRole::consumer);
  EXPECT_EQ(e.variable, "KAFKA_PASSWORD_CONSUMER");
  v["KAFKA_PASSWORD_CONSUMER"] = "pw";
  auto r = load_worker_config(map_env(v), KafkaRole::consumer);
  ASSERT_TRUE(std::holds_alternative<WorkerConfig>(r));
  EXPECT_EQ(std::get<WorkerConfig>(r).kafka.user, "user-consumer");
}

TEST(WorkerConfigDeathTest, ConfigErrorExitsWithCodeTwoAndOneLine) {
  auto v = base();
  v["SYMBOL"] = "btc";
  auto e = load_bad(v);
  EXPECT_EXIT(exit_with_config_error(e), ::testing::ExitedWithCode(2),
              "config error: SYMBOL='btc' is invalid: expected");
}

}  // namespace
}  // namespace sf::config

namespace sf::config {
namespace {

TEST(Redact, MasksUrlPasswordsAndSecretPropertiesOnly) {
  EXPECT_EQ(redact("ARANGO_URL='http://root:hunter2@arango:8529/_db' is invalid"),
            "ARANGO_URL='http://root:***@arango:8529/_db' is invalid");
  EXPECT_EQ(redact("KAFKA_PROPERTIES='linger.ms=5;sasl.password=hunter2;bad' rejected"),
            "KAFKA_PROPERTIES='linger.ms=5;sasl.password=***;bad' rejected");
  EXPECT_EQ(redact("ssl.key.password=p1 client.secret=p2 ARANGO_PASSWORD=p3"),
            "ssl.key.password=*** client.secret=*** ARANGO_PASSWORD=***");
  // Nothing secret: unchanged (a port after a host, an @ outside a URL, ordinary pairs).
  for (const char* plain : {"http://arango:8529/_db", "user@example.com", "linger.ms=5;acks=all",
                            "wss://stream.binance.com:9443/ws"}) {
    EXPECT_EQ(redact(plain), plain);
  }
  EXPECT_TRUE(is_secret_property("sasl.password"));
  EXPECT_FALSE(is_secret_property("sasl.username"));
}

}  // namespace
}  // namespace sf::config

namespace sf::config {
namespace {

TEST(KvList, OneParserForKafkaPropertiesAndWorkerEnv) {
  auto kv = parse_kv_list("linger.ms=5;;acks=all;linger.ms=20;empty=");
  ASSERT_TRUE(kv.has_value());
  EXPECT_EQ(kv->size(), 3u);
  EXPECT_EQ(kv->at("linger.ms"), "20");  // the last one wins
  EXPECT_EQ(kv->at("empty"), "");
  EXPECT_TRUE(parse_kv_list("").value().empty());
  EXPECT_FALSE(parse_kv_list("linger.ms=5;bad").has_value());
  EXPECT_FALSE(parse_kv_list("=v").has_value());
}

}  // namespace
}  // namespace sf::config
