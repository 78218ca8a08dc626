#include "sf/kafka/testing/embedded_kafka.h"

#include <cstdio>
#include <cstdlib>

namespace sf::kafka::testing {

EmbeddedKafka::EmbeddedKafka(int brokers) {
  auto c = MockCluster::start(brokers);
  if (!c) {
    std::fprintf(stderr, "EmbeddedKafka: %s\n", c.error().message.c_str());
    std::abort();
  }
  cluster_ = std::move(c).value();
}

config::KafkaSettings EmbeddedKafka::settings() const {
  config::KafkaSettings s;
  s.bootstrap_servers = bootstrap_servers();
  s.security_protocol = "PLAINTEXT";
  return s;
}

void EmbeddedKafka::create_topic(const std::string& name, int partitions) {
  auto st = cluster_->create_topic(name, partitions);
  if (!st) {
    std::fprintf(stderr, "EmbeddedKafka: %s\n", st.error().message.c_str());
    std::abort();
  }
}

std::vector<Message> EmbeddedKafka::read_topic(const std::string& topic, int count,
                                               std::chrono::milliseconds timeout) {
  std::vector<Message> out;
  ConsumerOptions o;
  o.settings = settings();
  o.client_id = "embedded-kafka-reader";
  auto consumer = Consumer::create(o);
  if (!consumer) return out;
  if (auto st = (*consumer)->assign_from_beginning(topic, timeout); !st) {
    std::fprintf(stderr, "EmbeddedKafka::read_topic: %s\n", st.error().message.c_str());
    return out;
  }
  // Without a count: read up to the end offsets taken now.
  int64_t expected = count;
  if (count < 0) {
    auto parts = (*consumer)->partition_count(topic, timeout);
    expected = 0;
    for (int32_t p = 0; parts && p < *parts; ++p) {
      auto w = (*consumer)->watermarks(topic, p, timeout);
      if (w) expected += w->high - w->low;
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (static_cast<int64_t>(out.size()) < expected &&
         std::chrono::steady_clock::now() < deadline) {
    auto m = (*consumer)->poll(std::chrono::milliseconds(100));
    if (m && *m) out.push_back(std::move(**m));
  }
  return out;
}

}  // namespace sf::kafka::testing
