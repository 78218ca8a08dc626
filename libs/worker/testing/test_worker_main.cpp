// A worker for the runtime's process-level tests: publishes one record every 2 ms (tag = a
// timestamp) until stopped or until TEST_RECORDS records were sent. Reads the worker contract's
// env.
#include <cstdlib>
#include <string>

#include "sf/config/worker_config.h"
#include "sf/log/log.h"
#include "sf/worker/runtime.h"

int main() {
  auto env = sf::config::process_env();
  sf::log::init(sf::log::options_from_env("test-worker", env));
  auto loaded = sf::config::load_worker_config(env);
  if (auto* e = std::get_if<sf::config::ConfigError>(&loaded))
    sf::config::exit_with_config_error(*e);
  const auto& cfg = std::get<sf::config::WorkerConfig>(loaded);
  const long limit = std::atol(env("TEST_RECORDS").value_or("1000000").c_str());
  return sf::worker::run_worker(cfg, [&](sf::worker::WorkerContext& ctx) -> sf::Status {
    for (long i = 0; i < limit && !ctx.stop.stop_requested(); ++i) {
      auto st = ctx.producer.send(cfg.kafka_topic, cfg.symbol, "{\"n\":" + std::to_string(i) + "}",
                                  1'700'000'000'000 + i);
      if (!st) return st;
      ctx.stop.wait_for(std::chrono::milliseconds(2));
    }
    return sf::ok_status();
  });
}
