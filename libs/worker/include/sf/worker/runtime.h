// run_worker: the life of every worker program (SPEC §3) in one place.
//
//   started -> body runs (loading every TELEMETRY_INTERVAL) -> full flush -> one final event
//
// The final event is `error` (exit 1) if the body or the flush failed, `interrupted` (exit 0) if a
// stop was requested (control topic or SIGTERM/SIGINT), `finished` (exit 0) otherwise. The body
// polls ctx.stop and returns soon after it is set; records it already handed to the producer are
// still delivered before the final event.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "sf/config/worker_config.h"
#include "sf/core/clock.h"
#include "sf/core/result.h"
#include "sf/kafka/client.h"
#include "sf/worker/stop.h"

namespace sf::worker {

// Progress a body reports; read by the heartbeat. `expected` 0 means unknown.
struct Progress {
  std::atomic<int64_t> done{0};
  std::atomic<int64_t> expected{0};
  // Sinks (the connector) count what their store confirmed, not what the producer delivered:
  // when >= 0 these replace records_written and last_loaded_timestamp in telemetry.
  std::atomic<int64_t> written{-1};
  std::atomic<int64_t> last_timestamp{-1};
};

struct WorkerContext {
  const config::WorkerConfig& config;
  kafka::Producer& producer;  // data records: key = symbol, tag = record timestamp (ms)
  StopSource& stop;
  Progress& progress;
  Clock& clock;
  // Extra numeric telemetry fields the body wants in every event (reconnects, backfilled, ...).
  std::function<void(const std::string&, double)> set_metric;
};

using WorkerBody = std::function<Status(WorkerContext&)>;

struct RuntimeOptions {
  std::shared_ptr<Clock> clock = SystemClock::shared();
  std::chrono::milliseconds flush_timeout{120'000};
  bool watch_signals = true;  // tests that run workers in-process set false
};

// Returns the exit code. The caller (main) validated `config` already.
int run_worker(const config::WorkerConfig& config, const WorkerBody& body,
               const RuntimeOptions& options = {});

// For in-process tests: the same, with an external StopSource.
int run_worker(const config::WorkerConfig& config, const WorkerBody& body,
               const RuntimeOptions& options, StopSource& stop);

}  // namespace sf::worker
