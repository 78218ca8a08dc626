// Helpers shared by the benchmark programs.
#pragma once

#include <sys/types.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "sf/kafka/client.h"

namespace sf::bench {

// Raw producer ceiling: `n` copies of `value` into `topic` of the cluster at `bootstrap`, msgs/s
// from the first send to the last acknowledgement, with our producer defaults.
inline double producer_ceiling(const std::string& bootstrap, const std::string& topic, int n,
                               const std::string& value) {
  sf::kafka::ProducerOptions o;
  o.settings.bootstrap_servers = bootstrap;
  o.settings.security_protocol = "PLAINTEXT";
  auto p = sf::kafka::Producer::create(o).value();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) (void)p->send(topic, "BENCHUSDT", value, i);
  (void)p->flush(std::chrono::seconds(300));
  return p->delivered() /
         std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// VmHWM of a running process in KiB (0 once it has exited). getrusage's ru_maxrss would include
// the parent's memory, which posix_spawn's vfork child shares before exec.
inline long vm_hwm_kib(pid_t pid) {
  std::FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/status").c_str(), "r");
  long v = 0;
  if (f) {
    char line[256];
    while (std::fgets(line, sizeof line, f)) {
      if (std::strncmp(line, "VmHWM:", 6) == 0) v = std::atol(line + 6);
    }
    std::fclose(f);
  }
  return v;
}

}  // namespace sf::bench
