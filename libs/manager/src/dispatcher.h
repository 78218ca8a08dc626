// The dispatcher: QUEUE_EVENTS_TOPIC -> the queue book. It reads from the group's committed
// offsets, applies each event idempotently (a batch of up to 5,000 at a time), stores the batch in
// one transaction, and commits the offsets only for what is stored: a restart reads again whatever
// was not.
#pragma once

#include <atomic>
#include <map>
#include <memory>

#include "queue_book.h"
#include "scheduler.h"
#include "sf/kafka/client.h"
#include "sf/manager/metrics.h"
#include "sf/manager/service.h"
#include "supervisor.h"

namespace sf::manager {

class Dispatcher {
 public:
  Dispatcher(const ManagerConfig& cfg, QueueBook& book, Scheduler& scheduler,
             Supervisor& supervisor, Metrics& metrics);
  // Connects and positions the consumer (the group's offsets, or the earliest kept).
  Status start();
  // Until `stopping`; stores and commits what it can before it returns.
  void run(const std::atomic<bool>& stopping);
  // One event (book.mu held). Public for tests.
  void apply(const std::string& value);
  // The topic's partition count, as a readiness check (the dispatcher's own connection).
  Result<int32_t> check(std::chrono::milliseconds timeout);

 private:
  void commit(std::map<int32_t, int64_t>& next);

  const ManagerConfig& cfg_;
  QueueBook& book_;
  Scheduler& scheduler_;
  Supervisor& supervisor_;
  Metrics& metrics_;
  std::unique_ptr<kafka::Consumer> events_, probe_;
};

}  // namespace sf::manager
