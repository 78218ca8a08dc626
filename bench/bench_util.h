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

// A field of /proc/<pid>/status in KiB (0 once the process has exited).
inline long proc_status_kib(pid_t pid, const char* field) {
  std::FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/status").c_str(), "r");
  long v = 0;
  if (f) {
    char line[256];
    const size_t n = std::strlen(field);
    while (std::fgets(line, sizeof line, f)) {
      if (std::strncmp(line, field, n) == 0 && line[n] == ':') v = std::atol(line + n + 1);
    }
    std::fclose(f);
  }
  return v;
}

// VmHWM (peak) and VmRSS (now) of a running process. getrusage's ru_maxrss would include the
// parent's memory, which posix_spawn's vfork child shares before exec.
inline long vm_hwm_kib(pid_t pid) {
  return proc_status_kib(pid, "VmHWM");
}
inline long vm_rss_kib(pid_t pid) {
  return proc_status_kib(pid, "VmRSS");
}

}  // namespace sf::bench
