// arango-connector: a Kafka data topic -> a store collection, exactly once in effect.
//
//   - Reads KAFKA_TOPIC from the group `arango-connector-<queue_id>-<type>`'s committed offsets
//   (the
//     first retained offset the first time), every partition assigned to this one process.
//   - Batches documents (CONNECTOR_BATCH_SIZE, CONNECTOR_LINGER_MS) and upserts them by `_key`
//     (a message without one gets "<topic>:<partition>:<offset>"), then commits the offsets after
//     the store confirmed the batch. A crash anywhere replays at most the uncommitted batch, which
//     the upserts make harmless.
//   - A message that is not a JSON object or whose `_key` is invalid, and a document the store
//     refuses, goes to the dead-letter topic (CONNECTOR_DLQ_TOPIC, default "<KAFKA_TOPIC>-dlq") as
//     {"topic","partition","offset","error","value"}, is counted and logged (first examples), and
//     is committed only once the dead-letter record is acknowledged.
//   - Ends when its loader (same queue_id and type on QUEUE_EVENTS_TOPIC, another producer) has
//     ended and everything up to the topic's end is written: finished after `finished`,
//     interrupted after `interrupted`, error after `error`. Otherwise runs until stopped.
//   - A position below a partition's first retained offset (data expired before it was read) is
//     an error naming the offsets lost. A store that stays down past STORE_RETRY_BUDGET_MS is an
//     error; nothing unwritten is ever committed.
#pragma once

#include <chrono>
#include <string>

#include "sf/config/env.h"
#include "sf/config/worker_config.h"
#include "sf/core/result.h"
#include "sf/store/store.h"
#include "sf/worker/runtime.h"

namespace sf::connector {

struct ConnectorOptions {
  std::string collection;   // COLLECTION_NAME
  int batch_size = 10'000;  // CONNECTOR_BATCH_SIZE
  // A batch also ends once its documents hold this many bytes (large documents: the memory of
  // the two batches in flight and the size of one ArangoDB request stay bounded).
  int64_t batch_bytes = 4 << 20;                         // CONNECTOR_BATCH_BYTES
  std::chrono::milliseconds linger{200};                 // CONNECTOR_LINGER_MS
  std::string dlq_topic;                                 // CONNECTOR_DLQ_TOPIC
  std::chrono::milliseconds store_retry_budget{60'000};  // STORE_RETRY_BUDGET_MS
  // CONNECTOR_CATCHUP_PARTITIONS: a backlog found at start in more partitions than this is read
  // this many partitions at a time (each to the end it had at start), then every partition
  // together; 0 reads every partition at once. A batch then holds long runs of few partitions,
  // so the store inserts at few places of its indexes (see docs/decisions.md).
  int catchup_partitions = 4;
  // CONNECTOR_GROUP_ID, default arango-connector-<queue_id>-<type>; a new group re-reads the
  // whole topic (a replay, harmless by the upserts).
  std::string group_id;
};

// Reads the connector's own variables; errors are config errors (exit 2).
std::variant<ConnectorOptions, config::ConfigError> connector_options_from_env(
    const config::EnvLookup& env, const config::WorkerConfig& worker);

// The body for run_worker.
Status run_connector(worker::WorkerContext& ctx, store::Store& store,
                     const ConnectorOptions& options);

// The whole main() of the arango-connector program.
int connector_main();

}  // namespace sf::connector
