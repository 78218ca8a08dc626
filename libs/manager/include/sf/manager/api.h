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
// With API_TOKEN set, every mutating call needs "Authorization: Bearer <token>" (401 otherwise),
// and with `token_for_reads` every call but the health probes does.
//
// Guards, all before a request's body is read: the Host must be a loopback name, an IP literal,
// HOST or one of `allowed_hosts` (421: DNS rebinding); a browser's Origin must be this server's
// own or one of `allowed_origins` (403: cross-site requests and WebSocket hijacking); POSTs must be
// application/json (415: the "simple requests" any web page can send); the body is bounded per
// route (413). Health probes never wait on the manager: /health/live answers from memory,
// /health/ready reports the last result of a check that runs in the background.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "sf/core/result.h"
#include "sf/manager/metrics.h"
#include "sf/manager/service.h"

namespace sf::manager {

struct ApiOptions {
  std::string host = "127.0.0.1";  // HOST
  uint16_t port = 8000;
  int threads = 1;               // HTTP_THREADS: io threads (what may wait on I/O runs on others)
  std::string api_token;         // API_TOKEN
  bool token_for_reads = false;  // API_TOKEN_FOR_READS=1
  std::vector<std::string> allowed_hosts;    // ALLOWED_HOSTS (comma separated; "*": any)
  std::vector<std::string> allowed_origins;  // ALLOWED_ORIGINS ("https://ui.example:443", ...)
  size_t max_connections = 1024;             // MAX_CONNECTIONS
  size_t start_body_limit = 256 * 1024;      // a 68-job workflow is ~20 KiB
  std::chrono::milliseconds ready_check{2'000};
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
