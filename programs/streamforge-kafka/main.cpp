// streamforge-kafka: the embedded Kafka for one machine: librdkafka's mock cluster (the Kafka wire
// protocol on loopback; in memory; ~5 MB kept per partition; no SASL/SSL). Prints its bootstrap
// list on stdout and writes it to --bootstrap-file, pre-creates topics, runs until SIGTERM/SIGINT.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>

#include "sf/kafka/mock_cluster.h"
#include "sf/log/log.h"

int main(int argc, char** argv) {
  CLI::App app{"streamforge-kafka: embedded Kafka (librdkafka mock cluster)"};
  int brokers = 1;
  std::vector<std::string> topics;
  std::string bootstrap_file;
  app.add_option("--brokers", brokers, "number of brokers")->check(CLI::Range(1, 9));
  app.add_option("--topic", topics, "topic to create, NAME or NAME:PARTITIONS (repeatable)");
  app.add_option("--bootstrap-file", bootstrap_file, "write the bootstrap list to this file");
  CLI11_PARSE(app, argc, argv);
  sf::log::init(sf::log::options_from_env("streamforge-kafka", sf::config::process_env()));

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before the cluster's threads start

  auto cluster = sf::kafka::MockCluster::start(brokers);
  if (!cluster) {
    std::fprintf(stderr, "streamforge-kafka: %s\n", cluster.error().message.c_str());
    return 1;
  }
  for (const auto& spec : topics) {
    const size_t colon = spec.find(':');
    const std::string name = spec.substr(0, colon);
    int partitions = 1;
    if (colon != std::string::npos) {
      try {
        partitions = std::stoi(spec.substr(colon + 1));
      } catch (...) {
        partitions = 0;
      }
    }
    if (name.empty() || partitions < 1) {
      std::fprintf(stderr,
                   "streamforge-kafka: --topic '%s' is invalid: expected NAME or NAME:PARTITIONS\n",
                   spec.c_str());
      return 2;
    }
    if (auto st = (*cluster)->create_topic(name, partitions); !st) {
      std::fprintf(stderr, "streamforge-kafka: %s\n", st.error().message.c_str());
      return 1;
    }
  }
  const std::string bootstrap = (*cluster)->bootstrap_servers();
  if (!bootstrap_file.empty()) {
    const std::string tmp = bootstrap_file + ".tmp";
    std::ofstream(tmp) << bootstrap << "\n";
    std::rename(tmp.c_str(), bootstrap_file.c_str());  // readers never see half a file
  }
  std::printf("KAFKA_BOOTSTRAP_SERVERS=%s\n", bootstrap.c_str());
  std::fflush(stdout);
  sf::log::get().info(
      "embedded Kafka on {} ({} topics pre-created); in memory, ~5 MB per partition", bootstrap,
      topics.size());
  int sig = 0;
  sigwait(&set, &sig);
  sf::log::get().info("stopping on signal {}", sig);
  if (!bootstrap_file.empty()) std::remove(bootstrap_file.c_str());
  return 0;
}
