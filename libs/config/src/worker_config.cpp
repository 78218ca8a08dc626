#include "sf/config/worker_config.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace sf::config {
namespace {

// Thrown only inside this file and turned into a ConfigError at the boundary: config errors are
// start-up errors, never on a hot path.
struct Bad {
  ConfigError error;
};

[[noreturn]] void fail(std::string_view var, std::optional<std::string> value,
                       std::string_view expected) {
  std::string line = "config error: ";
  line += var;
  if (value) {
    line += "='" + *value + "' is invalid: expected ";
  } else {
    line += " is not set: expected ";
  }
  line += expected;
  throw Bad{ConfigError{std::string(var), std::move(line)}};
}

bool all_of(std::string_view s, bool (*pred)(char)) {
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

bool upper_or_digit(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool topic_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

class Reader {
 public:
  explicit Reader(const EnvLookup& env) : env_(env) {}

  std::optional<std::string> get(std::string_view var) const { return env_(var); }

  std::string required(std::string_view var, std::string_view expected) const {
    auto v = env_(var);
    if (!v) fail(var, std::nullopt, expected);
    return *v;
  }

  std::string topic(std::string_view var, std::optional<std::string_view> fallback) const {
    constexpr std::string_view kExpect =
        "a Kafka topic name: 1-249 characters of A-Z a-z 0-9 . _ -";
    auto v = env_(var);
    if (!v && fallback) return std::string(*fallback);
    if (!v) fail(var, std::nullopt, kExpect);
    if (!valid_topic_name(*v)) fail(var, v, kExpect);
    return *v;
  }

  std::string url(std::string_view var, std::string_view fallback,
                  std::initializer_list<std::string_view> schemes) const {
    auto v = env_(var);
    if (!v) return std::string(fallback);
    bool ok = false;
    std::string expect = "a URL starting with ";
    for (auto s : schemes) {
      if (v->rfind(std::string(s) + "://", 0) == 0 && v->size() > s.size() + 3) ok = true;
      expect += std::string(s) + ":// or ";
    }
    expect.resize(expect.size() - 4);
    expect += ", e.g. " + std::string(fallback);
    if (!ok) fail(var, v, expect);
    return *v;
  }

  int integer(std::string_view var, int fallback, int lo, int hi) const {
    auto v = env_(var);
    if (!v) return fallback;
    const bool digits_only =
        !v->empty() && v->size() < 10 && all_of(*v, [](char ch) { return ch >= '0' && ch <= '9'; });
    const int n = digits_only ? std::stoi(*v) : -1;
    if (n < lo || n > hi) {
      fail(var, v, "a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
    }
    return n;
  }

  bool flag(std::string_view var, bool fallback) const {
    auto v = env_(var);
    if (!v) return fallback;
    if (*v == "1" || *v == "true" || *v == "TRUE" || *v == "True" || *v == "yes") return true;
    if (*v == "0" || *v == "false" || *v == "FALSE" || *v == "False" || *v == "no") return false;
    fail(var, v, "true or false (also 1/0, yes/no)");
  }

 private:
  const EnvLookup& env_;
};

std::pair<DataKind, std::string> parse_type(const std::string& type) {
  struct Prefix {
    std::string_view name;
    DataKind kind;
  };
  static constexpr Prefix kinds[] = {{"api_candles", DataKind::api_candles},
                                     {"api_trades", DataKind::api_trades},
                                     {"ws_candles", DataKind::ws_candles},
                                     {"ws_trades", DataKind::ws_trades},
                                     {"ws_trade", DataKind::ws_trades}};
  for (const auto& p : kinds) {
    if (type == p.name) return {p.kind, ""};
    const bool candles = p.kind == DataKind::api_candles || p.kind == DataKind::ws_candles;
    if (candles && type.rfind(std::string(p.name) + "_", 0) == 0) {
      return {p.kind, type.substr(p.name.size() + 1)};
    }
  }
  fail("TYPE", type,
       "one of api_candles_<interval>, api_trades, ws_candles_<interval>, ws_trades (or ws_trade), "
       "e.g. api_candles_1m");
}

std::string interval_list() {
  std::string s;
  for (auto n : records::Interval::names())
    s += std::string(s.empty() ? "" : ", ") + std::string(n);
  return s;
}

}  // namespace

std::string_view to_string(DataKind k) {
  switch (k) {
    case DataKind::api_candles:
      return "api_candles";
    case DataKind::api_trades:
      return "api_trades";
    case DataKind::ws_candles:
      return "ws_candles";
    case DataKind::ws_trades:
      return "ws_trades";
    case DataKind::analytics:
      return "analytics";
  }
  return "?";
}

bool is_live(DataKind k) {
  return k == DataKind::ws_candles || k == DataKind::ws_trades;
}
bool has_candles(DataKind k) {
  return k == DataKind::api_candles || k == DataKind::ws_candles;
}

bool valid_symbol(std::string_view s) {
  return s.size() >= 2 && s.size() <= 20 && all_of(s, upper_or_digit);
}

bool valid_topic_name(std::string_view s) {
  return !s.empty() && s.size() <= 249 && all_of(s, topic_char) && s != "." && s != "..";
}

static KafkaSettings read_kafka(const Reader& r, KafkaRole role) {
  KafkaSettings k;
  k.bootstrap_servers = r.required("KAFKA_BOOTSTRAP_SERVERS",
                                   "a comma-separated list of host:port, e.g. localhost:9092");
  {
    size_t start = 0;
    const std::string& b = k.bootstrap_servers;
    while (start <= b.size()) {
      size_t comma = b.find(',', start);
      std::string item =
          b.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      const size_t colon = item.rfind(':');
      const std::string port = colon == std::string::npos ? "" : item.substr(colon + 1);
      if (colon == 0 || colon == std::string::npos || port.empty() || port.size() > 5 ||
          !all_of(port, [](char c) { return c >= '0' && c <= '9'; }) || std::stoi(port) > 65535) {
        fail("KAFKA_BOOTSTRAP_SERVERS", b,
             "a comma-separated list of host:port, e.g. localhost:9092");
      }
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  const char* user_var =
      role == KafkaRole::producer ? "KAFKA_USER_PRODUCER" : "KAFKA_USER_CONSUMER";
  const char* pass_var =
      role == KafkaRole::producer ? "KAFKA_PASSWORD_PRODUCER" : "KAFKA_PASSWORD_CONSUMER";
  k.user = r.get(user_var).value_or("");
  if (!k.user.empty()) {
    auto pw = r.get(pass_var);
    if (!pw) {
      fail(pass_var, std::nullopt,
           std::string("the SCRAM password of ") + user_var +
               " (set both, or neither for PLAINTEXT)");
    }
    k.password = Secret(*pw);
  }
  k.ca_path = r.get("CA_PATH").value_or("");
  if (!k.ca_path.empty() && !std::filesystem::is_regular_file(k.ca_path)) {
    fail("CA_PATH", k.ca_path, "the path of a readable PEM CA certificate file");
  }
  k.security_protocol =
      r.get("KAFKA_SECURITY_PROTOCOL").value_or(k.user.empty() ? "PLAINTEXT" : "SASL_SSL");
  if (k.security_protocol != "PLAINTEXT" && k.security_protocol != "SSL" &&
      k.security_protocol != "SASL_PLAINTEXT" && k.security_protocol != "SASL_SSL") {
    fail("KAFKA_SECURITY_PROTOCOL", k.security_protocol,
         "one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL");
  }
  const bool sasl = k.security_protocol.rfind("SASL_", 0) == 0;
  if (sasl) {
    k.sasl_mechanism = r.get("KAFKA_SASL_MECHANISM").value_or("SCRAM-SHA-512");
    if (k.sasl_mechanism != "PLAIN" && k.sasl_mechanism != "SCRAM-SHA-256" &&
        k.sasl_mechanism != "SCRAM-SHA-512") {
      fail("KAFKA_SASL_MECHANISM", k.sasl_mechanism, "one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512");
    }
    if (k.user.empty()) {
      fail(user_var, std::nullopt,
           "a Kafka user, because KAFKA_SECURITY_PROTOCOL=" + k.security_protocol + " uses SASL");
    }
  }
  if (auto props = r.get("KAFKA_PROPERTIES")) {
    auto kv = parse_kv_list(*props);
    if (!kv) {
      fail("KAFKA_PROPERTIES", *props,
           "librdkafka properties as key=value separated by ';', e.g. "
           "linger.ms=20;batch.size=1000000");
    }
    for (auto& [key, value] : *kv) k.extra[key] = value;
  }
  return k;
}

std::variant<KafkaSettings, ConfigError> load_kafka_settings(const EnvLookup& env, KafkaRole role) {
  try {
    return read_kafka(Reader(env), role);
  } catch (const Bad& b) {
    return b.error;
  }
}

namespace {
std::variant<WorkerConfig, ConfigError> load_config(const EnvLookup& env, KafkaRole role,
                                                    const std::vector<std::string>* analytics);
}  // namespace

std::variant<WorkerConfig, ConfigError> load_worker_config(const EnvLookup& env, KafkaRole role) {
  return load_config(env, role, nullptr);
}

std::variant<WorkerConfig, ConfigError> load_analytics_config(
    const EnvLookup& env, const std::vector<std::string>& types) {
  return load_config(env, KafkaRole::consumer, &types);
}

namespace {
std::variant<WorkerConfig, ConfigError> load_config(const EnvLookup& env, KafkaRole role,
                                                    const std::vector<std::string>* analytics) {
  try {
    Reader r(env);
    WorkerConfig c;
    c.queue_id = r.required("QUEUE_ID", "the workflow id, e.g. wf-bulk-load-20240801-a1b2c3");
    if (c.queue_id.size() > 200 || !all_of(c.queue_id, topic_char)) {
      fail("QUEUE_ID", c.queue_id,
           "1-200 characters of a-z A-Z 0-9 . _ -, e.g. wf-bulk-load-20240801-a1b2c3");
    }
    c.symbol = r.required("SYMBOL", "a Binance symbol of 2-20 characters A-Z 0-9, e.g. BTCUSDT");
    if (!valid_symbol(c.symbol)) {
      fail("SYMBOL", c.symbol,
           "a Binance symbol of 2-20 characters A-Z 0-9 (upper case), e.g. BTCUSDT");
    }
    c.type = r.required(
        "TYPE", "one of api_candles_<interval>, api_trades, ws_candles_<interval>, ws_trades");
    std::pair<DataKind, std::string> parsed_type{DataKind::analytics, ""};
    if (analytics) {
      if (std::find(analytics->begin(), analytics->end(), c.type) == analytics->end()) {
        std::string names;
        for (const auto& t : *analytics) names += (names.empty() ? "" : " or ") + t;
        fail("TYPE", c.type, names);
      }
    } else {
      parsed_type = parse_type(c.type);
    }
    auto [kind, type_interval] = parsed_type;
    c.kind = kind;
    const auto interval_env = r.get("INTERVAL");
    const std::string expect_interval = "a Binance interval: " + interval_list();
    if (!type_interval.empty() && !records::Interval::parse(type_interval)) {
      fail("TYPE", c.type,
           "a known interval after the type, one of " + interval_list() + " (e.g. api_candles_1m)");
    }
    if (interval_env && !records::Interval::parse(*interval_env))
      fail("INTERVAL", interval_env, expect_interval);
    if (has_candles(kind)) {
      if (!type_interval.empty() && interval_env && *interval_env != type_interval) {
        fail("INTERVAL", interval_env,
             "nothing, or the interval TYPE already names (" + type_interval + "): TYPE=" + c.type +
                 " and INTERVAL disagree");
      }
      const std::string name = type_interval.empty() ? interval_env.value_or("") : type_interval;
      if (name.empty()) {
        fail("INTERVAL", std::nullopt,
             expect_interval + " (TYPE=" + c.type + " names none; or use e.g. " + c.type + "_1m)");
      }
      c.interval = records::Interval::parse(name);
    } else if (interval_env) {
      c.interval = records::Interval::parse(*interval_env);
    }
    if (auto tr = r.get("TIME_RANGE")) {
      auto parsed = records::TimeRange::parse(*tr);
      if (!parsed) {
        fail("TIME_RANGE", tr,
             "YYYY-MM-DD:YYYY-MM-DD (UTC, both days inclusive, earlier day first); " +
                 parsed.error().message);
      }
      c.time_range = *parsed;
    } else if (!is_live(kind) && kind != DataKind::analytics) {
      fail("TIME_RANGE", std::nullopt,
           "YYYY-MM-DD:YYYY-MM-DD (UTC, both days inclusive) for TYPE=" + c.type);
    }
    const std::string own_topic = c.queue_id + "-" + c.type;  // analytics publish no data
    c.kafka_topic = r.topic("KAFKA_TOPIC",
                            analytics ? std::optional<std::string_view>(own_topic) : std::nullopt);
    c.producer_id =
        r.required("TELEMETRY_PRODUCER_ID", "this instance's id, e.g. loader-producer__a1b2c3");
    c.kafka = read_kafka(r, role);
    c.control_topic = r.topic("QUEUE_CONTROL_TOPIC", "queue-control");
    c.events_topic = r.topic("QUEUE_EVENTS_TOPIC", "queue-events");
    if (auto v = r.get("QUEUE_CREATED_AT")) {
      // Unix milliseconds from 2017 (Binance's first day) to 2100.
      char* end = nullptr;
      errno = 0;
      const long long ms = std::strtoll(v->c_str(), &end, 10);
      if (end == v->c_str() || *end != '\0' || errno != 0 || ms < 1'483'228'800'000LL ||
          ms > 4'102'444'800'000LL) {
        fail("QUEUE_CREATED_AT", v,
             "the queue's creation time in Unix milliseconds (the manager sets it), e.g. "
             "1717200000000");
      }
      c.queue_created_at_ms = ms;
    }
    c.binance_api_url = r.url("BINANCE_API_URL", "https://api.binance.com", {"http", "https"});
    c.binance_ws_url = r.url("BINANCE_WS_URL", "wss://stream.binance.com:9443/ws", {"ws", "wss"});
    c.binance_api_key = r.get("BINANCE_API_KEY").value_or("");
    c.binance_api_secret = Secret(r.get("BINANCE_API_SECRET").value_or(""));
    if (auto ti = r.get("TELEMETRY_INTERVAL")) {
      char* end = nullptr;
      const double secs = std::strtod(ti->c_str(), &end);
      if (end == ti->c_str() || *end != '\0' || !(secs >= 0.1 && secs <= 3600)) {
        fail("TELEMETRY_INTERVAL", ti, "seconds between loading events, 0.1 to 3600, e.g. 5");
      }
      c.telemetry_interval = std::chrono::milliseconds(static_cast<int64_t>(secs * 1000));
    }
    c.debug = r.flag("DEBUG", false);
    if (auto v = r.get("BINANCE_WEIGHT_SHARE")) {
      char* end = nullptr;
      const double share = std::strtod(v->c_str(), &end);
      if (end == v->c_str() || *end != '\0' || !(share >= 0.05 && share <= 1.0)) {
        fail("BINANCE_WEIGHT_SHARE", v,
             "a share of Binance's weight limit between 0.05 and 1, e.g. 0.8");
      }
      c.binance_weight_share = share;
    }
    c.binance_max_attempts = r.integer("BINANCE_MAX_ATTEMPTS", 8, 1, 100);
    c.binance_parallel_pages = r.integer("BINANCE_PARALLEL_PAGES", 4, 1, 16);
    c.binance_vision_url =
        r.url("BINANCE_VISION_URL", "https://data.binance.vision", {"http", "https"});
    if (auto v = r.get("BINANCE_HISTORY_SOURCE")) {
      if (*v != "auto" && *v != "archive" && *v != "rest") {
        fail("BINANCE_HISTORY_SOURCE", v,
             "auto (the archive where it has the data, REST for the rest), archive or rest");
      }
      c.history_source = *v;
    }
    return c;
  } catch (const Bad& b) {
    return b.error;
  }
}
}  // namespace

}  // namespace sf::config
