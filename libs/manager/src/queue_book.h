// The queue book: every queue's state in memory (the running ones and the newest ended ones
// whole, every other as a summary), its indexes, and how changes reach the store and then the
// listeners. Changes are stored in batches: touch() marks a queue changed, flush() stores every
// changed queue in one transaction and only then pushes them to the listeners and shows them to
// GET. A failed write (disk full, a locked database, ArangoDB down) keeps the queues dirty and is
// retried with backoff. Every member is guarded by `mu`, which callers hold.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "sf/core/clock.h"
#include "sf/core/result.h"
#include "sf/manager/metrics.h"
#include "sf/manager/state.h"
#include "sf/store/store.h"

namespace sf::manager {

inline constexpr const char* kQueueCollection = "queue_state";

class QueueBook {
 public:
  QueueBook(std::shared_ptr<store::Store> store, std::shared_ptr<Metrics> metrics,
            std::shared_ptr<Clock> clock, size_t retained_ended);

  // Start-up: every queue the store holds, newest first, a page at a time (review #9).
  Status load();

  struct JobRef {
    std::string queue_id;
    size_t job = 0;
  };
  std::optional<JobRef> by_producer(const std::string& producer_id) const;
  std::optional<JobRef> by_job_name(const std::string& job_name) const;
  QueueState* resident(const std::string& id);  // nothing for a queue that left memory
  const std::string* status_of(const std::string& id) const;  // any queue ever created
  // A queue id, job name or producer id that any queue already has.
  bool names_taken(const Plan& plan) const;
  // A new queue, booked and indexed (not yet stored: touch + flush).
  QueueState& add(QueueState q);
  // Queues with a job not ended yet: the only ones the supervisor looks at.
  const std::unordered_set<std::string>& active() const { return active_; }
  const std::unordered_map<std::string, QueueState>& queues() const { return queues_; }

  // A queue changed: status derived, marked for the next flush.
  void touch(QueueState& q);
  // Stores what changed; true when nothing is left unstored. Not before the backoff after a
  // failed write, unless `now` is asked for.
  bool flush(bool now = false);
  bool stored() const { return dirty_.empty(); }
  void persist(QueueState& q) {
    touch(q);
    flush();
  }

  // The stored document of a resident queue ("" when it left memory), and the page a list asks
  // for: (id, document or "" to read from the store), newest first, and how many matched.
  std::string doc(const std::string& id) const;
  int64_t page(const std::string& status, const std::string& symbol, int64_t offset, int64_t limit,
               std::vector<std::pair<std::string, std::string>>& out) const;

  void on_change(std::function<void(const std::string&)> listener);
  // summaries.size(), for probes that must not take `mu`.
  int64_t count() const { return count_.load(); }

  std::mutex mu;

 private:
  struct Summary {
    std::string status, symbol;
  };
  void index(const QueueState& q);
  // A queue leaving memory: its name indexes give way to the suffixes that keep names unique.
  void unindex(const QueueState& q);
  void remember_suffixes(const QueueState& q);
  void summarize(const QueueState& q);
  void retire();
  void push(const QueueState& q, const std::string& doc);
  void refresh_metrics();
  std::string now_iso() const;

  std::shared_ptr<store::Store> store_;
  std::shared_ptr<Metrics> metrics_;
  std::shared_ptr<Clock> clock_;
  size_t retained_ended_;
  std::atomic<int64_t> count_{0};

  std::unordered_map<std::string, QueueState> queues_;  // whole in memory
  std::unordered_map<std::string, std::string> docs_;   // queue_id -> its stored JSON
  // Every queue, resident or not: what lists filter on (a few dozen bytes each).
  std::unordered_map<std::string, Summary> summaries_;
  std::map<std::string, int> status_counts_;  // for the streamforge_queues gauge
  // By (status, symbol): a list's total without a walk over every queue.
  std::map<std::pair<std::string, std::string>, int64_t> combo_counts_;
  std::deque<std::string> ended_order_;  // resident ended queues, oldest end first
  std::unordered_set<std::string> ended_resident_;
  // (created_at, id), newest first; the id is its summary's key.
  using Entry = std::pair<int64_t, const std::string*>;
  struct NewestFirst {
    bool operator()(const Entry& a, const Entry& b) const {
      return a.first != b.first ? a.first > b.first : *a.second > *b.second;
    }
  };
  std::set<Entry, NewestFirst> newest_first_;
  void list(const QueueState& q);
  // Resident queues' jobs by producer id and by job name. The queue id points at its summary's
  // key (summaries are never erased), so a job costs one string, not two.
  struct Slot {
    const std::string* queue_id;
    size_t job;
  };
  std::unordered_map<std::string, Slot> by_producer_, by_job_name_;
  // The random suffixes (the last 6 characters) of every queue id and producer id that left
  // memory: a new plan drawing one of them draws again, so no name is ever reused. A few dozen
  // bytes per queue instead of its name indexes (review #9: memory follows what is active).
  std::unordered_set<std::string> retired_suffixes_;
  std::unordered_set<std::string> dirty_;
  int write_failures_ = 0;
  std::chrono::steady_clock::time_point retry_at_{};
  std::unordered_set<std::string> active_;
  std::vector<std::function<void(const std::string&)>> listeners_;
};

}  // namespace sf::manager
