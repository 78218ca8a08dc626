#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "rdkafka_util.h"
#include "sf/kafka/client.h"

namespace sf::kafka {

struct Producer::Impl {
  detail::KafkaHandle rk;
  std::atomic<int64_t> queued{0}, delivered{0}, failed{0}, max_tag{INT64_MIN};
  std::atomic<int64_t> data_failed{0}, acknowledged{0};
  std::atomic<bool> running{true};
  std::thread poller;
  mutable std::mutex mu;  // guards first_error and the listeners
  std::string first_error;
  std::map<uint64_t, std::function<void(const DeliveryReport&)>> listeners;
  uint64_t next_listener = 1;

  static void on_dr(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    DeliveryReport r;
    r.tag = reinterpret_cast<intptr_t>(m->_private);
    r.ok = m->err == RD_KAFKA_RESP_ERR_NO_ERROR;
    r.partition = m->partition;
    r.value = std::string_view(static_cast<const char*>(m->payload), m->len);
    r.offset = r.ok ? m->offset : -1;
    r.possibly_persisted = !r.ok && rd_kafka_message_status(m) != RD_KAFKA_MSG_STATUS_NOT_PERSISTED;
    if (r.ok) {
      self->delivered.fetch_add(1);
      int64_t prev = self->max_tag.load();
      while (r.tag > prev && !self->max_tag.compare_exchange_weak(prev, r.tag)) {
      }
    } else {
      r.error = rd_kafka_err2str(m->err);
      self->failed.fetch_add(1);
      if (r.tag >= 0) self->data_failed.fetch_add(1);
    }
    std::lock_guard lock(self->mu);
    if (!r.ok && self->first_error.empty()) self->first_error = r.error;
    for (const auto& [id, l] : self->listeners) l(r);
  }

  void poll_loop() {
    while (running.load()) rd_kafka_poll(rk.get(), 50);
  }
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
  };
  for (const auto& [k, v] : options.properties) props[k] = v;
  for (const auto& [k, v] : connection_properties(options.settings)) props[k] = v;
  auto conf = detail::make_conf(props);
  if (!conf) return conf.error();
  auto impl = std::make_unique<Impl>();
  rd_kafka_conf_set_dr_msg_cb(*conf, &Impl::on_dr);
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
  if (impl_->poller.joinable()) impl_->poller.join();
}

Status Producer::send(std::string_view topic, std::string_view key, std::string_view value,
                      int64_t tag, milliseconds max_block) {
  std::optional<std::chrono::steady_clock::time_point> deadline;  // read once the queue is full
  const std::string topic_name(topic);
  for (;;) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        impl_->rk.get(), RD_KAFKA_V_TOPIC(topic_name.c_str()),
        RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<intptr_t>(tag))), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      impl_->queued.fetch_add(1);
      return ok_status();
    }
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      return make_error("Kafka produce to " + topic_name + " failed: " + rd_kafka_err2str(err),
                        false);
    }
    if (!deadline) deadline = std::chrono::steady_clock::now() + max_block;
    if (std::chrono::steady_clock::now() >= *deadline) {
      return make_error(
          "Kafka producer queue full for " + std::to_string(max_block.count()) +
              " ms: the broker is not taking records (down or slow). Hint: check the broker, or "
              "raise queue.buffering.max.messages via KAFKA_PROPERTIES",
          true);
    }
    std::this_thread::sleep_for(milliseconds(5));  // the poller thread drains delivery reports
  }
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
uint64_t Producer::on_delivery(std::function<void(const DeliveryReport&)> callback) {
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
