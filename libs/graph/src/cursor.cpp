#include "cursor.h"

#include <algorithm>

namespace sf::graph {

TimeCursor::TimeCursor(store::Store& store, std::string collection, int64_t from_ms, int64_t to_ms,
                       int64_t page_size, int64_t follow_window_ms, StoreRetry retry)
    : store_(store),
      collection_(std::move(collection)),
      from_(from_ms),
      to_(to_ms),
      page_(page_size),
      window_(follow_window_ms),
      retry_(std::move(retry)) {}

TimeCursor::~TimeCursor() {
  if (prefetch_.valid()) prefetch_.wait();
}

Status TimeCursor::fill() {
  int64_t page = page_;
  while (buffer_.empty() && !at_end_) {
    Result<std::vector<std::string>> docs = std::vector<std::string>{};
    if (prefetch_.valid() && prefetch_from_ == from_ && prefetch_page_ == page) {
      docs = prefetch_.get();
    } else {
      if (prefetch_.valid()) prefetch_.wait();
      docs = retry_([&] { return store_.range_by_time(collection_, from_, to_, page); });
    }
    if (!docs) return docs.error();
    // A full page: ask for the next one now, so the store reads while this one is parsed. It
    // starts where this one's last time says the next query will.
    if (static_cast<int64_t>(docs->size()) == page && !docs->empty()) {
      auto last = parse_input(docs->back());
      if (last) {
        const int64_t next = std::max(from_, std::max(max_time_, last->time()) - window_);
        prefetch_from_ = next;
        prefetch_page_ = page;
        prefetch_ = std::async(std::launch::async, [this, next, page] {
          return retry_([&] { return store_.range_by_time(collection_, next, to_, page); });
        });
      }
    }
    // Only documents at or before the last maximum can have been read already, and only those
    // at or after the next query's start can be read again: the set holds just that window.
    const int64_t seen_until = max_time_;
    std::vector<InputRecord> page_records;
    page_records.reserve(docs->size());
    int64_t page_max = max_time_;
    for (const auto& json : *docs) {
      auto rec = parse_input(json);
      if (!rec) {
        return make_error("collection " + collection_ + ": a document is unreadable (" +
                          rec.error().message + "): " + json.substr(0, 200));
      }
      const int64_t t = rec->time();
      if (t <= seen_until && seen_.count({t, rec->key})) continue;
      page_max = std::max(page_max, t);
      page_records.push_back(std::move(rec).value());
    }
    const size_t fresh = page_records.size();
    const int64_t next_from = page_max == INT64_MIN ? from_ : std::max(from_, page_max - window_);
    for (auto& r : page_records) {
      if (r.time() >= next_from) seen_.emplace(r.time(), r.key);
      buffer_.push_back(std::move(r));
    }
    max_time_ = page_max;
    const bool full = static_cast<int64_t>(docs->size()) == page;
    if (!full) at_end_ = true;
    if (max_time_ != INT64_MIN) {
      from_ = std::max(from_, max_time_ - window_);
      seen_.erase(seen_.begin(), seen_.lower_bound({from_, std::string()}));
    }
    // A full page of documents already seen: more share the boundary time than a page holds.
    if (full && fresh == 0) page *= 2;
  }
  return ok_status();
}

Result<const InputRecord*> TimeCursor::peek() {
  if (buffer_.empty()) {
    if (auto st = fill(); !st) return st.error();
  }
  if (buffer_.empty()) return static_cast<const InputRecord*>(nullptr);
  return &buffer_.front();
}

void TimeCursor::pop() {
  buffer_.pop_front();
  ++read_;
}

Status TimeCursor::refill() {
  if (!buffer_.empty()) return ok_status();
  at_end_ = false;
  return fill();
}

}  // namespace sf::graph
