// TimeCursor: one input collection read in time order, in pages, through the Store interface.
//
// Pages come from range_by_time(from, to); documents sharing the boundary time are told apart by
// their keys, so no document is read twice or skipped however many share a millisecond. With a
// `follow_window_ms` > 0 (real time), every refill re-reads the last window and skips the keys
// it saw, so documents stored late, out of order by up to the window, are still read.
#pragma once

#include <deque>
#include <functional>
#include <future>
#include <set>
#include <string>

#include "sf/core/result.h"
#include "sf/graph/graph.h"
#include "sf/store/store.h"

namespace sf::graph {

using StoreRetry = std::function<Result<std::vector<std::string>>(
    const std::function<Result<std::vector<std::string>>()>&)>;

class TimeCursor {
 public:
  TimeCursor(store::Store& store, std::string collection, int64_t from_ms, int64_t to_ms,
             int64_t page_size, int64_t follow_window_ms, StoreRetry retry);
  ~TimeCursor();  // waits for a page being read ahead

  // The next record, nullptr when everything stored so far was read (call refill() to look
  // again: historical readers stop there). Errors: the store failed, or a document is neither a
  // candle nor a trade.
  Result<const InputRecord*> peek();
  void pop();
  // Reads again after the end was reached (real time).
  Status refill();
  bool at_end() const { return at_end_ && buffer_.empty(); }
  const std::string& collection() const { return collection_; }
  int64_t max_time() const { return max_time_; }
  int64_t read() const { return read_; }

 private:
  Status fill();

  store::Store& store_;
  std::string collection_;
  int64_t from_, to_, page_, window_;
  StoreRetry retry_;
  std::deque<InputRecord> buffer_;
  std::set<std::pair<int64_t, std::string>> seen_;
  std::future<Result<std::vector<std::string>>> prefetch_;  // the next page, being read
  int64_t prefetch_from_ = 0, prefetch_page_ = 0;
  bool at_end_ = false;
  int64_t max_time_ = INT64_MIN, read_ = 0;
};

}  // namespace sf::graph
