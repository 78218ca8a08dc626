// The visualizer (SPEC §6): the platform's web UI and its JSON API, on the project's own HTTP +
// WebSocket server.
//
//   static UI   /  (web/visualizer: plain ES modules) and /vendor/<npm package>/... (pinned npm
//               assets from build/web: lightweight-charts, uplot, cytoscape, swagger-ui-dist)
//   API         /api/... (OpenAPI at /api/openapi.json, Swagger UI at /api/docs), the seeds'
//               envelope; /candles/{collection}/{symbol} and /rsi/{collection}/{symbol} as the
//               original had them; queue calls go through to the queue-manager with its token
//   WebSockets  /ws/topic/{kafka_topic} (one consumer per topic, fanned out), /ws/events
//               (QUEUE_EVENTS_TOPIC), /ws/source (new and changed documents of SOURCE); each
//               client has a bounded queue: a slow one loses its oldest messages and is told so
//
// Mutating routes need API_TOKEN (Bearer) when it is set; reads never do.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sf/config/env.h"
#include "sf/config/worker_config.h"
#include "sf/core/result.h"
#include "sf/store/store.h"

namespace sf::viz {

struct VisualizerOptions {
  std::string host = "127.0.0.1";  // HOST
  uint16_t port = 8001;            // PORT
  std::string web_dir;             // VISUALIZER_WEB_DIR: the UI (default <source>/web/visualizer)
  std::string vendor_dir;          // WEB_ASSETS_DIR: npm packages (default build/web/node_modules)
  std::string manager_url = "http://127.0.0.1:8000";  // QUEUE_MANAGER_URL
  config::Secret manager_token;                       // QUEUE_MANAGER_TOKEN (default API_TOKEN)
  config::Secret api_token;     // API_TOKEN: required on mutating routes when set
  config::KafkaSettings kafka;  // KAFKA_BOOTSTRAP_SERVERS... (empty: no live topics)
  std::string events_topic = "queue-events";
  std::string source;          // SOURCE: a collection followed on /ws/source
  size_t client_queue = 1000;  // VISUALIZER_CLIENT_QUEUE: messages a slow client may lag
  // ALLOWED_HOSTS / ALLOWED_ORIGINS, as the queue-manager's: this server forwards starts and
  // stops with the platform's token, so web pages of other origins must not reach it (403/421/415).
  std::vector<std::string> allowed_hosts, allowed_origins;
};

std::variant<VisualizerOptions, config::ConfigError> visualizer_options_from_env(
    const config::EnvLookup& env);

class Visualizer {
 public:
  // Starts serving; the store is shared with the caller.
  static Result<std::unique_ptr<Visualizer>> start(const VisualizerOptions& o,
                                                   std::shared_ptr<store::Store> store);
  ~Visualizer();
  uint16_t port() const;
  std::string url() const;
  int64_t clients() const;

  struct Impl;

 private:
  explicit Visualizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The whole main(): a dashboard without TYPE; a worker (SPEC §3) with TYPE=graph_metrics_stream,
// which follows SOURCE and ends once its queue's graph-builder has ended plus VISUALIZER_LINGER_MS.
int visualizer_main();

}  // namespace sf::viz
