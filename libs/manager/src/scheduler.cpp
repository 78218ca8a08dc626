#include "scheduler.h"

#include <algorithm>

#include "sf/log/log.h"
#include "sf/records/time_range.h"

namespace sf::manager {

Scheduler::Scheduler(Launcher& launcher, Metrics& metrics, SpecFor spec_for,
                     std::shared_ptr<Clock> clock)
    : launcher_(launcher),
      metrics_(metrics),
      spec_for_(std::move(spec_for)),
      clock_(std::move(clock)) {}

std::string Scheduler::now_iso() const {
  return records::format_utc(clock_->now_ms());
}

void Scheduler::count_end(const JobState& j) {
  metrics_.inc("streamforge_jobs_finished_total",
               {{"target", j.plan.target}, {"status", j.status}});
  if (j.status == "error")
    metrics_.inc("streamforge_jobs_failed_total", {{"target", j.plan.target}});
}

void Scheduler::launch(QueueState& q, JobState& j) {
  auto& lg = log::get();
  auto r = launcher_.launch(spec_for_(q, j));
  if (!r) {
    j.status = "error";
    j.error_message = "could not launch: " + r.error().message;
    j.finished_at = now_iso();
    lg.error("queue {}: {} {}: {}", q.id, j.plan.target, j.plan.type, j.error_message);
    count_end(j);
    return;
  }
  j.status = "launched";
  j.log = r->where;
  j.pid = r->pid;
  j.pid_start = r->pid_start;
  metrics_.inc("streamforge_jobs_started_total", {{"target", j.plan.target}});
  lg.info("queue {}: launched {} ({} {}) -> {}", q.id, j.plan.job_name, j.plan.target, j.plan.type,
          j.log);
}

bool Scheduler::schedule(QueueState& q) {
  if (q.stop_requested) return false;
  bool changed = false;
  for (auto& j : q.jobs) {
    if (j.status != "pending") continue;
    bool ready = true;
    std::string broken;
    for (const auto& c : j.plan.waits_for) {
      for (const auto& other : q.jobs) {
        if (std::find(other.plan.completes.begin(), other.plan.completes.end(), c) ==
            other.plan.completes.end())
          continue;
        if (other.status == "finished") continue;
        ready = false;
        if (is_terminal(other.status)) {
          broken = "its input " + c + " was not completed (" + other.plan.job_name + " ended " +
                   other.status + ")";
        }
      }
    }
    if (!broken.empty()) {
      j.status = "error";
      j.error_message = broken;
      j.ended_by_manager = true;
      j.finished_at = now_iso();
      count_end(j);
      changed = true;
    } else if (ready) {
      launch(q, j);
      changed = true;
    }
  }
  return changed;
}

void Scheduler::input_finished_late(QueueState& q) {
  if (q.stop_requested) return;  // a queue being stopped starts nothing again
  for (auto& other : q.jobs) {
    if (other.ended_by_manager && other.status == "error" && other.log.empty()) {
      other.status = "pending";
      other.ended_by_manager = false;
      other.error_message.clear();
      other.finished_at.clear();
    }
  }
  schedule(q);
}

}  // namespace sf::manager
