#include "sf/worker/control.h"

#include <atomic>
#include <thread>

#include "sf/kafka/client.h"
#include "sf/log/log.h"
#include "sf/protocol/protocol.h"

namespace sf::worker {

bool is_stop_command(std::string_view message, std::string_view queue_id) {
  auto target = protocol::stop_target(message);
  if (!target && (message.empty() || message.front() != '{')) {
    log::get().warn("ignoring a control message that is not a JSON object: {:.200}", message);
  }
  return target && *target == queue_id;
}

struct ControlListener::Impl {
  std::unique_ptr<kafka::Consumer> consumer;
  std::string queue_id;
  StopSource* stop = nullptr;
  std::atomic<bool> running{true};
  std::thread thread;

  void loop() {
    while (running.load()) {
      auto m = consumer->poll(std::chrono::milliseconds(100));
      if (!m) {
        log::get().warn("control topic: {}", m.error().message);
        continue;
      }
      if (*m && is_stop_command((*m)->value, queue_id)) {
        log::get().info("stop command received for {}", queue_id);
        stop->request_stop("stop command");
      }
    }
  }
};

ControlListener::ControlListener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<ControlListener>> ControlListener::start(const config::KafkaSettings& kafka,
                                                                std::string topic,
                                                                std::string queue_id,
                                                                StopSource& stop) {
  kafka::ConsumerOptions o;
  o.settings = kafka;
  o.client_id = "control-" + queue_id;
  // The broker holds an empty fetch this long, and taking the consumer down at the end of a job
  // waits for the fetch in flight (librdkafka's default 500 ms: up to half a second added to
  // every job's end). A control topic is idle: a fetch every 100 ms is nothing to a broker.
  o.properties["fetch.wait.max.ms"] = "100";
  auto consumer = kafka::Consumer::create(o);
  if (!consumer) return consumer.error();
  if (auto st = (*consumer)->assign_from_end(topic, std::chrono::seconds(30)); !st) {
    return make_error("control topic: " + st.error().message, true);
  }
  auto impl = std::make_unique<Impl>();
  impl->consumer = std::move(consumer).value();
  impl->queue_id = std::move(queue_id);
  impl->stop = &stop;
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->loop(); });
  return std::unique_ptr<ControlListener>(new ControlListener(std::move(impl)));
}

ControlListener::~ControlListener() {
  impl_->running = false;
  impl_->consumer->wake();  // not after its poll's 100 ms
  impl_->thread.join();
  impl_->consumer->close();
}

}  // namespace sf::worker
