// Runs one of our programs as a child process to its end: exit code, wall time, CPU time and peak
// RSS (VmHWM sampled every 5 ms). For the benchmark programs.
#pragma once

#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>

#include "bench_util.h"
#include "sf/process/child.h"

namespace sf::bench {

struct ChildRun {
  double seconds = 0;
  long peak_kib = 0;
  int code = -1;
  // User + system CPU of the child (its threads included): on a shared machine a steadier
  // figure than the wall time. The growth of this process's reaped children's times over the
  // run, so children must not be run at once.
  double cpu_seconds = 0;
};

inline double children_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

inline ChildRun run_child(const std::string& program, const std::map<std::string, std::string>& env,
                          const std::string& log) {
  sf::process::SpawnOptions o;
  o.path = std::string(SF_BIN_DIR) + "/" + program;
  o.env = env;
  // BENCH_PERF=FILE: the child runs under `perf record -g -o FILE.<program>` (for profiling;
  // the figures of such a run are not comparable).
  if (const char* perf = std::getenv("BENCH_PERF")) {
    o.args = {"record", "-g", "-o", std::string(perf) + "." + program, "--", o.path};
    o.path = "/usr/bin/perf";
  }
  o.log_file = log;
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = children_cpu_seconds();
  auto c = sf::process::Child::spawn(o).value();
  ChildRun r;
  for (;;) {
    r.peak_kib = std::max(r.peak_kib, vm_hwm_kib(c->pid()));
    if (auto s = c->exit_status()) {
      r.code = s->signaled ? 128 + s->signal : s->code;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.cpu_seconds = children_cpu_seconds() - cpu0;
  return r;
}

}  // namespace sf::bench
