// Child: one child process started with posix_spawn, in a process group of its own (so a signal
// to the group reaches anything it starts), with an exact environment and its stdout and stderr
// appended to a log file. The owner reaps it: exit_status() polls, wait() blocks, and the
// destructor kills and reaps a child still running, so none is left behind as a zombie or orphan.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sf/core/result.h"

namespace sf::process {

struct SpawnOptions {
  std::string path;                        // executable
  std::vector<std::string> args;           // argv[1..]
  std::map<std::string, std::string> env;  // the whole environment of the child
  std::string log_file;                    // stdout + stderr appended here; empty: /dev/null
  bool inherit_env = false;                // start from this process's environment
};

// How a child ended: exit code, or the signal that killed it.
struct ExitStatus {
  int code = 0;    // valid when !signaled
  int signal = 0;  // valid when signaled
  bool signaled = false;
  std::string describe() const;  // "exit code 2", "killed by signal 9 (SIGKILL)"
};

class Child {
 public:
  static Result<std::unique_ptr<Child>> spawn(const SpawnOptions& options);
  ~Child();  // SIGKILL to the group and reap, if still running
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  // When the process started (clock ticks since boot, /proc/<pid>/stat field 22): with the pid it
  // names one process for good, where a pid alone is reused once that process is gone.
  static int64_t start_ticks(pid_t pid);
  // That process (pid and start time) still runs: it exists, is not a zombie, and started then.
  // For processes that are not this one's children (a job from a manager's earlier run).
  static bool running(pid_t pid, int64_t start_ticks);
  // The exit status if it has ended (reaping it), nothing while it runs.
  std::optional<ExitStatus> exit_status();
  // Waits up to `timeout`; the status if it ended.
  std::optional<ExitStatus> wait(std::chrono::milliseconds timeout);
  // Sends `sig` to the child's process group (the child and what it started).
  void signal(int sig);
  // SIGTERM, up to `grace` for it to end, then SIGKILL; returns how it ended.
  ExitStatus terminate(std::chrono::milliseconds grace);

 private:
  explicit Child(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  std::optional<ExitStatus> status_;
};

}  // namespace sf::process
