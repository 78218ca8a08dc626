// Raw producer ceiling into the embedded (mock) Kafka: 200-byte records, msgs/s from the first send
// to the last acknowledgement. Our settings (idempotent, acks=all, lz4, batched) beside a plain
// configuration (acks=1, no idempotence, no compression) through the same class, in the same run.
#include <chrono>
#include <cstdio>
#include <string>

#include "sf/kafka/client.h"
#include "sf/kafka/mock_cluster.h"

namespace {

double run(const std::string& bootstrap, const std::string& topic, int n,
           const sf::kafka::Properties& props) {
  sf::kafka::ProducerOptions o;
  o.settings.bootstrap_servers = bootstrap;
  o.settings.security_protocol = "PLAINTEXT";
  o.properties = props;
  auto p = sf::kafka::Producer::create(o);
  if (!p) {
    std::fprintf(stderr, "%s\n", p.error().message.c_str());
    return 0;
  }
  std::string value(200, 'x');
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    value.replace(0, 10, std::to_string(1'000'000'000 + i));
    if (!(*p)->send(topic, "BTCUSDT", value, i)) return 0;
  }
  if (!(*p)->flush(std::chrono::seconds(120))) return 0;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return (*p)->delivered() / secs;
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 300'000;
  auto cluster = sf::kafka::MockCluster::start(1);
  if (!cluster) return 1;
  (void)(*cluster)->create_topic("a", 1);
  (void)(*cluster)->create_topic("b", 1);
  const std::string bs = (*cluster)->bootstrap_servers();
  const double plain = run(
      bs, "a", n, {{"enable.idempotence", "false"}, {"acks", "1"}, {"compression.type", "none"}});
  const double ours = run(bs, "b", n, {});
  std::printf("producer: %d records of 200 bytes into the mock cluster (1 partition)\n", n);
  std::printf("%-44s %12s %10s\n", "configuration", "msgs/s", "MB/s");
  std::printf("%-44s %12.0f %10.1f\n", "baseline: acks=1, no idempotence, no compr.", plain,
              plain * 200 / 1e6);
  std::printf("%-44s %12.0f %10.1f\n", "ours: idempotent, acks=all, lz4, batched", ours,
              ours * 200 / 1e6);
  std::printf("ratio ours/baseline: %.3f\n", plain > 0 ? ours / plain : 0.0);
  return ours > 0 ? 0 : 1;
}
