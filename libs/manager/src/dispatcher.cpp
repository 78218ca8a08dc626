#include "dispatcher.h"

#include <thread>

#include "sf/log/log.h"

namespace sf::manager {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

Dispatcher::Dispatcher(const ManagerConfig& cfg, QueueBook& book, Scheduler& scheduler,
                       Supervisor& supervisor, Metrics& metrics)
    : cfg_(cfg), book_(book), scheduler_(scheduler), supervisor_(supervisor), metrics_(metrics) {}

Status Dispatcher::start() {
  auto& lg = log::get();
  kafka::ConsumerOptions o;
  o.settings = cfg_.kafka;
  o.client_id = "queue-manager-dispatcher";
  o.group_id = cfg_.dispatcher_group;
  // Prefetch little: events are small and the manager's memory is for its queues.
  o.properties = {{"queued.max.messages.kbytes", "2048"},
                  {"queued.min.messages", "5000"},
                  {"fetch.max.bytes", "1048576"},
                  {"max.partition.fetch.bytes", "1048576"}};
  auto c = kafka::Consumer::create(o);
  if (!c) return c.error();
  events_ = std::move(c).value();
  kafka::ConsumerOptions po;
  po.settings = cfg_.kafka;
  po.client_id = "queue-manager-offsets";
  auto p = kafka::Consumer::create(po);
  if (!p) return p.error();
  probe_ = std::move(p).value();
  auto n = probe_->partition_count(cfg_.events_topic, milliseconds(30'000));
  if (!n) return n.error();
  auto committed = events_->committed(cfg_.events_topic, *n, milliseconds(30'000));
  if (!committed) return committed.error();
  auto marks = probe_->all_watermarks(cfg_.events_topic, *n, milliseconds(30'000));
  if (!marks) return marks.error();
  std::vector<kafka::PartitionOffset> positions;
  for (int32_t i = 0; i < *n; ++i) {
    const int64_t c0 = (*committed)[static_cast<size_t>(i)];
    const int64_t low = (*marks)[static_cast<size_t>(i)].low;
    int64_t start = c0 == kafka::kNoOffset ? low : c0;
    if (start < low) {
      lg.warn("telemetry {}[{}] offsets {}..{} expired before this manager read them",
              cfg_.events_topic, i, start, low - 1);
      start = low;
    }
    positions.push_back({i, start});
  }
  lg.info("telemetry dispatcher: {} ({} partitions) from the offsets of group {}",
          cfg_.events_topic, *n, cfg_.dispatcher_group);
  return events_->assign(cfg_.events_topic, positions);
}

Result<int32_t> Dispatcher::check(milliseconds timeout) {
  return probe_->partition_count(cfg_.events_topic, timeout);
}

void Dispatcher::commit(std::map<int32_t, int64_t>& next) {
  std::vector<kafka::PartitionOffset> offsets;
  for (auto [p, o] : next) offsets.push_back({p, o});
  if (auto st = events_->commit(cfg_.events_topic, offsets); !st) {
    log::get().warn("telemetry: {}", st.error().message);
  } else {
    next.clear();
  }
}

void Dispatcher::run(const std::atomic<bool>& stopping) {
  std::map<int32_t, int64_t> next;
  auto last_commit = SteadyClock::now();
  while (!stopping.load()) {
    auto m = events_->poll(milliseconds(100));
    bool stored = false;
    if (!m) {
      log::get().warn("telemetry: {}", m.error().message);
      std::this_thread::sleep_for(milliseconds(200));
    } else if (*m) {
      // A batch: this event and whatever else is already here (up to 5000), applied in memory,
      // then stored in one transaction, then committed.
      std::lock_guard lock(book_.mu);
      apply((*m)->value);
      next[(*m)->partition] = (*m)->offset + 1;
      for (int i = 0; i < 5000; ++i) {
        auto more = events_->poll(milliseconds(0));
        if (!more || !*more) break;
        apply((*more)->value);
        next[(*more)->partition] = (*more)->offset + 1;
      }
      stored = book_.flush();
    } else {
      std::lock_guard lock(book_.mu);
      stored = book_.flush();  // a write that failed, retried (its backoff permitting)
    }
    // Offsets only for what is stored: a restart reads again whatever was not.
    if (stored && !next.empty() &&
        (!m || !*m || SteadyClock::now() - last_commit > milliseconds(500))) {
      commit(next);
      last_commit = SteadyClock::now();
    }
  }
  bool stored = false;
  {
    std::lock_guard lock(book_.mu);
    stored = book_.flush(true);
  }
  if (!next.empty() && stored) {
    commit(next);
  } else if (!stored) {
    log::get().error(
        "stopping with queue states not stored: their telemetry is not committed and "
        "will be read again at the next start");
  }
}

void Dispatcher::apply(const std::string& value) {
  auto e = parse_event(value);
  if (!e) {
    metrics_.inc("streamforge_telemetry_events_ignored_total", {{"reason", "not_telemetry"}});
    return;
  }
  auto ref = book_.by_producer(e->producer);
  if (!ref && book_.status_of(e->queue_id)) {  // a queue that ended long ago and left memory
    metrics_.inc("streamforge_telemetry_events_ignored_total", {{"reason", "retired"}});
    return;
  }
  if (!ref || ref->queue_id != e->queue_id) {
    metrics_.inc("streamforge_telemetry_events_ignored_total", {{"reason", "unknown_job"}});
    return;
  }
  QueueState* q = book_.resident(ref->queue_id);
  if (!q) {  // a queue that ended long ago and left memory
    metrics_.inc("streamforge_telemetry_events_ignored_total", {{"reason", "retired"}});
    return;
  }
  auto& j = q->jobs.at(ref->job);
  const bool was_terminal = is_terminal(j.status);
  if (!apply_event(j, *e)) {
    metrics_.inc("streamforge_telemetry_events_ignored_total", {{"reason", "no_change"}});
    return;
  }
  metrics_.inc("streamforge_telemetry_events_applied_total");
  if (!was_terminal && is_terminal(j.status)) {
    scheduler_.count_end(j);
    supervisor_.forget(j.plan.job_name);
    scheduler_.schedule(*q);
  } else if (was_terminal && j.status == "finished") {
    log::get().info("queue {}: {} said finished after all", q->id, j.plan.job_name);
    scheduler_.input_finished_late(*q);
  }
  if (q->started_at.empty() && !j.started_at.empty()) q->started_at = j.started_at;
  book_.touch(*q);
}

}  // namespace sf::manager
