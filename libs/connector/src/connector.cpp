#include "sf/connector/connector.h"

#include <fmt/format.h>
#include <algorithm>
#include <boost/json.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <iterator>
#include <mutex>
#include <thread>

#include "sf/core/backoff.h"
#include "sf/kafka/client.h"
#include "sf/log/log.h"
#include "sf/protocol/protocol.h"
#include "sf/worker/telemetry.h"

namespace sf::connector {

namespace json = boost::json;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

std::variant<ConnectorOptions, config::ConfigError> connector_options_from_env(
    const config::EnvLookup& env, const config::WorkerConfig& worker) {
  ConnectorOptions o;
  auto name = env("COLLECTION_NAME");
  if (!name || !store::valid_collection_name(*name)) {
    return config::ConfigError{
        "COLLECTION_NAME",
        "config error: COLLECTION_NAME" + (name ? "='" + *name + "' is invalid" : " is missing") +
            ": expected a collection name (a letter, then letters, digits, '_' or '-', at most "
            "64), e.g. btc_candles_1m_2024_08"};
  }
  o.collection = *name;
  if (auto e = config::read_int_settings(
          env,
          {{"CONNECTOR_BATCH_SIZE", 1, 100'000, "documents",
            [&](int64_t v) { o.batch_size = static_cast<int>(v); }, o.batch_size},
           {"CONNECTOR_BATCH_BYTES", 1, int64_t{1} << 30, "bytes",
            [&](int64_t v) { o.batch_bytes = v; }, o.batch_bytes},
           {"CONNECTOR_LINGER_MS", 0, 60'000, "ms", [&](int64_t v) { o.linger = milliseconds(v); },
            o.linger.count()},
           {"CONNECTOR_CATCHUP_PARTITIONS", 0, 1'000'000, "partitions",
            [&](int64_t v) { o.catchup_partitions = static_cast<int>(v); }, o.catchup_partitions},
           {"STORE_RETRY_BUDGET_MS", 0, 86'400'000, "ms",
            [&](int64_t v) { o.store_retry_budget = milliseconds(v); },
            o.store_retry_budget.count()}})) {
    return *e;
  }
  o.dlq_topic = env("CONNECTOR_DLQ_TOPIC").value_or(worker.kafka_topic + "-dlq");
  if (!config::valid_topic_name(o.dlq_topic)) {
    return config::ConfigError{"CONNECTOR_DLQ_TOPIC",
                               "config error: CONNECTOR_DLQ_TOPIC='" + o.dlq_topic +
                                   "' is invalid: expected a Kafka topic name [A-Za-z0-9._-]"};
  }
  o.group_id =
      env("CONNECTOR_GROUP_ID").value_or("arango-connector-" + worker.queue_id + "-" + worker.type);
  return o;
}

namespace {

// ws_trade is the seeds' spelling of ws_trades.
std::string canonical_type(std::string t) {
  return t == "ws_trade" ? "ws_trades" : t;
}

// One thread for the connector's life that runs one job at a time. A thread per batch (std::async)
// left what each batch's write had freed in a malloc arena of its own: into ArangoDB, batches of
// 10,000 peaked at 144 MiB (64 MiB in one arena).
class WriterThread {
 public:
  WriterThread() : thread_([this] { loop(); }) {}
  WriterThread(const WriterThread&) = delete;
  WriterThread& operator=(const WriterThread&) = delete;
  // The job started last is finished first.
  ~WriterThread() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  // Starts `job`; the one before must have been waited for.
  void start(std::function<Status()> job) {
    {
      std::lock_guard lock(mu_);
      job_ = std::move(job);
      busy_ = true;
    }
    cv_.notify_all();
  }

  // The status of the job started last (ok when there is none), once it has finished.
  Status wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !busy_; });
    return std::exchange(result_, ok_status());
  }

 private:
  void loop() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || busy_; });
      if (!busy_) return;
      auto job = std::move(job_);
      lock.unlock();
      Status st = ok_status();
      try {
        st = job();
      } catch (const std::exception& e) {  // as std::async did: the error reaches wait()
        st = make_error(std::string("unexpected exception in the writer: ") + e.what());
      }
      job = nullptr;  // what the job holds is freed on this thread, before it is waited for
      lock.lock();
      result_ = std::move(st);
      busy_ = false;
      cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::function<Status()> job_;
  Status result_ = ok_status();
  bool busy_ = false, stop_ = false;
  std::thread thread_;  // last: started once the rest is ready
};

struct LoaderEnd {
  std::string status, producer, message;
};

class Connector {
 public:
  Connector(worker::WorkerContext& ctx, store::Store& store, const ConnectorOptions& o)
      : ctx_(ctx), cfg_(ctx.config), store_(store), o_(o), lg_(log::get()) {}

  Status run() {
    if (auto st = with_store_retry([&] { return store_.ensure_collection(o_.collection); }); !st) {
      return st;
    }
    kafka::ConsumerOptions eo;
    eo.settings = cfg_.kafka;
    eo.client_id = cfg_.producer_id + "-events";
    // queue-events holds every queue's telemetry (14 days): a small prefetch, not librdkafka's
    // 64 MiB, while the connector looks for its loader's final event (review #17).
    eo.properties = {{"queued.max.messages.kbytes", "4096"},
                     {"fetch.max.bytes", "1048576"},
                     {"max.partition.fetch.bytes", "1048576"}};
    auto events = kafka::Consumer::create(eo);
    if (!events) return events.error();
    events_ = std::move(events).value();
    // Offsets are asked from a consumer that fetches nothing: on the fetching ones a ListOffsets
    // request waits behind a long-polling fetch (up to fetch.wait.max.ms each).
    eo.client_id = cfg_.producer_id + "-offsets";
    eo.properties.clear();
    auto probe = kafka::Consumer::create(eo);
    if (!probe) return probe.error();
    probe_ = std::move(probe).value();
    if (auto st = worker::assign_queue_events(*events_, cfg_); !st) {
      return make_error("cannot read " + cfg_.events_topic + ": " + st.error().message);
    }

    // The data topic appears with the loader's first record; its end may come first.
    int32_t partitions = 0;
    for (;;) {
      if (ctx_.stop.stop_requested()) return ok_status();
      auto n = probe_->partition_count(cfg_.kafka_topic, milliseconds(1000));
      if (n) {
        partitions = *n;
        break;
      }
      poll_events();
      if (loader_end_) {
        lg_.info("the loader ended ({}) before {} existed: nothing to write", loader_end_->status,
                 cfg_.kafka_topic);
        return finish();
      }
    }
    auto data = kafka::Consumer::create(data_options());
    if (!data) return data.error();
    data_ = std::move(data).value();
    if (auto st = start_positions(partitions); !st) return st;
    lg_.info("consuming {} ({} partitions) into {} as group {}", cfg_.kafka_topic, partitions,
             store_.describe() + "/" + o_.collection, o_.group_id);

    for (;;) {
      if (ctx_.stop.stop_requested()) {
        Status st = flush();
        if (st) st = drain();
        if (!st) {
          lg_.warn("stopping with documents unwritten (they will be read again): {}",
                   st.error().message);
        }
        return ok_status();
      }
      // While messages are queued nothing is waited for, and the clock (and the events topic)
      // are read every 256 messages, not per message: when idle the wait ends at the batch's
      // linger.
      auto m = data_->poll(milliseconds(0));
      if (m && !*m) {
        milliseconds wait(100);
        if (!batch_.empty()) {
          const auto left =
              std::chrono::duration_cast<milliseconds>(first_at_ + o_.linger - Clock::now());
          wait = std::clamp(left, milliseconds(0), milliseconds(100));
        }
        m = data_->poll(wait);
      }
      if (!m) {
        (void)drain();
        if (m.error().message.rfind("offset out of range", 0) == 0) return lost_error(m.error());
        if (!m.error().retryable) return m.error();
        lg_.warn("{}", m.error().message);
      } else if (*m) {
        const int32_t partition = (**m).partition;
        if (auto st = take(std::move(**m)); !st) return st;
        if (catching_up_) {
          catchup_seen_ = Clock::now();
          if (auto st = advance_window(partition); !st) return st;
        }
      }
      if (catching_up_ && m && !*m && Clock::now() - catchup_seen_ > milliseconds(1000)) {
        // Nothing came for a second: a partition that never reaches the end it had at start
        // (offsets with no message) must not hold the rest back.
        lg_.info("the catch-up window got nothing for a second; reading every partition");
        if (auto st = end_catchup(); !st) return st;
      }
      const bool full = static_cast<int>(batch_.size() + dead_.size()) >= o_.batch_size ||
                        batch_bytes_ >= o_.batch_bytes;
      const bool pending = !batch_.empty() || !dead_.empty();
      const bool check_time = !m || !*m || (consumed_ & 255) == 0;
      const bool due = pending && check_time && Clock::now() >= first_at_ + o_.linger;
      if (full || due) {
        if (auto st = flush(); !st) return st;
        catchup_seen_ = Clock::now();  // a wait for the writer is not the window's silence
      }
      if (check_time) poll_events();
      if (loader_end_ && batch_.empty() && dead_.empty() && caught_up()) {
        if (auto st = drain(); !st) return st;
        return finish();
      }
    }
  }

 private:
  struct Origin {
    int32_t partition;
    int64_t offset;
  };
  struct Dead {
    Origin origin;
    std::string error, value;
  };

  // The data consumer's prefetch, bounded whatever the partition count (librdkafka 2.0.2
  // applies queued.min.messages and queued.max.messages.kbytes to the one consumer queue):
  // 10,000 messages (the kbytes bound, 16 MiB, binds only for documents over 1.6 KB), a
  // fetch response of at most 1 MiB compressed (at least one batch of one partition), and
  // long polls of at most 100 ms. Consumer::poll keeps the fetcher going when the queue runs
  // dry after being full.
  kafka::ConsumerOptions data_options() const {
    kafka::ConsumerOptions co;
    co.settings = cfg_.kafka;
    co.client_id = cfg_.producer_id;
    co.group_id = o_.group_id;
    co.properties = {{"auto.offset.reset", "error"},          {"queued.min.messages", "10000"},
                     {"queued.max.messages.kbytes", "16384"}, {"fetch.max.bytes", "1048576"},
                     {"max.partition.fetch.bytes", "262144"}, {"fetch.wait.max.ms", "100"}};
    return co;
  }

  template <class F>
  auto with_store_retry(F&& f) -> decltype(f()) {
    const auto deadline = Clock::now() + o_.store_retry_budget;
    for (int attempt = 0;; ++attempt) {
      const auto delay = backoff_delay(milliseconds(100), milliseconds(5000), attempt);
      auto r = f();
      if (r.ok() || !r.error().retryable) return r;
      if (Clock::now() + delay > deadline) {
        return make_error("the store " + store_.describe() + " stayed unavailable for " +
                          std::to_string(o_.store_retry_budget.count()) +
                          " ms (STORE_RETRY_BUDGET_MS): " + r.error().message);
      }
      lg_.warn("store unavailable, retrying in {} ms: {}", delay.count(), r.error().message);
      std::this_thread::sleep_for(delay);
    }
  }

  Status start_positions(int32_t partitions) {
    auto committed = data_->committed(cfg_.kafka_topic, partitions, milliseconds(30'000));
    if (!committed) return committed.error();
    next_.assign(static_cast<size_t>(partitions), 0);
    auto marks = probe_->all_watermarks(cfg_.kafka_topic, partitions, milliseconds(30'000));
    if (!marks) return marks.error();
    std::vector<kafka::PartitionOffset> positions;
    for (int32_t p = 0; p < partitions; ++p) {
      const auto* w = &(*marks)[static_cast<size_t>(p)];
      const int64_t c = (*committed)[static_cast<size_t>(p)];
      const int64_t start = c == kafka::kNoOffset ? 0 : c;
      if (start < w->low) return lost(p, start, w->low);
      next_[static_cast<size_t>(p)] = start;
      positions.push_back({p, start});
      if (c != kafka::kNoOffset) {
        lg_.info("{}[{}]: resuming at committed offset {} (end {})", cfg_.kafka_topic, p, c,
                 w->high);
      }
    }
    // A backlog in more partitions than catchup_partitions is read a few partitions at a time:
    // read together, a batch holds short runs of every partition, and where partitions hold
    // different stretches of keys (a topic of several symbols, or of one symbol's blocks) the
    // store inserts into its indexes at as many places, each a page written per commit.
    std::vector<kafka::PartitionOffset> backlog;
    for (const auto& pos : positions) {
      if (pos.offset < (*marks)[static_cast<size_t>(pos.partition)].high) backlog.push_back(pos);
    }
    if (o_.catchup_partitions <= 0 ||
        backlog.size() <= static_cast<size_t>(o_.catchup_partitions)) {
      return data_->assign(cfg_.kafka_topic, positions);
    }
    catching_up_ = true;
    catchup_seen_ = Clock::now();
    catchup_end_.assign(static_cast<size_t>(partitions), -1);
    for (const auto& pos : backlog) {
      catchup_end_[static_cast<size_t>(pos.partition)] =
          (*marks)[static_cast<size_t>(pos.partition)].high;
    }
    for (size_t i = 0; i < backlog.size(); ++i) {
      if (i < static_cast<size_t>(o_.catchup_partitions)) {
        window_.push_back(backlog[i].partition);
      } else {
        waiting_.push_back(backlog[i].partition);
      }
    }
    lg_.info("a backlog in {} of {} partitions: reading it {} partition(s) at a time",
             backlog.size(), partitions, o_.catchup_partitions);
    std::vector<kafka::PartitionOffset> first;
    for (const int32_t p : window_) first.push_back({p, next_[static_cast<size_t>(p)]});
    return data_->assign(cfg_.kafka_topic, first);
  }

  // After a message of `partition` was taken: a partition of the catch-up window that reached
  // the end it had at start leaves it, and the next partition waiting comes in; once none waits
  // and the window is empty, every partition is read together from where it is.
  Status advance_window(int32_t partition) {
    const auto p = static_cast<size_t>(partition);
    if (next_[p] < catchup_end_[p]) return ok_status();
    auto it = std::find(window_.begin(), window_.end(), partition);
    if (it == window_.end()) return ok_status();
    window_.erase(it);
    if (auto st = data_->remove_partitions(cfg_.kafka_topic, {partition}); !st) return st;
    if (!waiting_.empty()) {
      const int32_t q = waiting_.front();
      waiting_.pop_front();
      window_.push_back(q);
      return data_->add_partitions(cfg_.kafka_topic, {{q, next_[static_cast<size_t>(q)]}});
    }
    if (window_.empty()) return end_catchup();
    return ok_status();
  }

  // Every partition, each from the offset after the last message taken.
  Status end_catchup() {
    catching_up_ = false;
    window_.clear();
    waiting_.clear();
    std::vector<kafka::PartitionOffset> all;
    for (size_t p = 0; p < next_.size(); ++p) all.push_back({static_cast<int32_t>(p), next_[p]});
    lg_.info("the backlog is read; reading all {} partitions", next_.size());
    return data_->assign(cfg_.kafka_topic, all);
  }

  Error lost(int32_t p, int64_t from, int64_t low) const {
    return make_error("data lost: " + cfg_.kafka_topic + "[" + std::to_string(p) + "] offsets " +
                      std::to_string(from) + ".." + std::to_string(low - 1) +
                      " expired before they were read (the partition now starts at " +
                      std::to_string(low) +
                      "). Hint: raise the topic's retention, or start the connector with its "
                      "loader");
  }

  Status lost_error(const Error& e) {
    auto marks = probe_->all_watermarks(cfg_.kafka_topic, static_cast<int32_t>(next_.size()),
                                        milliseconds(10'000));
    for (size_t p = 0; marks && p < next_.size(); ++p) {
      const int64_t low = (*marks)[p].low;
      if (next_[p] < low) return lost(static_cast<int32_t>(p), next_[p], low);
    }
    return make_error("data lost: " + e.message);
  }

  // The message's value moves into the batch (no copy of the document).
  Status take(kafka::Message&& m) {
    auto& next = next_.at(static_cast<size_t>(m.partition));
    if (m.offset < next) return ok_status();  // already taken (a re-fetch): upserts are idempotent
    if (m.offset > next) return lost(m.partition, next, m.offset);
    next = m.offset + 1;
    ++consumed_;
    ctx_.progress.done.store(consumed_);
    if (batch_.empty() && dead_.empty()) first_at_ = Clock::now();
    // The key of a document without one (in a buffer kept, not a string made per message).
    fallback_.clear();
    fmt::format_to(std::back_inserter(fallback_), "{}:{}:{}", m.topic, m.partition, m.offset);
    auto d = store::make_document_from(m.value, fallback_);
    if (!d) {
      batch_bytes_ += static_cast<int64_t>(m.value.size());
      dead_.push_back({{m.partition, m.offset}, d.error().message, std::move(m.value)});
      return ok_status();
    }
    batch_bytes_ += static_cast<int64_t>(d->json.size());
    batch_.push_back(std::move(d).value());
    origins_.push_back({m.partition, m.offset});
    return ok_status();
  }

  // Hands the current batch to the writer thread (after the previous write finished: at most
  // one batch is written while the next one is read). Its status comes back on the next flush
  // or from drain().
  Status flush() {
    if (batch_.empty() && dead_.empty()) return ok_status();
    const auto waited_from = Clock::now();
    if (auto st = drain(); !st) return st;
    lg_.debug(
        "reader waited {} us for the writer",
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - waited_from).count());
    auto job = std::make_shared<Job>();
    job->docs = std::move(batch_);
    job->origins = std::move(origins_);
    job->dead = std::move(dead_);
    for (size_t p = 0; p < next_.size(); ++p) {
      job->commit.push_back({static_cast<int32_t>(p), next_[p]});
    }
    batch_.clear();
    origins_.clear();
    dead_.clear();
    batch_bytes_ = 0;
    writer_.start([this, job = std::move(job)] { return write(*job); });
    return ok_status();
  }

  // Waits for the batch being written.
  Status drain() { return writer_.wait(); }

  struct Job {
    std::vector<store::Document> docs;
    std::vector<Origin> origins;
    std::vector<Dead> dead;
    std::vector<kafka::PartitionOffset> commit;
  };

  // On the writer thread: store, dead letters, then the offsets.
  Status write(Job& job) {
    store::WriteResult w;
    const auto began = Clock::now();
    if (!job.docs.empty()) {
      auto r = with_store_retry([&] { return store_.upsert(o_.collection, job.docs); });
      if (!r) return r.error();
      w = std::move(r).value();
    }
    for (const auto& e : w.errors) {
      job.dead.push_back({job.origins[e.index],
                          "the store refused it (" + std::to_string(e.code) + "): " + e.message,
                          job.docs[e.index].json});
    }
    if (!job.dead.empty()) {
      for (const auto& d : job.dead) {
        json::object env{{"topic", cfg_.kafka_topic},
                         {"partition", d.origin.partition},
                         {"offset", d.origin.offset},
                         {"error", d.error},
                         {"value", d.value}};
        if (++dead_total_ <= 5) {
          lg_.warn("dead-lettered {}[{}]@{}: {}: {}", cfg_.kafka_topic, d.origin.partition,
                   d.origin.offset, d.error, d.value.substr(0, 120));
        }
        if (auto st = ctx_.producer.send(o_.dlq_topic, cfg_.symbol, json::serialize(env)); !st) {
          return make_error("cannot send to the dead-letter topic " + o_.dlq_topic + ": " +
                            st.error().message);
        }
      }
      // Dead letters are acknowledged before their offsets are committed: none is lost.
      if (auto st = ctx_.producer.flush(milliseconds(60'000)); !st) {
        return make_error("the dead-letter topic " + o_.dlq_topic +
                          " did not acknowledge: " + st.error().message);
      }
      ctx_.set_metric("dead_lettered", static_cast<double>(dead_total_));
      if (dead_total_ > 5) {
        lg_.warn("{} messages dead-lettered to {} so far", dead_total_, o_.dlq_topic);
      }
    }
    const auto stored = Clock::now();
    if (auto st = data_->commit(cfg_.kafka_topic, job.commit); !st) {
      // Not fatal: what was written stays written; a restart re-reads and re-upserts it.
      lg_.warn("{}", st.error().message);
    }
    written_ += w.written;
    lg_.debug(
        "batch of {} written ({} refused, {} dead-lettered in all): store {} us, commit {} us",
        job.docs.size(), w.errors.size(), dead_total_,
        std::chrono::duration_cast<std::chrono::microseconds>(stored - began).count(),
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - stored).count());
    for (const auto& d : job.docs) newest_ = std::max(newest_, d.time_ms);
    ctx_.progress.written.store(written_);
    if (newest_ > 0) ctx_.progress.last_timestamp.store(newest_);
    return ok_status();
  }

  void poll_events() {
    for (int i = 0; i < 1000; ++i) {
      auto m = events_->poll(milliseconds(0));
      if (!m || !*m) return;
      auto e = protocol::parse_event((*m)->value);
      if (!e || e->queue_id != cfg_.queue_id ||
          canonical_type(e->type) != canonical_type(cfg_.type))
        continue;
      if (e->producer == cfg_.producer_id || e->producer.rfind("arango-connector", 0) == 0)
        continue;
      if (!protocol::is_final(e->status)) continue;
      if (loader_end_) continue;
      loader_end_ =
          LoaderEnd{e->status, e->producer, e->status == "error" ? e->error_message : e->message};
      // The loader flushed everything before its final event: the ends now are the data's end.
      end_.assign(next_.size(), INT64_MAX);
      if (!next_.empty()) read_ends();
      lg_.info("the loader {} ended: {}; writing up to the topic's end", e->producer, e->status);
    }
  }

  void read_ends() {
    auto marks = probe_->all_watermarks(cfg_.kafka_topic, static_cast<int32_t>(next_.size()),
                                        milliseconds(10'000));
    if (!marks) return;  // read again by caught_up()
    for (size_t p = 0; p < next_.size(); ++p) end_[p] = (*marks)[p].high;
  }

  bool caught_up() {
    if (!end_.empty() && end_[0] == INT64_MAX) read_ends();
    for (size_t p = 0; p < next_.size(); ++p) {
      if (next_[p] < end_[p]) return false;
    }
    return true;
  }

  Status finish() {
    const auto& end = *loader_end_;
    lg_.info("wrote {} documents into {} ({} dead-lettered)", written_, o_.collection, dead_total_);
    if (end.status == "interrupted") {
      ctx_.stop.request_stop("the loader " + end.producer + " was interrupted");
      return ok_status();
    }
    if (end.status == "error") {
      return make_error("the loader " + end.producer + " failed: " + end.message +
                        " (the connector wrote every record it had published)");
    }
    return ok_status();
  }

  worker::WorkerContext& ctx_;
  const config::WorkerConfig& cfg_;
  store::Store& store_;
  const ConnectorOptions& o_;
  spdlog::logger& lg_;
  std::unique_ptr<kafka::Consumer> data_, events_, probe_;
  std::vector<int64_t> next_, end_;
  // The catch-up of a backlog a few partitions at a time (start_positions()): the end each
  // partition had at start, the partitions read now and those waiting their turn.
  bool catching_up_ = false;
  Clock::time_point catchup_seen_;  // the last message taken while catching up
  std::vector<int64_t> catchup_end_;
  std::vector<int32_t> window_;
  std::deque<int32_t> waiting_;
  std::vector<store::Document> batch_;
  int64_t batch_bytes_ = 0;  // the documents' bytes in batch_ and dead_
  std::vector<Origin> origins_;
  std::vector<Dead> dead_;
  std::string fallback_;
  Clock::time_point first_at_;
  std::optional<LoaderEnd> loader_end_;
  int64_t consumed_ = 0;
  // Touched by the writer thread only while it runs, read after drain().
  int64_t written_ = 0, newest_ = 0, dead_total_ = 0;
  WriterThread writer_;  // last: its thread ends (after its job) before the rest goes
};

}  // namespace

Status run_connector(worker::WorkerContext& ctx, store::Store& store,
                     const ConnectorOptions& options) {
  ctx.progress.written.store(0);
  Connector c(ctx, store, options);
  return c.run();
}

int connector_main() {
  auto env = config::process_env();
  log::init(log::options_from_env("arango-connector", env));
  auto loaded = config::load_worker_config(env, config::KafkaRole::consumer);
  if (auto* e = std::get_if<config::ConfigError>(&loaded)) config::exit_with_config_error(*e);
  const auto& cfg = std::get<config::WorkerConfig>(loaded);
  auto opts = connector_options_from_env(env, cfg);
  if (auto* e = std::get_if<config::ConfigError>(&opts)) config::exit_with_config_error(*e);
  // An 8 MiB SQLite page cache: with batches of 10,000 it writes as fast as with 16
  // (connector_bench, 3+3 alternating: 269k-297k vs 272k-281k docs/s; interleaved keys 92k-98k vs
  // 83k-86k) and peaks ~8 MiB lower (56-58 vs 64-67 MiB); with 32 and batches of 5,000 it peaked at
  // 81 MiB. Checkpoints on a thread of their own every 8 MiB of WAL: done by the
  // writer, each stalled it ~160 ms (at 10,000 pages) and they were ~40% of its time
  // (connector_bench).
  auto store = store::open_store_or_exit(env, 8 * 1024, 8 * 1024);
  const auto& options = std::get<ConnectorOptions>(opts);
  return worker::run_worker(
      cfg, [&](worker::WorkerContext& ctx) { return run_connector(ctx, *store, options); });
}

}  // namespace sf::connector
