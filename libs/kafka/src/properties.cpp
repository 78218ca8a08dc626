#include "rdkafka_util.h"
#include "sf/config/env.h"
#include "sf/kafka/client.h"
#include "sf/log/log.h"

namespace sf::kafka {

Properties connection_properties(const config::KafkaSettings& s) {
  Properties p;
  p["bootstrap.servers"] = s.bootstrap_servers;
  p["security.protocol"] = s.security_protocol.empty() ? "PLAINTEXT" : s.security_protocol;
  if (!s.sasl_mechanism.empty()) {
    p["sasl.mechanisms"] = s.sasl_mechanism;
    p["sasl.username"] = s.user;
    p["sasl.password"] = s.password.reveal();
  }
  if (!s.ca_path.empty()) p["ssl.ca.location"] = s.ca_path;
  for (const auto& [k, v] : s.extra) p[k] = v;
  return p;
}

namespace detail {

bool is_secret_property(const std::string& name) {
  return config::is_secret_property(name);
}

// librdkafka's log lines go through our logger (syslog levels: <=3 error, 4 warning, 5-6 info).
static void forward_log(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  auto lvl = level <= 3   ? spdlog::level::err
             : level == 4 ? spdlog::level::warn
             : level <= 6 ? spdlog::level::info
                          : spdlog::level::debug;
  sf::log::get().log(lvl, "kafka {}: {}", fac, buf);
}

Result<rd_kafka_conf_t*> make_conf(const Properties& props) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, &forward_log);
  char err[512];
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      const std::string shown = is_secret_property(k) ? "***" : v;
      return make_error("Kafka property " + k + "=" + shown + " rejected: " + err);
    }
  }
  return conf;
}

}  // namespace detail
}  // namespace sf::kafka
