// Kafka clients for StreamForge: a Producer with the guarantees of SPEC §3 and a Consumer for both
// "read the control topic from its end" (assign, no group) and group consumption with commits.
// librdkafka stays behind these classes: nothing here needs its headers.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sf/config/worker_config.h"
#include "sf/core/result.h"

namespace sf::kafka {

using Properties = std::map<std::string, std::string>;
using std::chrono::milliseconds;

// librdkafka properties for the connection and security of `s` (bootstrap, PLAINTEXT or
// SASL_SSL + SCRAM + CA, then s.extra applied last so any property can be overridden).
Properties connection_properties(const config::KafkaSettings& s);

struct ProducerOptions {
  config::KafkaSettings settings;
  std::string client_id = "streamforge";
  // Applied on top of the defaults (idempotence, acks=all, lz4, linger 5 ms, large batches) and
  // before settings.extra.
  Properties properties;
};

struct DeliveryReport {
  bool ok = false;
  std::string error;  // empty when ok
  int64_t tag = 0;    // what the caller passed to send()
  int32_t partition = -1;
  int64_t offset = -1;  // where the broker wrote it (ok only)
  // Failed but perhaps written all the same (its request reached the broker and the answer was
  // lost); a failure without this flag is certainly not in the topic.
  bool possibly_persisted = false;
  std::string_view value;  // the record's value, valid only during the callback
};

// An Error from Consumer::poll that says the client may not read the topic or group (Kafka's
// TOPIC/GROUP/CLUSTER_AUTHORIZATION_FAILED): not retryable, it needs an ACL, not a wait.
bool not_authorized(const Error& e);

// Thread-safe. A background thread serves delivery reports; delivered() counts a record only when
// the broker acknowledged it (acks=all, idempotent).
class Producer {
 public:
  static Result<std::unique_ptr<Producer>> create(const ProducerOptions& options);
  ~Producer();  // flushes for up to 10 s, then gives up (use flush() to know the outcome)

  // Queues one record. If librdkafka's queue is full it waits up to `max_block` for room (delivery
  // reports keep flowing) and then returns a retryable Error: "queue full".
  Status send(std::string_view topic, std::string_view key, std::string_view value, int64_t tag = 0,
              milliseconds max_block = milliseconds(30'000));
  // Queues a run of records with one key, in order, in one call into librdkafka (one clock reading
  // and one topic lock for the run; every record's CreateTime is that reading): values[i] tagged
  // tags[i]. `sent` is how many were queued, the first ones in order. A full queue is waited out
  // up to `max_block` as in send(), then a retryable Error: the records from `sent` on were not
  // queued. Any other failure is a non-retryable Error (librdkafka may have queued records after
  // the one that failed: the caller is expected to give up).
  Status send_run(std::string_view topic, std::string_view key,
                  std::span<const std::string_view> values, std::span<const int64_t> tags,
                  size_t& sent, milliseconds max_block = milliseconds(30'000));
  // Fetches `topic`'s metadata now, so the first send does not wait for librdkafka's lazy lookup
  // (about a second). Returns an Error if the broker cannot be reached within `timeout`.
  Status prepare(const std::string& topic, milliseconds timeout);
  // Waits until nothing is in flight or `timeout` passes. Error if records remain or a data
  // record (tag >= 0) failed and was not acknowledged (telemetry, tag < 0, is a snapshot the
  // next one supersedes: its losses are counted in failed() only).
  Status flush(milliseconds timeout);
  // The caller has sent `n` failed data records again (a loader's backfill): flush() stops
  // counting them against it.
  void acknowledge_failures(int64_t n);
  // `n` records reported failed (possibly persisted) were found in the topic after all (a
  // loader's recovery reads it): delivered() counts them from now on.
  void found_written(int64_t n);
  // Fails every record still waiting in the local queue (not those already sent to a broker) at
  // once: their reports say "purged", never persisted. A loader that has lost records calls it so
  // that nothing newer lands after the gap.
  void purge_queued();

  int64_t delivered() const;
  int64_t failed() const;
  int64_t in_flight() const;
  // The largest tag of a delivered record (callers tag records with their timestamp).
  int64_t max_delivered_tag() const;
  // The first delivery error seen, or empty.
  std::string first_error() const;
  // Called on the delivery thread for every report; keep it short.
  // Several listeners may watch at once (a loader's loss tracker, a benchmark); the handle
  // removes one.
  // Reports come in batches: those of one produce request (or one purge) together.
  uint64_t on_delivery(std::function<void(std::span<const DeliveryReport>)> callback);
  void remove_on_delivery(uint64_t handle);

  struct Impl;

 private:
  explicit Producer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Records gathered for one Producer::send_run: their bytes in one buffer, each with its tag.
class RecordRun {
 public:
  // Appends one record: `write(std::string& out)` appends its bytes to `out`.
  template <class Write>
  void add(int64_t tag, Write write) {
    const size_t at = bytes_.size();
    write(bytes_);
    spans_.push_back({at, bytes_.size() - at});
    tags_.push_back(tag);
  }
  size_t size() const { return tags_.size(); }
  bool empty() const { return tags_.empty(); }
  void clear() {
    bytes_.clear();
    spans_.clear();
    tags_.clear();
  }
  // Sends the run (see Producer::send_run; `sent` as there) and clears it.
  Status send(Producer& p, std::string_view topic, std::string_view key, size_t& sent,
              milliseconds max_block = milliseconds(30'000)) {
    values_.clear();
    for (const auto& [at, len] : spans_)
      values_.push_back(std::string_view(bytes_).substr(at, len));
    auto st = p.send_run(topic, key, values_, tags_, sent, max_block);
    clear();
    return st;
  }

 private:
  std::string bytes_;
  std::vector<std::pair<size_t, size_t>> spans_;  // offset, length in bytes_
  std::vector<int64_t> tags_;
  std::vector<std::string_view> values_;
};

struct Message {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  int64_t timestamp_ms = 0;
};

struct ConsumerOptions {
  config::KafkaSettings settings;
  std::string client_id = "streamforge";
  std::string group_id;  // empty: no group (assign only)
  Properties properties;
};

struct Watermarks {
  int64_t low = 0, high = 0;
};

// A partition and an offset: where to start reading, or (commits) the next offset to read.
struct PartitionOffset {
  int32_t partition = 0;
  int64_t offset = 0;
};

// No committed offset for this partition (librdkafka's RD_KAFKA_OFFSET_INVALID).
inline constexpr int64_t kNoOffset = -1001;

// Not thread-safe: one thread polls.
class Consumer {
 public:
  static Result<std::unique_ptr<Consumer>> create(const ConsumerOptions& options);
  ~Consumer();

  // Assigns every partition of `topic` at its high watermark read now: everything produced after
  // this returns is seen, nothing before. Waits up to `timeout` for the topic to exist.
  Status assign_from_end(const std::string& topic, milliseconds timeout);
  // Assigns every partition of `topic` from its first retained offset.
  Status assign_from_beginning(const std::string& topic, milliseconds timeout);
  // Assigns every partition of `topic` at its first message stamped at or after `since_ms`
  // (Unix ms; the high watermark where none is), found by offset_at_time(). A consumer that
  // needs only recent messages of a long-retained topic reads from there, not from its start.
  Status assign_from_time(const std::string& topic, int64_t since_ms, milliseconds timeout);
  // The first offset of topic[partition] whose message is stamped at or after `since_ms`, by
  // binary search over the partition's offsets, one message read per step (about log2(count)
  // fetches, by a short-lived consumer made like this one). Message timestamps need not rise
  // strictly (several producers): the answer is then a point where they cross `since_ms`, so
  // callers leave a margin. Not ListOffsets by timestamp: librdkafka 2.0.2's mock cluster answers
  // it with -1, so that path could not be tested here.
  Result<int64_t> offset_at_time(const std::string& topic, int32_t partition, int64_t since_ms,
                                 milliseconds timeout);
  // Assigns the given partitions of `topic` at the given offsets (no group join: this consumer
  // alone reads them, and commits go to its group_id).
  Status assign(const std::string& topic, const std::vector<PartitionOffset>& positions);
  // Adds partitions of `topic` at the given offsets to the assignment, or takes some out of it;
  // the other partitions keep their place and what they have fetched. What a partition taken out
  // had fetched and poll() had not returned is dropped (it is fetched again when the partition
  // is added back at the offset after the last message returned).
  Status add_partitions(const std::string& topic, const std::vector<PartitionOffset>& positions);
  Status remove_partitions(const std::string& topic, const std::vector<int32_t>& partitions);
  // The group's committed offsets of partitions 0..partitions-1 (kNoOffset where none).
  Result<std::vector<int64_t>> committed(const std::string& topic, int32_t partitions,
                                         milliseconds timeout);
  // Commits "next offset to read" per partition, synchronously.
  Status commit(const std::string& topic, const std::vector<PartitionOffset>& next_offsets);
  // Joins the group (group_id required) for `topics`; commits are manual (commit()).
  Status subscribe(const std::vector<std::string>& topics);

  // The next message, nothing if none arrived within `timeout`, or an Error (not for end of
  // partition, which is silent). With auto.offset.reset=error, a position below the partition's
  // first retained offset is an Error whose message starts with "offset out of range".
  Result<std::optional<Message>> poll(milliseconds timeout);
  // From any thread: a poll() waiting now, or else the next one, returns at once with nothing
  // (a listener's thread told to stop need not wait out its poll).
  void wake();
  // Commits "consumed up to and including m" synchronously.
  Status commit(const Message& m);
  Result<int32_t> partition_count(const std::string& topic, milliseconds timeout);
  Result<Watermarks> watermarks(const std::string& topic, int32_t partition, milliseconds timeout);
  // Every partition's watermarks in two ListOffsets requests. On a consumer that is fetching,
  // requests queue behind its long-polling fetches: ask from a consumer with no assignment.
  Result<std::vector<Watermarks>> all_watermarks(const std::string& topic, int32_t partitions,
                                                 milliseconds timeout);
  // Leaves the group cleanly (also done by the destructor).
  void close();

  struct Impl;

 private:
  explicit Consumer(std::unique_ptr<Impl> impl);
  void kick();
  Result<int64_t> search_time(const std::string& topic, int32_t partition, int64_t since_ms,
                              std::chrono::steady_clock::time_point deadline);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sf::kafka
