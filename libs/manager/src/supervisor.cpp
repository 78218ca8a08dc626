#include "supervisor.h"

#include <set>

#include "sf/log/log.h"
#include "sf/records/time_range.h"

namespace sf::manager {

using std::chrono::milliseconds;

Supervisor::Supervisor(QueueBook& book, Scheduler& scheduler, Launcher& launcher,
                       std::shared_ptr<Clock> clock, SupervisorTimes times)
    : book_(book),
      scheduler_(scheduler),
      launcher_(launcher),
      clock_(std::move(clock)),
      times_(times) {}

void Supervisor::recover() {
  // The jobs to ask about, then the launcher asked without the book's lock (Kubernetes: one GET
  // per job), so the API answers meanwhile.
  struct Check {
    std::string job;
    int64_t pid, pid_start;
  };
  std::vector<Check> checks;
  {
    std::lock_guard lock(book_.mu);
    for (const auto& id : book_.active()) {
      const QueueState* q = book_.resident(id);
      if (!q) continue;
      for (const auto& j : q->jobs) {
        if (job_rank(j.status) < 1 || is_terminal(j.status)) continue;
        checks.push_back({j.plan.job_name, j.pid, j.pid_start});
      }
    }
  }
  to_check_ = static_cast<int64_t>(checks.size());
  std::vector<std::string> gone;
  for (const auto& c : checks) {
    auto alive = launcher_.alive(c.job, c.pid, c.pid_start);
    if (alive && !*alive) gone.push_back(c.job);
    ++checked_;
  }
  std::lock_guard lock(book_.mu);
  const auto now = clock_->steady_now();
  for (const auto& job : gone) {
    deaths_[job] = {now + std::max(times_.death_grace, milliseconds(10'000)), true,
                    "it was not running when the manager restarted"};
  }
  recovered_ = true;
}

void Supervisor::tick() {
  auto ended = launcher_.reap();
  const auto now = clock_->steady_now();
  auto& lg = log::get();
  std::lock_guard lock(book_.mu);
  for (auto& e : ended) {
    auto ref = book_.by_job_name(e.job_name);
    const QueueState* q = ref ? book_.resident(ref->queue_id) : nullptr;
    if (!q || is_terminal(q->jobs.at(ref->job).status)) continue;
    // Its final event may still be on its way through Kafka: give it death_grace.
    deaths_[e.job_name] = {now + times_.death_grace, e.failed, e.detail};
  }
  std::set<std::string> touched;
  for (auto it = deaths_.begin(); it != deaths_.end();) {
    if (now < it->second.deadline) {
      ++it;
      continue;
    }
    auto ref = book_.by_job_name(it->first);
    QueueState* q = ref ? book_.resident(ref->queue_id) : nullptr;
    if (q && !is_terminal(q->jobs.at(ref->job).status)) {
      auto& j = q->jobs.at(ref->job);
      if (q->stop_requested) {
        j.status = "interrupted";
        j.message = "ended by the stop (" + it->second.detail + ")";
      } else {
        j.status = "error";
        j.error_message = "ended without a final event: " + it->second.detail;
      }
      j.ended_by_manager = true;
      j.finished_at = records::format_utc(clock_->now_ms());
      scheduler_.count_end(j);
      lg.warn("queue {}: {} {}", q->id, j.plan.job_name,
              j.status == "error" ? j.error_message : j.message);
      touched.insert(q->id);
    }
    it = deaths_.erase(it);
  }
  // Stops past their grace: end what is still running.
  const int64_t now_ms = clock_->now_ms();
  for (const auto& id : book_.active()) {
    QueueState* q = book_.resident(id);
    if (!q || !q->stop_requested || q->status == "interrupted") continue;
    if (now_ms - q->stop_requested_at_ms < times_.stop_grace.count()) continue;
    for (auto& j : q->jobs) {
      if (job_rank(j.status) >= 1 && !is_terminal(j.status) && !deaths_.count(j.plan.job_name)) {
        lg.warn("queue {}: {} did not stop within {} s: ending it", id, j.plan.job_name,
                times_.stop_grace.count() / 1000);
        (void)launcher_.kill(j.plan.job_name);
        deaths_[j.plan.job_name] = {now + times_.stop_grace + times_.death_grace, true,
                                    "ended by the manager after the grace period"};
      }
    }
  }
  for (const auto& id : book_.active()) {
    if (QueueState* q = book_.resident(id); q && scheduler_.schedule(*q)) touched.insert(id);
  }
  for (const auto& id : touched) {
    if (QueueState* q = book_.resident(id)) book_.touch(*q);
  }
  book_.flush();
}

}  // namespace sf::manager
