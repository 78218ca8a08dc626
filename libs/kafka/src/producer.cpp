#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "rdkafka_util.h"
#include "sf/kafka/client.h"
#include "sf/log/log.h"

namespace sf::kafka {

struct Producer::Impl {
  detail::KafkaHandle rk;
  std::atomic<int64_t> queued{0}, delivered{0}, failed{0}, max_tag{INT64_MIN};
  std::atomic<int64_t> data_failed{0}, acknowledged{0};
  std::atomic<bool> running{true};
  std::thread poller;
  mutable std::mutex mu;  // guards first_error and the listeners
  std::string first_error;
  std::map<uint64_t, std::function<void(std::span<const DeliveryReport>)>> listeners;
  uint64_t next_listener = 1;

  // Topic handles, made once per name: producev() by name looks the topic up under the client's
  // write lock for every record. Published without a lock and never changed once there; past
  // kTopics names, records go by name.
  static constexpr size_t kTopics = 16;
  struct TopicSlot {
    std::string name;
    rd_kafka_topic_t* handle = nullptr;
  };
  std::array<TopicSlot, kTopics> topics;
  std::atomic<size_t> topic_count{0};
  std::mutex topics_mu;

  ~Impl() {
    for (size_t i = 0; i < topic_count.load(); ++i) rd_kafka_topic_destroy(topics[i].handle);
  }

  rd_kafka_topic_t* topic(std::string_view name) {
    size_t n = topic_count.load(std::memory_order_acquire);
    for (size_t i = 0; i < n; ++i) {
      if (topics[i].name == name) return topics[i].handle;
    }
    std::lock_guard lock(topics_mu);
    n = topic_count.load(std::memory_order_relaxed);
    for (size_t i = 0; i < n; ++i) {
      if (topics[i].name == name) return topics[i].handle;
    }
    if (n == kTopics) return nullptr;
    rd_kafka_topic_t* t = rd_kafka_topic_new(rk.get(), std::string(name).c_str(), nullptr);
    if (t == nullptr) return nullptr;
    topics[n] = {std::string(name), t};
    topic_count.store(n + 1, std::memory_order_release);
    return t;
  }

  // One delivery event: the reports of the records of one produce request (or of a purge),
  // handed to the listeners together, under one lock.
  void on_reports(rd_kafka_event_t* ev) {
    const size_t n = rd_kafka_event_message_count(ev);
    if (n == 0) return;
    msgs.resize(n);
    reports.resize(n);
    const size_t got = rd_kafka_event_message_array(ev, msgs.data(), n);
    int64_t ok = 0, bad = 0, bad_data = 0, top = INT64_MIN;
    for (size_t i = 0; i < got; ++i) {
      const rd_kafka_message_t* m = msgs[i];
      DeliveryReport& r = reports[i];
      r.tag = reinterpret_cast<intptr_t>(m->_private);
      r.ok = m->err == RD_KAFKA_RESP_ERR_NO_ERROR;
      r.partition = m->partition;
      r.value = std::string_view(static_cast<const char*>(m->payload), m->len);
      r.offset = r.ok ? m->offset : -1;
      r.possibly_persisted =
          !r.ok && rd_kafka_message_status(m) != RD_KAFKA_MSG_STATUS_NOT_PERSISTED;
      r.error.clear();
      if (r.ok) {
        ++ok;
        top = std::max(top, r.tag);
      } else {
        r.error = rd_kafka_err2str(m->err);
        ++bad;
        if (r.tag >= 0) ++bad_data;
      }
    }
    delivered.fetch_add(ok);
    failed.fetch_add(bad);
    data_failed.fetch_add(bad_data);
    int64_t prev = max_tag.load();
    while (top > prev && !max_tag.compare_exchange_weak(prev, top)) {
    }
    const std::span<const DeliveryReport> batch(reports.data(), got);
    std::lock_guard lock(mu);
    if (first_error.empty()) {
      for (const auto& r : batch) {
        if (!r.ok) {
          first_error = r.error;
          break;
        }
      }
    }
    for (const auto& [id, l] : listeners) l(batch);
  }

  // Delivery reports come as events, a request's worth at a time (not a callback per record).
  void poll_loop() {
    rd_kafka_queue_t* q = rd_kafka_queue_get_main(rk.get());
    while (running.load()) {
      rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 50);
      if (ev == nullptr) continue;
      if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_DR) {
        on_reports(ev);
      } else if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_ERROR) {
        // What librdkafka logs itself when it serves the queue without an error callback.
        sf::log::get().log(
            rd_kafka_event_error_is_fatal(ev) ? spdlog::level::err : spdlog::level::warn,
            "kafka ERROR: {}", rd_kafka_event_error_string(ev));
      }
      rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
  }
  // The poller's own buffers for one event.
  std::vector<const rd_kafka_message_t*> msgs;
  std::vector<DeliveryReport> reports;
};

Producer::Producer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Producer>> Producer::create(const ProducerOptions& options) {
  Properties props = {
      {"client.id", options.client_id},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"compression.type", "lz4"},
      {"linger.ms", "5"},
      // TCP_NODELAY, as the Java client: with Nagle a small request waits for the broker's
      // delayed ACK (40 ms on Linux) whenever one is still unacknowledged.
      {"socket.nagle.disable", "true"},
      {"batch.num.messages", "10000"},
      {"batch.size", "1000000"},
      // A bounded local buffer: send() waits when it is full (back-pressure instead of memory
      // growth); ~100k records ride out a short broker outage. Raise via KAFKA_PROPERTIES.
      {"queue.buffering.max.messages", "100000"},
      {"queue.buffering.max.kbytes", "16384"},
      {"message.timeout.ms", "300000"},
      // A broker back from an outage is reconnected to within a second (librdkafka's default
      // backoff grows to 10 s, the Java client's to 1 s): records queued meanwhile would
      // otherwise wait out their timeout with the broker up, and fail a second time.
      {"reconnect.backoff.max.ms", "1000"},
  };
  for (const auto& [k, v] : options.properties) props[k] = v;
  for (const auto& [k, v] : connection_properties(options.settings)) props[k] = v;
  auto conf = detail::make_conf(props);
  if (!conf) return conf.error();
  auto impl = std::make_unique<Impl>();
  rd_kafka_conf_set_events(*conf, RD_KAFKA_EVENT_DR);
  rd_kafka_conf_set_opaque(*conf, impl.get());
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, *conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(*conf);
    return make_error(std::string("cannot create Kafka producer: ") + err);
  }
  impl->rk.reset(rk);
  Impl* raw = impl.get();
  impl->poller = std::thread([raw] { raw->poll_loop(); });
  return std::unique_ptr<Producer>(new Producer(std::move(impl)));
}

Producer::~Producer() {
  (void)flush(milliseconds(10'000));
  impl_->running = false;
  // Ends the poller's wait at once (it polls in 50 ms steps: up to 50 ms of every program's
  // exit, per producer); a yield that comes before the wait ends the next one.
  rd_kafka_queue_t* q = rd_kafka_queue_get_main(impl_->rk.get());
  rd_kafka_queue_yield(q);
  rd_kafka_queue_destroy(q);
  if (impl_->poller.joinable()) impl_->poller.join();
}

namespace {

Error queue_full_error(milliseconds max_block) {
  return make_error(
      "Kafka producer queue full for " + std::to_string(max_block.count()) +
          " ms: the broker is not taking records (down or slow). Hint: check the broker, or "
          "raise queue.buffering.max.messages via KAFKA_PROPERTIES",
      true);
}

Error produce_failed(std::string_view topic, rd_kafka_resp_err_t err) {
  return make_error("Kafka produce to " + std::string(topic) + " failed: " + rd_kafka_err2str(err),
                    false);
}

}  // namespace

Status Producer::send(std::string_view topic, std::string_view key, std::string_view value,
                      int64_t tag, milliseconds max_block) {
  std::optional<std::chrono::steady_clock::time_point> deadline;  // read once the queue is full
  rd_kafka_topic_t* handle = impl_->topic(topic);
  auto produce = [&] {
    void* opaque = reinterpret_cast<void*>(static_cast<intptr_t>(tag));
    if (handle != nullptr) {
      return rd_kafka_producev(impl_->rk.get(), RD_KAFKA_V_RKT(handle),
                               RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                               RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(opaque),
                               RD_KAFKA_V_END);
    }
    const std::string name(topic);
    return rd_kafka_producev(impl_->rk.get(), RD_KAFKA_V_TOPIC(name.c_str()),
                             RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                             RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(opaque),
                             RD_KAFKA_V_END);
  };
  for (;;) {
    const rd_kafka_resp_err_t err = produce();
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      impl_->queued.fetch_add(1);
      return ok_status();
    }
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) return produce_failed(topic, err);
    if (!deadline) deadline = std::chrono::steady_clock::now() + max_block;
    if (std::chrono::steady_clock::now() >= *deadline) return queue_full_error(max_block);
    std::this_thread::sleep_for(milliseconds(5));  // the poller thread drains delivery reports
  }
}

Status Producer::send_run(std::string_view topic, std::string_view key,
                          std::span<const std::string_view> values, std::span<const int64_t> tags,
                          size_t& sent, milliseconds max_block) {
  sent = 0;
  rd_kafka_topic_t* handle = impl_->topic(topic);
  if (handle == nullptr) {  // past the cached topic handles: record by record
    for (; sent < values.size(); ++sent) {
      if (auto st = send(topic, key, values[sent], tags[sent], max_block); !st) return st;
    }
    return ok_status();
  }
  std::vector<rd_kafka_message_t> msgs;
  std::optional<std::chrono::steady_clock::time_point> deadline;  // read once the queue is full
  while (sent < values.size()) {
    const size_t n = values.size() - sent;
    msgs.assign(n, rd_kafka_message_t{});
    for (size_t i = 0; i < n; ++i) {
      rd_kafka_message_t& m = msgs[i];
      m.payload = const_cast<char*>(values[sent + i].data());
      m.len = values[sent + i].size();
      m.key = const_cast<char*>(key.data());
      m.key_len = key.size();
      m._private = reinterpret_cast<void*>(static_cast<intptr_t>(tags[sent + i]));
    }
    const int good = rd_kafka_produce_batch(handle, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                                            msgs.data(), static_cast<int>(n));
    impl_->queued.fetch_add(good);
    // After a full queue librdkafka fails every later record of the batch, so the queued ones
    // are a prefix up to the first failure of any other kind.
    size_t ok = 0;
    while (ok < n && msgs[ok].err == RD_KAFKA_RESP_ERR_NO_ERROR) ++ok;
    sent += ok;
    if (ok == n) return ok_status();
    const rd_kafka_resp_err_t err = msgs[ok].err;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) return produce_failed(topic, err);
    if (!deadline) deadline = std::chrono::steady_clock::now() + max_block;
    if (std::chrono::steady_clock::now() >= *deadline) return queue_full_error(max_block);
    std::this_thread::sleep_for(milliseconds(5));  // the poller thread drains delivery reports
  }
  return ok_status();
}

Status Producer::prepare(const std::string& topic, milliseconds timeout) {
  rd_kafka_topic_t* t = rd_kafka_topic_new(impl_->rk.get(), topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err =
      rd_kafka_metadata(impl_->rk.get(), 0, t, &md, static_cast<int>(timeout.count()));
  if (md) rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(t);
  if (err) {
    return make_error("Kafka metadata for " + topic + ": " + rd_kafka_err2str(err) +
                          ". Hint: check KAFKA_BOOTSTRAP_SERVERS and that the broker is up",
                      true);
  }
  return ok_status();
}

Status Producer::flush(milliseconds timeout) {
  rd_kafka_resp_err_t err = rd_kafka_flush(impl_->rk.get(), static_cast<int>(timeout.count()));
  if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
    return make_error("Kafka flush timed out after " + std::to_string(timeout.count()) +
                          " ms with " + std::to_string(in_flight()) + " records unacknowledged",
                      true);
  }
  const int64_t lost = impl_->data_failed.load() - impl_->acknowledged.load();
  if (lost > 0) {
    return make_error(std::to_string(lost) + " records were not delivered: " + first_error());
  }
  return ok_status();
}

int64_t Producer::delivered() const {
  return impl_->delivered.load();
}
int64_t Producer::failed() const {
  return impl_->failed.load();
}
int64_t Producer::in_flight() const {
  return impl_->queued.load() - impl_->delivered.load() - impl_->failed.load();
}
int64_t Producer::max_delivered_tag() const {
  const int64_t t = impl_->max_tag.load();
  return t == INT64_MIN ? 0 : t;
}
void Producer::acknowledge_failures(int64_t n) {
  impl_->acknowledged.fetch_add(n);
}
void Producer::found_written(int64_t n) {
  impl_->delivered.fetch_add(n);
}
void Producer::purge_queued() {
  (void)rd_kafka_purge(impl_->rk.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_NON_BLOCKING);
}
std::string Producer::first_error() const {
  std::lock_guard lock(impl_->mu);
  return impl_->first_error;
}
uint64_t Producer::on_delivery(std::function<void(std::span<const DeliveryReport>)> callback) {
  std::lock_guard lock(impl_->mu);
  const uint64_t id = impl_->next_listener++;
  impl_->listeners[id] = std::move(callback);
  return id;
}
void Producer::remove_on_delivery(uint64_t handle) {
  std::lock_guard lock(impl_->mu);
  impl_->listeners.erase(handle);
}

}  // namespace sf::kafka
