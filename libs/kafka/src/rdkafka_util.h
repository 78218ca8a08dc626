// Private helpers shared by the librdkafka-backed classes.
#pragma once

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>

#include "sf/core/result.h"
#include "sf/kafka/client.h"

namespace sf::kafka::detail {

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaDeleter>;

// Builds an rd_kafka_conf_t from `props`; on an unknown property or bad value, an Error that names
// it.
Result<rd_kafka_conf_t*> make_conf(const Properties& props);

// Property values that must not appear in an error message.
bool is_secret_property(const std::string& name);

}  // namespace sf::kafka::detail
