#include "cursor.h"

#include <algorithm>

namespace sf::graph {

TimeCursor::TimeCursor(store::Store& store, std::string collection, int64_t from_ms,
                       int64_t to_ms, int64_t page_size, int64_t follow_window_ms,
                       StoreRetry retry)
    : store_(store),
      collection_(std::move(collection)),
      from_(from_ms),
      to_(to_ms),
      page_(page_size),
      window_(follow_window_ms),
      retry_(std::move(retry)) {}

Status TimeCursor::fill() {
  int64_t page = page_;
  while (buffer_.empty() && !at_end_) {
    auto docs = retry_([&] { return store_.range_by_time(collection_, from_, to_, page); });
    if (!docs) return docs.error();
    size_t fresh = 0;
    for (const auto& json : *docs) {
      auto rec = parse_input(json);
      if (!rec) {
        return make_error("collection " + collection_ + ": a document is unreadable (" +
                          rec.error().message + "): " + json.substr(0, 200));
      }
      const int64_t t = rec->time();
      if (!seen_.emplace(t, rec->key).second) continue;
      max_time_ = std::max(max_time_, t);
      buffer_.push_back(std::move(rec).value());
      ++fresh;
    }
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
