// A queue's dependency graph -> launches. A pending job starts once every collection it waits
// for is completed by a finished job; it fails without launching when such an input ended
// otherwise; a queue asked to stop launches nothing more. Callers hold the book's lock.
#pragma once

#include <functional>
#include <memory>

#include "sf/core/clock.h"
#include "sf/manager/launcher.h"
#include "sf/manager/metrics.h"
#include "sf/manager/state.h"

namespace sf::manager {

class Scheduler {
 public:
  using SpecFor = std::function<LaunchSpec(const QueueState&, const JobState&)>;
  Scheduler(Launcher& launcher, Metrics& metrics, SpecFor spec_for, std::shared_ptr<Clock> clock);

  // Starts the pending jobs of `q` whose inputs are complete and fails those whose inputs never
  // will be; a launch the launcher refuses makes the job `error`. True if any job changed.
  bool schedule(QueueState& q);
  // A job of `q` said `finished` after the manager had ended it (review #15): the jobs failed
  // for want of its output are pending again and get their turn.
  void input_finished_late(QueueState& q);
  // Counts a job's end (jobs_finished_total, jobs_failed_total).
  void count_end(const JobState& j);

 private:
  void launch(QueueState& q, JobState& j);
  std::string now_iso() const;

  Launcher& launcher_;
  Metrics& metrics_;
  SpecFor spec_for_;
  std::shared_ptr<Clock> clock_;
};

}  // namespace sf::manager
