// The supervisor: what the launcher says about jobs (deaths), the stop grace, and the jobs a
// restarted manager finds. A job that exits gets `death_grace` for its final event to arrive
// through Kafka; without one it is `error` ("ended without a final event"), or `interrupted` when
// its queue was being stopped. A queue whose stop is `stop_grace` old has what still runs ended by
// the launcher. Time is the Clock's: tests drive it by hand. Callers of `forget` hold book.mu;
// recover() and tick() take it.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "queue_book.h"
#include "scheduler.h"
#include "sf/core/clock.h"
#include "sf/manager/launcher.h"

namespace sf::manager {

struct SupervisorTimes {
  std::chrono::milliseconds death_grace{3'000};
  std::chrono::milliseconds stop_grace{30'000};
};

class Supervisor {
 public:
  Supervisor(QueueBook& book, Scheduler& scheduler, Launcher& launcher,
             std::shared_ptr<Clock> clock, SupervisorTimes times);

  // At start-up: jobs that were running when the manager stopped and are not running now get
  // (at least 10 s of) death grace for a final event the dispatcher is about to read. Runs on the
  // supervisor's thread once the API listens: /health/startup reports its progress.
  void recover();
  bool recovered() const { return recovered_.load(); }
  // Jobs of the earlier run asked about so far, and how many there are.
  int64_t checked() const { return checked_.load(); }
  int64_t to_check() const { return to_check_.load(); }
  // One round: reap, end the jobs dead past their grace, end stops past their grace, launch
  // what became ready; then store.
  void tick();
  // The job's final event came: its death needs no verdict.
  void forget(const std::string& job_name) { deaths_.erase(job_name); }
  size_t awaiting_verdict() const { return deaths_.size(); }

 private:
  struct Death {
    std::chrono::steady_clock::time_point deadline;
    bool failed;
    std::string detail;
  };
  QueueBook& book_;
  Scheduler& scheduler_;
  Launcher& launcher_;
  std::shared_ptr<Clock> clock_;
  SupervisorTimes times_;
  std::map<std::string, Death> deaths_;  // job_name -> how it ended, awaiting its final event
  std::atomic<bool> recovered_{false};
  std::atomic<int64_t> checked_{0}, to_check_{-1};
};

}  // namespace sf::manager
