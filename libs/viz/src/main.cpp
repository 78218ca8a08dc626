#include <simdjson.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <thread>

#include "sf/kafka/client.h"
#include "sf/log/log.h"
#include "sf/net/guard.h"
#include "sf/viz/visualizer.h"
#include "sf/worker/runtime.h"
#include "sf/worker/telemetry.h"

namespace sf::viz {
namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) {
  g_stop = true;
}

// The source tree's web/visualizer and build/web/node_modules, found from the executable
// (build/bin/visualizer -> ../../web/visualizer, ../web/node_modules).
std::string near_binary(const std::string& rel) {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return rel;
  return (exe.parent_path() / rel).lexically_normal().string();
}

}  // namespace

std::variant<VisualizerOptions, config::ConfigError> visualizer_options_from_env(
    const config::EnvLookup& env) {
  VisualizerOptions o;
  o.host = env("HOST").value_or("127.0.0.1");
  o.allowed_hosts = net::comma_list(env("ALLOWED_HOSTS").value_or(""));
  o.allowed_origins = net::comma_list(env("ALLOWED_ORIGINS").value_or(""));
  auto port = config::int_var(env, "PORT", 8001, 0, 65535, "");
  if (auto* e = std::get_if<config::ConfigError>(&port)) return *e;
  o.port = static_cast<uint16_t>(std::get<int64_t>(port));
  // Defaults: next to the binary (an installed layout), else the source tree it was built from.
  auto first_dir = [](std::initializer_list<std::string> dirs, const char* must_hold) {
    for (const auto& d : dirs) {
      if (std::filesystem::exists(d + "/" + must_hold)) return d;
    }
    return *dirs.begin();
  };
  o.web_dir = env("VISUALIZER_WEB_DIR")
                  .value_or(first_dir({near_binary("../share/streamforge/visualizer"),
                                       std::string(SF_SOURCE_DIR) + "/web/visualizer"},
                                      "index.html"));
  o.vendor_dir = env("WEB_ASSETS_DIR")
                     .value_or(first_dir({near_binary("../share/streamforge/web"),
                                          std::string(SF_SOURCE_DIR) + "/build/web/node_modules"},
                                         "lightweight-charts"));
  if (!std::filesystem::is_regular_file(o.web_dir + "/index.html")) {
    return config::ConfigError{
        "VISUALIZER_WEB_DIR",
        "config error: VISUALIZER_WEB_DIR='" + o.web_dir +
            "' holds no index.html: expected the repository's web/visualizer"};
  }
  o.manager_url = env("QUEUE_MANAGER_URL").value_or(o.manager_url);
  o.api_token = config::Secret(env("API_TOKEN").value_or(""));
  o.manager_token = config::Secret(env("QUEUE_MANAGER_TOKEN").value_or(o.api_token.reveal()));
  o.source = env("SOURCE").value_or("");
  if (!o.source.empty() && !store::valid_collection_name(o.source)) {
    return config::ConfigError{"SOURCE", "config error: SOURCE='" + o.source +
                                             "' is invalid: expected a collection, e.g. "
                                             "btc_graph_rt_2024_08_01"};
  }
  o.events_topic = env("QUEUE_EVENTS_TOPIC").value_or(o.events_topic);
  auto queue = config::int_var(env, "VISUALIZER_CLIENT_QUEUE", 1000, 10, 1'000'000, "messages");
  if (auto* e = std::get_if<config::ConfigError>(&queue)) return *e;
  o.client_queue = static_cast<size_t>(std::get<int64_t>(queue));
  if (env("KAFKA_BOOTSTRAP_SERVERS")) {
    auto k = config::load_kafka_settings(env, config::KafkaRole::consumer);
    if (auto* e = std::get_if<config::ConfigError>(&k)) return *e;
    o.kafka = std::get<config::KafkaSettings>(k);
  }
  return o;
}

int visualizer_main() {
  auto env = config::process_env();
  log::init(log::options_from_env("visualizer", env));
  const bool worker_mode = env("TYPE").has_value();
  config::WorkerConfig cfg;
  if (worker_mode) {
    auto loaded = config::load_analytics_config(env, {"graph_metrics_stream"});
    if (auto* e = std::get_if<config::ConfigError>(&loaded)) config::exit_with_config_error(*e);
    cfg = std::get<config::WorkerConfig>(loaded);
  }
  auto opts = visualizer_options_from_env(env);
  if (auto* e = std::get_if<config::ConfigError>(&opts)) config::exit_with_config_error(*e);
  auto& o = std::get<VisualizerOptions>(opts);
  // A job's visualizer takes a free port unless told one: the dashboard holds 8001.
  if (worker_mode && !env("PORT")) o.port = 0;
  if (!o.api_token.empty()) log::add_secret(o.api_token.reveal());
  std::shared_ptr<store::Store> store = store::open_store_or_exit(env, 8'192);
  auto& lg = log::get();
  if (!worker_mode) {
    auto v = Visualizer::start(o, store);
    if (!v) {
      lg.error("cannot serve on {}:{}: {} (another program on the port? set PORT)", o.host, o.port,
               v.error().message);
      return 1;
    }
    lg.info("visualizer on {} (store {}, queue-manager {})", (*v)->url(), store->describe(),
            o.manager_url);
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return 0;
  }
  auto linger = config::int_var(env, "VISUALIZER_LINGER_MS", 30'000, 0, 86'400'000, "ms");
  if (auto* e = std::get_if<config::ConfigError>(&linger)) config::exit_with_config_error(*e);
  const auto linger_ms = std::chrono::milliseconds(std::get<int64_t>(linger));
  return worker::run_worker(cfg, [&](worker::WorkerContext& ctx) -> Status {
    auto v = Visualizer::start(o, store);
    if (!v)
      return make_error("cannot serve on port " + std::to_string(o.port) + ": " +
                        v.error().message);
    lg.info("visualizer for {} on {}", o.source, (*v)->url());
    ctx.set_metric("port", (*v)->port());
    // Ends once this queue's graph-builder has ended, plus the linger.
    kafka::ConsumerOptions co;
    co.settings = cfg.kafka;
    co.client_id = cfg.producer_id;
    auto events = kafka::Consumer::create(co);
    if (!events) return events.error();
    if (auto st = worker::assign_queue_events(**events, cfg); !st) {
      return st;
    }
    std::optional<std::chrono::steady_clock::time_point> ended;
    simdjson::dom::parser parser;
    while (!ctx.stop.stop_requested()) {
      auto m = (*events)->poll(std::chrono::milliseconds(200));
      ctx.set_metric("clients", static_cast<double>((*v)->clients()));
      if (m && *m && !ended) {
        simdjson::dom::element e;
        std::string_view q, producer, status;
        if (!parser.parse((*m)->value).get(e) && !e["queue_id"].get(q) && q == cfg.queue_id &&
            !e["producer"].get(producer) && producer.rfind("graph-builder", 0) == 0 &&
            !e["status"].get(status) &&
            (status == "finished" || status == "interrupted" || status == "error")) {
          lg.info("the graph-builder {} ended ({}): serving {} ms more", producer, status,
                  linger_ms.count());
          ended = std::chrono::steady_clock::now();
        }
      }
      if (ended && std::chrono::steady_clock::now() - *ended >= linger_ms) break;
    }
    return ok_status();
  });
}

}  // namespace sf::viz
