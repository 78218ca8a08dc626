#include "sf/worker/runtime.h"

#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "sf/log/log.h"
#include "sf/worker/control.h"
#include "sf/worker/telemetry.h"

namespace sf::worker {
namespace {

std::string loading_message(int64_t delivered, const Progress& p) {
  std::string m = p.written.load() >= 0
                      ? "Wrote " + std::to_string(p.written.load()) + " documents"
                      : "Loaded and published " + std::to_string(delivered) + " records";
  const int64_t expected = p.expected.load();
  if (expected > 0)
    m += " (" + std::to_string(p.done.load()) + "/" + std::to_string(expected) + ")";
  return m;
}

}  // namespace

int run_worker(const config::WorkerConfig& config, const WorkerBody& body,
               const RuntimeOptions& options) {
  StopSource stop;
  std::optional<SignalWatcher> signals;
  if (options.watch_signals) signals.emplace(stop);
  return run_worker(config, body, options, stop);
}

int run_worker(const config::WorkerConfig& config, const WorkerBody& body,
               const RuntimeOptions& options, StopSource& stop) {
  auto& lg = log::get();
  log::add_secret(config.kafka.password.reveal());
  log::add_secret(config.binance_api_secret.reveal());

  kafka::ProducerOptions po;
  po.settings = config.kafka;
  po.client_id = config.producer_id;
  // Live loaders: latency first (a record goes out at once; under load librdkafka still batches
  // what arrives while a request is in flight). KAFKA_PROPERTIES may say otherwise.
  if (config::is_live(config.kind)) po.properties["linger.ms"] = "0";
  // Other workers (history, archives) wait when the local queue is full (nothing is lost): a
  // smaller queue bounds their memory when the broker lags (100,000 records held ~50 MiB of
  // RSS in archive_bench with the broker busy; librdkafka counts each record's ~250 bytes of
  // bookkeeping in no limit). Live loaders keep 100,000 to ride out a short outage.
  if (!config::is_live(config.kind)) po.properties["queue.buffering.max.messages"] = "20000";
  auto data_producer = kafka::Producer::create(po);
  po.properties.erase("linger.ms");
  po.properties.erase("queue.buffering.max.messages");
  po.client_id = config.producer_id + "-telemetry";
  auto telemetry_producer = data_producer ? kafka::Producer::create(po) : data_producer.error();
  if (!data_producer || !telemetry_producer) {
    const auto& e = data_producer ? telemetry_producer.error() : data_producer.error();
    lg.error("config error: KAFKA_PROPERTIES or the Kafka settings were refused: {}", e.message);
    return 2;
  }
  kafka::Producer& producer = **data_producer;
  // Metadata up front: the first records then go out at once. A broker that is down now may come
  // back later (librdkafka keeps trying), so this only warns.
  for (auto* p : {&producer, telemetry_producer->get()}) {
    const auto& topic = p == &producer ? config.kafka_topic : config.events_topic;
    if (auto st = p->prepare(topic, std::chrono::seconds(5)); !st)
      lg.warn("{}", st.error().message);
  }
  Telemetry telemetry(**telemetry_producer, config.events_topic,
                      {config.queue_id, config.symbol, config.type, config.producer_id},
                      options.clock);

  // The control listener is assigned before `started`, so a stop sent after it is never missed.
  std::unique_ptr<ControlListener> control;
  if (auto c = ControlListener::start(config.kafka, config.control_topic, config.queue_id, stop)) {
    control = std::move(c).value();
  } else {
    lg.error("{}", c.error().message);
    TelemetryEvent ev{EventStatus::error, "cannot read the control topic"};
    ev.error_message = c.error().message;
    (void)telemetry.send(ev);
    (void)(*telemetry_producer)->flush(std::chrono::seconds(10));
    return 1;
  }

  Progress progress;
  std::mutex metrics_mu;
  std::map<std::string, double> metrics;
  auto written = [&] {
    return progress.written.load() >= 0 ? progress.written.load() : producer.delivered();
  };
  auto snapshot = [&](EventStatus status, std::string message) {
    TelemetryEvent ev{status, std::move(message)};
    ev.records_written =
        progress.written.load() >= 0 ? progress.written.load() : producer.delivered();
    ev.last_loaded_timestamp = progress.last_timestamp.load() >= 0 ? progress.last_timestamp.load()
                                                                   : producer.max_delivered_tag();
    std::lock_guard lock(metrics_mu);
    ev.extra = metrics;
    if (progress.expected.load() > 0) {
      ev.extra["progress"] =
          static_cast<double>(progress.done.load()) / static_cast<double>(progress.expected.load());
    }
    return ev;
  };

  lg.info("starting {} for {} {} -> {}", config.type, config.queue_id, config.symbol,
          config.kafka_topic);
  lg.debug("control listener ready");
  (void)telemetry.send(snapshot(EventStatus::started, "started " + config.type));

  StopSource heartbeat_stop;
  std::thread heartbeat([&] {
    while (!heartbeat_stop.wait_for(config.telemetry_interval)) {
      (void)telemetry.send(
          snapshot(EventStatus::loading, loading_message(producer.delivered(), progress)));
    }
  });

  WorkerContext ctx{
      config, producer, stop, progress, *options.clock, [&](const std::string& k, double v) {
        std::lock_guard lock(metrics_mu);
        metrics[k] = v;
      }};
  Status result = ok_status();
  try {
    result = body(ctx);
  } catch (const std::exception& e) {  // a bug, but still a clean `error` event rather than a crash
    result = make_error(std::string("unexpected exception: ") + e.what());
  }
  lg.debug("body done; flushing {} records in flight", producer.in_flight());
  const Status flushed = producer.flush(options.flush_timeout);
  lg.debug("flushed");
  heartbeat_stop.request_stop("done");
  heartbeat.join();
  // The control listener's consumer takes 0.1-0.5 s to come down (librdkafka's threads): it
  // closes while the final event goes out. A stop arriving meanwhile finds the job over.
  const bool stopped = stop.stop_requested();
  std::jthread closing([&] {
    control.reset();
    lg.debug("control listener closed");
  });

  int code = 0;
  TelemetryEvent final_event;
  if (!result.ok() || !flushed.ok()) {
    const std::string why = !result.ok() ? result.error().message : flushed.error().message;
    final_event =
        snapshot(EventStatus::error, "failed after " + std::to_string(written()) + " records");
    final_event.error_message = why;
    lg.error("{}: {}", config.type, why);
    code = 1;
  } else if (stopped) {
    final_event = snapshot(EventStatus::interrupted, "interrupted (" + stop.reason() + ") after " +
                                                         std::to_string(written()) + " records");
  } else {
    final_event =
        snapshot(EventStatus::finished, "finished: " + std::to_string(written()) + " records");
  }
  (void)telemetry.send(final_event);
  if (auto st = (*telemetry_producer)->flush(std::chrono::seconds(30)); !st) {
    lg.error("the final telemetry event was not delivered: {}", st.error().message);
    code = code == 0 ? 1 : code;
  }
  lg.info("{}", final_event.message);
  lg.debug("final event delivered");
  closing.join();
  return code;
}

}  // namespace sf::worker
