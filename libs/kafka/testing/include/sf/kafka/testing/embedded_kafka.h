// EmbeddedKafka: a test fixture that starts librdkafka's mock cluster in-process, pre-creates
// topics and reads topics back. For tests and benchmarks only.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "sf/config/worker_config.h"
#include "sf/kafka/client.h"
#include "sf/kafka/mock_cluster.h"

namespace sf::kafka::testing {

class EmbeddedKafka {
 public:
  // Starts the cluster; aborts the test binary if it cannot (nothing else would work).
  explicit EmbeddedKafka(int brokers = 1);

  MockCluster& cluster() { return *cluster_; }
  std::string bootstrap_servers() const { return cluster_->bootstrap_servers(); }
  config::KafkaSettings settings() const;
  void create_topic(const std::string& name, int partitions = 1);

  // Reads `topic` from the beginning until `count` messages arrived or `timeout` passed; with
  // count < 0, until no message arrives for `idle` after the topic's end.
  std::vector<Message> read_topic(const std::string& topic, int count,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(20));

 private:
  std::unique_ptr<MockCluster> cluster_;
};

}  // namespace sf::kafka::testing
