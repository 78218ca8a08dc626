// GraphWriter: batches the graph's documents into store upserts, retried within a budget; counts
// what the store confirmed (records_written).
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "sf/core/result.h"
#include "sf/store/store.h"
#include "sf/worker/runtime.h"

namespace sf::graph {

// Runs `f` until it succeeds, fails for good, or `budget` has passed (doubling waits, capped).
template <class F>
auto with_retry(std::chrono::milliseconds budget, spdlog::logger& lg, F&& f) -> decltype(f()) {
  using namespace std::chrono;
  const auto deadline = steady_clock::now() + budget;
  milliseconds delay{100};
  for (;;) {
    auto r = f();
    if (r.ok() || !r.error().retryable) return r;
    if (steady_clock::now() + delay > deadline) {
      return make_error("the store stayed unavailable for " + std::to_string(budget.count()) +
                        " ms (STORE_RETRY_BUDGET_MS): " + r.error().message);
    }
    lg.warn("store unavailable, retrying in {} ms: {}", delay.count(), r.error().message);
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, milliseconds(5'000));
  }
}

class GraphWriter {
 public:
  GraphWriter(store::Store& store, std::string collection, int batch_size,
              std::chrono::milliseconds budget, worker::Progress& progress, spdlog::logger& lg)
      : store_(store),
        collection_(std::move(collection)),
        batch_size_(batch_size),
        budget_(budget),
        progress_(progress),
        lg_(lg) {}

  Status add(store::Document d) {
    batch_.push_back(std::move(d));
    if (static_cast<int>(batch_.size()) >= batch_size_) return flush();
    return ok_status();
  }

  Status flush() {
    if (batch_.empty()) return ok_status();
    auto r = with_retry(budget_, lg_, [&] { return store_.upsert(collection_, batch_); });
    if (!r) return r.error();
    if (!r->errors.empty()) {
      const auto& e = r->errors.front();
      return make_error("the store refused " + std::to_string(r->errors.size()) + " documents of " +
                        collection_ + ", e.g. " + batch_[e.index].key + ": " + e.message);
    }
    written_ += r->written;
    progress_.written.store(written_);
    int64_t newest = progress_.last_timestamp.load();
    for (const auto& d : batch_) newest = std::max(newest, d.time_ms);
    progress_.last_timestamp.store(newest);
    batch_.clear();
    return ok_status();
  }

  int64_t written() const { return written_; }

 private:
  store::Store& store_;
  std::string collection_;
  int batch_size_;
  std::chrono::milliseconds budget_;
  worker::Progress& progress_;
  spdlog::logger& lg_;
  std::vector<store::Document> batch_;
  int64_t written_ = 0;
};

}  // namespace sf::graph
