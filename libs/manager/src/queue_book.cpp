#include "queue_book.h"

#include <malloc.h>

#include <algorithm>
#include <boost/json.hpp>

#include "sf/core/backoff.h"
#include "sf/log/log.h"
#include "sf/records/time_range.h"

namespace sf::manager {

using std::chrono::milliseconds;

namespace {

bool all_ended(const QueueState& q) {
  return std::all_of(q.jobs.begin(), q.jobs.end(),
                     [](const JobState& j) { return is_terminal(j.status); });
}

std::string suffix(const std::string& name) {
  return name.size() > 6 ? name.substr(name.size() - 6) : name;
}

std::string quote(const std::string& s) {
  return boost::json::serialize(boost::json::value(s));
}

}  // namespace

QueueBook::QueueBook(std::shared_ptr<store::Store> store, std::shared_ptr<Metrics> metrics,
                     std::shared_ptr<Clock> clock, size_t retained_ended)
    : store_(std::move(store)),
      metrics_(std::move(metrics)),
      clock_(std::move(clock)),
      retained_ended_(retained_ended) {}

std::string QueueBook::now_iso() const {
  return records::format_utc(clock_->now_ms());
}

Status QueueBook::load() {
  if (auto st = store_->ensure_collection(kQueueCollection); !st) return st.error();
  // The running ones and the newest `retained_ended` ended ones whole, the others as a summary.
  constexpr int64_t kPage = 2000;
  size_t ended_kept = 0;
  std::vector<std::string> kept_ended;  // newest first
  store::Query query;
  query.limit = kPage;
  query.count = false;
  for (;;) {
    auto page = store_->find(kQueueCollection, query);  // keyset: a seek per page, not a scan
    if (!page) return page.error();
    query.after = page->last;
    for (const auto& doc : page->documents) {
      auto q = queue_from_json(doc);
      if (!q) continue;
      summarize(*q);
      const bool ended = all_ended(*q);
      if (ended && ended_kept >= retained_ended_) {
        list(*q);
        remember_suffixes(*q);
        continue;
      }
      index(*q);
      if (ended) {
        ++ended_kept;
        kept_ended.push_back(q->id);
      } else {
        active_.insert(q->id);
      }
      docs_[q->id] = doc;
      queues_[q->id] = std::move(*q);
    }
    if (static_cast<int64_t>(page->documents.size()) < kPage) break;
  }
  for (auto it = kept_ended.rbegin(); it != kept_ended.rend(); ++it) {
    ended_order_.push_back(*it);
    ended_resident_.insert(*it);
  }
  count_ = static_cast<int64_t>(summaries_.size());
  refresh_metrics();
  // The documents read at start are parsed and gone: hand their memory back to the system.
  malloc_trim(0);
  return ok_status();
}

std::optional<QueueBook::JobRef> QueueBook::by_producer(const std::string& producer_id) const {
  auto it = by_producer_.find(producer_id);
  if (it == by_producer_.end()) return std::nullopt;
  return JobRef{*it->second.queue_id, it->second.job};
}

std::optional<QueueBook::JobRef> QueueBook::by_job_name(const std::string& job_name) const {
  auto it = by_job_name_.find(job_name);
  if (it == by_job_name_.end()) return std::nullopt;
  return JobRef{*it->second.queue_id, it->second.job};
}

QueueState* QueueBook::resident(const std::string& id) {
  auto it = queues_.find(id);
  return it == queues_.end() ? nullptr : &it->second;
}

const std::string* QueueBook::status_of(const std::string& id) const {
  auto it = summaries_.find(id);
  return it == summaries_.end() ? nullptr : &it->second.status;
}

bool QueueBook::names_taken(const Plan& plan) const {
  if (summaries_.count(plan.queue_id) || retired_suffixes_.count(suffix(plan.queue_id))) {
    return true;
  }
  return std::any_of(plan.jobs.begin(), plan.jobs.end(), [&](const JobPlan& j) {
    return by_job_name_.count(j.job_name) || by_producer_.count(j.producer_id) ||
           retired_suffixes_.count(suffix(j.producer_id));
  });
}

QueueState& QueueBook::add(QueueState q) {
  const std::string id = q.id;
  auto& stored = queues_[id] = std::move(q);
  summarize(stored);
  count_ = static_cast<int64_t>(summaries_.size());
  index(stored);
  return stored;
}

// Called after summarize(q): the slots point at the summary's key.
void QueueBook::list(const QueueState& q) {
  newest_first_.insert({q.created_at_ms, &summaries_.find(q.id)->first});
}

void QueueBook::index(const QueueState& q) {
  list(q);
  const std::string* id = &summaries_.find(q.id)->first;
  for (size_t i = 0; i < q.jobs.size(); ++i) {
    by_producer_[q.jobs[i].plan.producer_id] = {id, i};
    by_job_name_[q.jobs[i].plan.job_name] = {id, i};
  }
}

void QueueBook::unindex(const QueueState& q) {
  for (const auto& j : q.jobs) {
    by_producer_.erase(j.plan.producer_id);
    by_job_name_.erase(j.plan.job_name);
  }
  remember_suffixes(q);
}

// Job names carry the queue id's suffix (sf-<suffix>-<target>-<type>).
void QueueBook::remember_suffixes(const QueueState& q) {
  retired_suffixes_.insert(suffix(q.id));
  for (const auto& j : q.jobs) retired_suffixes_.insert(suffix(j.plan.producer_id));
}

void QueueBook::summarize(const QueueState& q) {
  auto [it, fresh] = summaries_.try_emplace(q.id);
  if (!fresh && it->second.status == q.status) return;
  if (!fresh) {
    --status_counts_[it->second.status];
    --combo_counts_[{it->second.status, it->second.symbol}];
  }
  ++status_counts_[q.status];
  ++combo_counts_[{q.status, q.symbol}];
  it->second.status = q.status;
  it->second.symbol = q.symbol;
}

// Ended queues past the newest `retained_ended` leave memory once stored (their indexes for
// names stay: a new queue never reuses an old name).
void QueueBook::retire() {
  while (ended_order_.size() > retained_ended_) {
    const std::string id = ended_order_.front();
    if (dirty_.count(id)) return;  // stored first
    ended_order_.pop_front();
    ended_resident_.erase(id);
    auto it = queues_.find(id);
    if (it == queues_.end() || !all_ended(it->second)) continue;  // running again
    unindex(it->second);
    queues_.erase(it);
    docs_.erase(id);
  }
}

void QueueBook::push(const QueueState& q, const std::string& doc) {
  const std::string msg = "{\"event\":\"queue\",\"queue_id\":" + quote(q.id) +
                          ",\"status\":" + quote(q.status) + ",\"queue\":" + doc + "}";
  for (const auto& l : listeners_) l(msg);
}

void QueueBook::touch(QueueState& q) {
  const std::string before = q.status;
  q.derive_status(now_iso());
  summarize(q);
  dirty_.insert(q.id);
  // GET shows a new queue and a new status at once, stored or not yet (the rest at the flush).
  if (q.status != before || !docs_.count(q.id)) docs_[q.id] = to_json(q);
  if (all_ended(q)) {
    active_.erase(q.id);
    if (ended_resident_.insert(q.id).second) ended_order_.push_back(q.id);
  } else {
    active_.insert(q.id);
  }
}

bool QueueBook::flush(bool now_please) {
  if (dirty_.empty()) return true;
  const auto now = clock_->steady_now();
  if (!now_please && now < retry_at_) return false;
  std::vector<store::Document> batch;
  batch.reserve(dirty_.size());
  for (const auto& id : dirty_) {
    const auto& q = queues_.at(id);
    batch.push_back(store::Document{id, to_json(q), q.created_at_ms});
  }
  auto w = store_->upsert(kQueueCollection, batch);
  if (!w || !w->errors.empty()) {
    ++write_failures_;
    const auto backoff =
        backoff_delay(milliseconds(100), milliseconds(5'000), write_failures_).count();
    retry_at_ = now + milliseconds(backoff);
    metrics_->inc("streamforge_state_write_failures_total");
    if (write_failures_ == 1 || write_failures_ % 20 == 0) {
      log::get().error(
          "cannot store {} queue states (attempt {}, again in {} ms; nothing is committed "
          "until they are stored): {}",
          batch.size(), write_failures_, backoff,
          w ? w->errors.front().message : w.error().message);
    }
    return false;
  }
  if (write_failures_ > 0) {
    log::get().info("queue states stored again after {} failed attempts", write_failures_);
  }
  write_failures_ = 0;
  retry_at_ = {};
  for (auto& d : batch) {
    push(queues_.at(d.key), d.json);
    docs_[d.key] = std::move(d.json);
  }
  dirty_.clear();
  retire();
  refresh_metrics();
  return true;
}

void QueueBook::refresh_metrics() {
  metrics_->set("streamforge_queues_in_memory", {}, static_cast<double>(queues_.size()));
  metrics_->reset("streamforge_queues");
  for (const char* s : {"pending", "loading", "stopping", "finished", "interrupted", "error"}) {
    auto it = status_counts_.find(s);
    metrics_->set("streamforge_queues", {{"status", s}},
                  it == status_counts_.end() ? 0 : it->second);
  }
}

std::string QueueBook::doc(const std::string& id) const {
  auto it = docs_.find(id);
  return it == docs_.end() ? std::string() : it->second;
}

int64_t QueueBook::page(const std::string& status, const std::string& symbol, int64_t offset,
                        int64_t limit,
                        std::vector<std::pair<std::string, std::string>>& out) const {
  // The total from the counts kept as statuses change, then a walk newest first (an index kept
  // in order: no sort) only as far as the page's end.
  int64_t total = 0;
  if (status.empty() && symbol.empty()) {
    total = static_cast<int64_t>(summaries_.size());
  } else {
    for (const auto& [key, n] : combo_counts_) {
      if ((status.empty() || key.first == status) && (symbol.empty() || key.second == symbol)) {
        total += n;
      }
    }
  }
  int64_t seen = 0;
  for (const auto& [created, id_of] : newest_first_) {
    if (seen >= offset + limit) break;
    const std::string& id = *id_of;
    if (!status.empty() || !symbol.empty()) {
      const auto& sum = summaries_.at(id);
      if (!status.empty() && sum.status != status) continue;
      if (!symbol.empty() && sum.symbol != symbol) continue;
    }
    if (seen >= offset) out.emplace_back(id, doc(id));
    ++seen;
  }
  return total;
}

void QueueBook::on_change(std::function<void(const std::string&)> listener) {
  listeners_.push_back(std::move(listener));
}

}  // namespace sf::manager
