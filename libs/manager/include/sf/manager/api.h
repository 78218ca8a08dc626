// The queue-manager's HTTP API and WebSocket on one port (SPEC §5):
//
//   POST /queues/start            QueueCreate or workflow              200 | 400 | 401 | 422
//   POST /queues/stop?queue_id=                                        200 | 401 | 404 | 409 | 503
//   GET  /queues?status=&symbol=&limit=&offset=                        200 | 422
//   GET  /queues/{queue_id}                                            200 | 404
//   GET  /health/live | /health/ready | /health/startup                200 | 503
//   GET  /metrics (Prometheus text), /openapi.json, /docs (Swagger UI, served from local files)
//   WS   /ws/topic: {"event":"connected"}, then every state change as it is stored, and
//        {"event":"heartbeat"} every `heartbeat` when nothing else was sent.
//
// With API_TOKEN set, every mutating call needs "Authorization: Bearer <token>" (401 otherwise).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "sf/core/result.h"
#include "sf/manager/metrics.h"
#include "sf/manager/service.h"

namespace sf::manager {

struct ApiOptions {
  std::string host = "0.0.0.0";
  uint16_t port = 8000;
  int threads = 2;
  std::string api_token;    // API_TOKEN
  std::string swagger_dir;  // SWAGGER_UI_DIR: the files of the npm package swagger-ui-dist
  std::chrono::milliseconds heartbeat{10'000};
};

std::string openapi_json();

class ApiServer {
 public:
  static Result<std::unique_ptr<ApiServer>> start(QueueManager& manager,
                                                  std::shared_ptr<Metrics> metrics,
                                                  ApiOptions options);
  ~ApiServer();
  uint16_t port() const;
  std::string url() const;

  struct Impl;

 private:
  explicit ApiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The whole main() of the queue-manager program.
int queue_manager_main(int argc, char** argv);

}  // namespace sf::manager
