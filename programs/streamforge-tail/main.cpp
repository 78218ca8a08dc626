// streamforge-tail: prints what a topic holds, from the beginning: every message (--all), or a
// summary (count, first and last messages). For make run and for people poking at the embedded
// Kafka.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "sf/kafka/client.h"
#include "sf/log/log.h"

int main(int argc, char** argv) {
  CLI::App app{"streamforge-tail: read a Kafka topic from the beginning"};
  std::string bootstrap, topic;
  bool all = false;
  int idle_ms = 2000;
  app.add_option("--bootstrap", bootstrap, "Kafka bootstrap servers")->required();
  app.add_option("--topic", topic, "topic to read")->required();
  app.add_flag("--all", all, "print every message, not a summary");
  app.add_option("--idle-ms", idle_ms, "stop after this long without a message");
  CLI11_PARSE(app, argc, argv);
  sf::log::init(sf::log::options_from_env("streamforge-tail", sf::config::process_env()));

  sf::kafka::ConsumerOptions o;
  o.settings.bootstrap_servers = bootstrap;
  o.settings.security_protocol = "PLAINTEXT";
  o.client_id = "streamforge-tail";
  auto consumer = sf::kafka::Consumer::create(o);
  if (!consumer) {
    std::fprintf(stderr, "streamforge-tail: %s\n", consumer.error().message.c_str());
    return 1;
  }
  if (auto st = (*consumer)->assign_from_beginning(topic, std::chrono::seconds(10)); !st) {
    std::fprintf(stderr, "streamforge-tail: %s\n", st.error().message.c_str());
    return 1;
  }
  int64_t count = 0;
  std::string first, last;
  auto idle_since = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - idle_since < std::chrono::milliseconds(idle_ms)) {
    auto m = (*consumer)->poll(std::chrono::milliseconds(100));
    if (!m) {
      std::fprintf(stderr, "streamforge-tail: %s\n", m.error().message.c_str());
      continue;
    }
    if (!*m) continue;
    idle_since = std::chrono::steady_clock::now();
    ++count;
    if (all) std::printf("%s\n", (*m)->value.c_str());
    if (count == 1) first = (*m)->value;
    last = (*m)->value;
  }
  if (!all) {
    std::printf("%s: %lld messages\n", topic.c_str(), static_cast<long long>(count));
    if (count > 0) std::printf("  first: %s\n", first.c_str());
    if (count > 1) std::printf("  last:  %s\n", last.c_str());
  }
  return 0;
}
