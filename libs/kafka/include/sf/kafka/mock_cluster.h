// MockCluster: librdkafka's in-process mock Kafka cluster (the Kafka wire protocol on loopback
// TCP). Limits on this machine (librdkafka 2.0.2): kernel-chosen ports, no SASL/SSL, about 5 MB
// kept per partition (older batches dropped silently), auto-created topics get 4 partitions, the
// first group join takes ~3 s, no CreateTopics admin call (use create_topic()). Everything lives in
// memory.
#pragma once

#include <memory>
#include <string>

#include "sf/core/result.h"

namespace sf::kafka {

class MockCluster {
 public:
  static Result<std::unique_ptr<MockCluster>> start(int brokers = 1);
  ~MockCluster();

  // "127.0.0.1:port[,...]"
  std::string bootstrap_servers() const;
  Status create_topic(const std::string& name, int partitions);
  // Fault injection: disconnect broker `id` (-1: all) and refuse connections, then allow them
  // again.
  Status set_broker_down(int id = -1);
  Status set_broker_up(int id = -1);
  // Moves a partition's leadership to broker `broker` (ids 1..brokers).
  Status set_partition_leader(const std::string& topic, int partition, int broker);
  // Adds `ms` of round-trip time to broker `id`.
  Status set_rtt(int id, int ms);
  // The next `count` Produce requests (to any broker) are answered with Kafka error `error`
  // (10, MESSAGE_TOO_LARGE: a permanent one, so their records fail their delivery at once).
  Status fail_next_produce_requests(int count, int error = 10);
  // The next `count` Fetch requests to broker `id` are answered with Kafka error `error` for
  // every partition (29, TOPIC_AUTHORIZATION_FAILED: as for a client without Read on the topic).
  Status fail_next_fetches(int id, int count, int error = 29);
  // How many of the errors pushed for broker `id` and Kafka request type `api_key` are left.
  Result<size_t> errors_left(int id, int api_key);

  struct Impl;

 private:
  explicit MockCluster(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sf::kafka
