#include "sf/manager/api.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "sf/core/clock.h"
#include "sf/log/log.h"
#include "sf/net/guard.h"
#include "sf/net/http_server.h"

namespace sf::manager {

using Clock = std::chrono::steady_clock;

namespace {

// The seeds' envelope {"status","message","data"} around every answer: only here, the one place
// that speaks HTTP (the core answers with an Outcome, libs/net knows no envelope).
struct Answer {
  int status = 200;
  std::string body;
};

std::string quoted(const std::string& s) {
  return boost::json::serialize(boost::json::value(s));
}

// Built once at its final size: a page of 50 queues is ~100 KiB, and 32 at a time are answered.
std::string envelope(const std::string& status, const std::string& message,
                     const std::string& data_json) {
  const std::string s = quoted(status), m = quoted(message);
  std::string out;
  out.reserve(s.size() + m.size() + data_json.size() + 32);
  out.append("{\"status\":").append(s).append(",\"message\":").append(m);
  out.append(",\"data\":").append(data_json).append("}");
  return out;
}

Answer error_answer(int http, const std::string& message, const std::string& data_json = "{}") {
  return {http, envelope("error", message, data_json)};
}

int http_status(Outcome o) {
  switch (o) {
    case Outcome::ok:
      return 200;
    case Outcome::malformed:
      return 400;
    case Outcome::invalid:
      return 422;
    case Outcome::not_found:
      return 404;
    case Outcome::conflict:
      return 409;
    case Outcome::unavailable:
      return 503;
  }
  return 500;
}

Answer from(const Reply& r) {
  const int status = http_status(r.outcome);
  return {status, envelope(status == 200 ? "success" : "error", r.message, r.data)};
}

std::string read_file(const std::string& path, bool& ok) {
  std::ifstream in(path, std::ios::binary);
  ok = static_cast<bool>(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string content_type_of(const std::string& name) {
  auto ends = [&](const char* s) {
    const std::string suf(s);
    return name.size() >= suf.size() &&
           name.compare(name.size() - suf.size(), suf.size(), suf) == 0;
  };
  if (ends(".js")) return "application/javascript";
  if (ends(".css")) return "text/css";
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".png")) return "image/png";
  if (ends(".map")) return "application/json";
  return "application/octet-stream";
}

const char* kDocsPage = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>StreamForge queue-manager API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui"});</script>
</body></html>
)";

// The WebSocket clients; shared with the manager's change listener, which may outlive the server.
struct Hub {
  std::mutex mu;
  std::map<uint64_t, std::shared_ptr<net::WsConnection>> clients;
  std::map<uint64_t, Clock::time_point> last_sent;

  void broadcast(const std::string& text) {
    std::lock_guard lock(mu);
    const auto now = Clock::now();
    for (auto& [id, c] : clients) {
      c->send(text);
      last_sent[id] = now;
    }
  }
};

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Equal strings in a time that says nothing about where they differ (or their lengths).
bool same_secret(std::string_view a, std::string_view b) {
  unsigned char da[SHA256_DIGEST_LENGTH], db[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(a.data()), a.size(), da);
  SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), db);
  return CRYPTO_memcmp(da, db, sizeof da) == 0;
}

// The method label of the request metrics: a fixed set, whatever a client sends.
std::string method_label(const std::string& m) {
  static const std::set<std::string> known = {"GET",   "POST", "PUT",    "DELETE",
                                              "PATCH", "HEAD", "OPTIONS"};
  return known.count(m) ? m : "other";
}

}  // namespace

struct ApiServer::Impl {
  QueueManager& manager;
  std::shared_ptr<Metrics> metrics;
  ApiOptions options;
  std::unique_ptr<net::HttpServer> server;
  std::shared_ptr<Hub> hub = std::make_shared<Hub>();
  std::mutex hb_mu;
  std::condition_variable hb_cv;
  bool stopping = false;
  std::thread heartbeat;
  // The readiness check's last result, written by its own thread.
  std::thread readiness;
  std::atomic<bool> ready{false};
  std::atomic<int64_t> checked_at_ms{0};  // steady clock: when the last check returned
  std::mutex ready_mu;
  std::string not_ready_because = "not checked yet";

  Impl(QueueManager& m, std::shared_ptr<Metrics> mt, ApiOptions o)
      : manager(m), metrics(std::move(mt)), options(std::move(o)) {}

  static net::ServerResponse refusal(int status, const std::string& message) {
    net::ServerResponse r;
    r.status = status;
    r.body = error_answer(status, message).body;
    return r;
  }

  static bool health_probe(const std::string& p) {
    return p == "/health/live" || p == "/health/ready" || p == "/health/startup";
  }

  // Everything that can refuse a request from its head alone, in this order: 421, 403, 415, 401.
  std::optional<net::ServerResponse> gate(const net::ServerRequest& r) const {
    if (auto no = net::check_browser_request(
            r, {options.host, options.allowed_hosts, options.allowed_origins})) {
      return refusal(no->status, no->message);
    }
    const bool mutating = r.method == "POST";
    if ((mutating || (options.token_for_reads && !health_probe(r.path))) && !authorized(r)) {
      return unauthorized();
    }
    return std::nullopt;
  }

  net::HeadDecision on_head(const net::ServerRequest& head) {
    net::HeadDecision d;
    d.answer = gate(head);
    if (d.answer) count(head, d.answer->status, Clock::now());
    // Only a start has a body: a workflow of 68 jobs is ~20 KiB.
    d.body_limit = head.path == "/queues/start" ? options.start_body_limit : 4096;
    return d;
  }

  static net::ServerResponse unauthorized() {
    net::ServerResponse resp = answer(error_answer(
        401, "this call needs the API token: send the header Authorization: Bearer <API_TOKEN>"));
    resp.headers["WWW-Authenticate"] = "Bearer";
    return resp;
  }

  static net::ServerResponse answer(Answer a) {
    net::ServerResponse r;
    r.status = a.status;
    r.body = std::move(a.body);
    return r;
  }

  // Who started or stopped what (review #12): one line per mutating call, with the client's
  // address, the outcome and the queue (the id is the manager's; nothing of the body is logged).
  static void audit(const net::ServerRequest& r, const Reply& reply, const std::string& queue_id) {
    log::get().info("audit: {} {} {} -> {} {}{}", r.remote, r.method, r.path,
                    http_status(reply.outcome), queue_id.empty() ? "" : "queue ",
                    queue_id.substr(0, 80));
  }
  static std::string queue_id_of(const std::string& data) {
    boost::system::error_code ec;
    auto v = boost::json::parse(data, ec);
    const auto* id = !ec && v.is_object() ? v.as_object().if_contains("queue_id") : nullptr;
    return id && id->is_string() ? std::string(id->as_string()) : std::string();
  }

  bool authorized(const net::ServerRequest& r) const {
    if (options.api_token.empty()) return true;
    const std::string h = r.header("authorization");
    if (h.size() < 7 || lower(h.substr(0, 7)) != "bearer ") return false;
    return same_secret(std::string_view(h).substr(7), options.api_token);
  }

  // The route template of a path (for metrics: never one label per queue id).
  static std::string route_of(const net::ServerRequest& r) {
    if (r.path.rfind("/queues/", 0) == 0 && r.path != "/queues/start" && r.path != "/queues/stop") {
      return "/queues/{queue_id}";
    }
    if (r.path.rfind("/docs/", 0) == 0) return "/docs/{file}";
    static const std::set<std::string> known = {"/queues/start", "/queues/stop",  "/queues",
                                                "/health/live",  "/health/ready", "/health/startup",
                                                "/metrics",      "/openapi.json", "/docs"};
    return known.count(r.path) ? r.path : "other";
  }

  net::ServerResponse handle(const net::ServerRequest& r) {
    const auto t0 = Clock::now();
    net::ServerResponse out;
    if (auto refused = gate(r)) {
      out = std::move(*refused);
    } else {
      try {
        out = route(r);
      } catch (const std::exception& e) {
        log::get().error("{} {}: {}", r.method, r.path, e.what());
        out = answer(error_answer(500, "internal error (the manager's log says more)"));
      }
    }
    if (!out.block) count(r, out.status, t0);
    return out;
  }

  // For a route that may wait on I/O (the store, a Kafka flush): called again off the io
  // threads, so that nothing behind it (a health probe) waits with it. Review #5.
  static net::ServerResponse on_blocking_threads() {
    net::ServerResponse resp;
    resp.block = true;
    return resp;
  }

  void count(const net::ServerRequest& r, int status, Clock::time_point t0) {
    const std::string route = route_of(r);
    metrics->inc(
        "streamforge_http_requests_total",
        {{"route", route}, {"method", method_label(r.method)}, {"code", std::to_string(status)}});
    metrics->observe("streamforge_http_request_duration_seconds", {{"route", route}},
                     std::chrono::duration<double>(Clock::now() - t0).count());
  }

  net::ServerResponse route(const net::ServerRequest& r) {
    const std::string& p = r.path;
    auto method_not_allowed = [&](const char* allowed) {
      auto a = error_answer(405, r.method + " is not allowed on " + p + "; use " + allowed);
      net::ServerResponse resp = answer(a);
      resp.headers["Allow"] = allowed;
      return resp;
    };
    if (p == "/queues/start") {
      if (r.method != "POST") return method_not_allowed("POST");
      if (!authorized(r)) return unauthorized();
      if (!r.may_block) return on_blocking_threads();
      Reply reply = manager.start_queue(r.body);
      audit(r, reply, reply.outcome == Outcome::ok ? queue_id_of(reply.data) : "");
      return answer(from(reply));
    }
    if (p == "/queues/stop") {
      if (r.method != "POST") return method_not_allowed("POST");
      if (!authorized(r)) return unauthorized();
      if (!r.may_block) return on_blocking_threads();  // it flushes the stop command to Kafka
      auto it = r.query.find("queue_id");
      const std::string id = it == r.query.end() ? "" : it->second;
      Reply reply = manager.stop_queue(id);
      audit(r, reply, id);
      return answer(from(reply));
    }
    // Reads: GET, and HEAD (the same head, no body: the server drops it). Review #27.
    const bool read_method = r.method == "GET" || r.method == "HEAD";
    const bool read_route = p == "/queues" || p == "/queues/" || p.rfind("/queues/", 0) == 0 ||
                            p.rfind("/health/", 0) == 0 || p == "/metrics" ||
                            p == "/openapi.json" || p == "/docs" || p.rfind("/docs/", 0) == 0;
    if (read_route && !read_method) return method_not_allowed("GET, HEAD");
    if (p == "/queues" || p == "/queues/") {
      if (!r.may_block) return on_blocking_threads();  // a page may hold queues only stored
      return answer(from(manager.list_queues(r.query)));
    }
    if (p.rfind("/queues/", 0) == 0) {
      if (r.may_block) return answer(from(manager.get_queue(p.substr(8))));
      if (auto reply = manager.get_queue_from_memory(p.substr(8))) return answer(from(*reply));
      return on_blocking_threads();  // ended long ago: read from the store
    }
    if (p == "/health/live" || p == "/health/startup") {
      // From memory only (atomics): never behind the manager's lock or any I/O.
      std::string why;
      if (p == "/health/startup" && !manager.started(why)) {
        return answer(error_answer(503, "starting: " + why));
      }
      return answer({200, envelope("success", p == "/health/live" ? "alive" : "started",
                                   "{\"queues\":" + std::to_string(manager.queues()) + "}")});
    }
    if (p == "/health/ready") {
      // A check that has not come back for three intervals is a store or broker that hangs.
      const int64_t age = steady_ms() - checked_at_ms.load();
      if (checked_at_ms.load() > 0 && age > 3 * options.ready_check.count()) {
        return answer(
            error_answer(503, "not ready: the store and Kafka check has not returned for " +
                                  std::to_string(age / 1000) + " s"));
      }
      if (!ready.load()) {
        std::lock_guard lock(ready_mu);
        return answer(error_answer(503, "not ready: " + not_ready_because));
      }
      return answer({200, envelope("success", "All systems operational", "{}")});
    }
    if (p == "/metrics") {
      {
        std::lock_guard lock(hub->mu);
        metrics->set("streamforge_websocket_clients", {}, static_cast<double>(hub->clients.size()));
      }
      net::ServerResponse resp;
      resp.body = metrics->text();
      resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
      return resp;
    }
    if (p == "/openapi.json") {
      net::ServerResponse resp;
      resp.body = openapi_json();
      return resp;
    }
    if (p == "/docs" || p == "/docs/") {
      net::ServerResponse resp;
      resp.body = kDocsPage;
      resp.content_type = "text/html; charset=utf-8";
      return resp;
    }
    if (p.rfind("/docs/", 0) == 0) {
      const std::string name = p.substr(6);
      if (name.empty() || name.find("..") != std::string::npos ||
          name.find('/') != std::string::npos) {
        return answer(error_answer(404, "no such file"));
      }
      bool ok = false;
      std::string body = read_file(options.swagger_dir + "/" + name, ok);
      if (!ok) {
        return answer(error_answer(
            404, "Swagger UI file " + name + " not found in '" + options.swagger_dir +
                     "'. Hint: make build installs the npm package swagger-ui-dist there "
                     "(SWAGGER_UI_DIR)"));
      }
      net::ServerResponse resp;
      resp.body = std::move(body);
      resp.content_type = content_type_of(name);
      resp.headers["Cache-Control"] = "max-age=3600";
      return resp;
    }
    return answer(error_answer(
        404, "no route " + r.method + " " + p + "; see /docs or /openapi.json for the API"));
  }

  // Kafka and the store, checked every ready_check on this thread (their timeouts are theirs):
  // /health/ready answers the last result at once. The API says which part failed; the log
  // has the details (addresses, paths), once per change.
  void readiness_loop() {
    std::string last;
    for (;;) {
      std::string why;
      const bool ok = manager.ready(why);
      std::string shown = "kafka and the store reachable";
      if (!ok) shown = why.substr(0, why.find(':')) + " unreachable";
      {
        std::lock_guard lock(ready_mu);
        not_ready_because = shown;
      }
      ready = ok;
      checked_at_ms = steady_ms();
      if (why != last) {
        if (ok) {
          log::get().info("ready: {}", shown);
        } else {
          log::get().warn("not ready: {}", why);
        }
        last = why;
      }
      std::unique_lock lock(hb_mu);
      if (hb_cv.wait_for(lock, options.ready_check, [&] { return stopping; })) return;
    }
  }

  void heartbeat_loop() {
    for (;;) {
      {
        std::unique_lock lock(hb_mu);
        if (hb_cv.wait_for(lock, options.heartbeat / 2, [&] { return stopping; })) return;
      }
      const auto now = Clock::now();
      const std::string beat = "{\"event\":\"heartbeat\",\"timestamp\":" +
                               std::to_string(SystemClock().now_ms() / 1000.0) + "}";
      std::lock_guard lock(hub->mu);
      for (auto& [id, c] : hub->clients) {
        if (now - hub->last_sent[id] >= options.heartbeat) {
          c->send(beat);
          hub->last_sent[id] = now;
        }
      }
    }
  }
};

ApiServer::ApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<ApiServer>> ApiServer::start(QueueManager& manager,
                                                    std::shared_ptr<Metrics> metrics,
                                                    ApiOptions options) {
  auto impl = std::make_unique<Impl>(manager, metrics, options);
  metrics->describe("streamforge_http_requests_total", "counter",
                    "HTTP requests by route, method and status code");
  metrics->describe_histogram("streamforge_http_request_duration_seconds",
                              "HTTP request handling time by route",
                              {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1});
  metrics->describe("streamforge_websocket_clients", "gauge", "Connected /ws/topic clients");
  metrics->describe("streamforge_websocket_pushes_total", "counter",
                    "Queue changes pushed to the /ws/topic clients (each to every client)");
  metrics->inc("streamforge_websocket_pushes_total", {}, 0);
  Impl* raw = impl.get();
  net::WsHandler ws;
  ws.accept = [raw](const net::ServerRequest& r, net::ServerResponse& reject) {
    if (r.path != "/ws/topic") return false;
    if (raw->options.token_for_reads && !raw->authorized(r)) {
      reject = raw->unauthorized();
      return false;
    }
    return true;
  };
  ws.on_open = [raw](std::shared_ptr<net::WsConnection> c) {
    c->send(
        "{\"event\":\"connected\",\"message\":\"StreamForge queue-manager: state changes "
        "follow\"}");
    std::lock_guard lock(raw->hub->mu);
    raw->hub->clients[c->id()] = c;
    raw->hub->last_sent[c->id()] = Clock::now();
  };
  ws.on_close = [raw](std::shared_ptr<net::WsConnection> c) {
    std::lock_guard lock(raw->hub->mu);
    raw->hub->clients.erase(c->id());
    raw->hub->last_sent.erase(c->id());
  };
  net::HttpServerOptions ho;
  ho.host = options.host;
  ho.port = options.port;
  ho.threads = options.threads;
  // What waits on I/O: the store reads share one SQLite connection (a second thread beside
  // them only waits for its lock), but a stop flushes Kafka (up to 10 s while it is down) and
  // must not hold every store read behind it.
  ho.blocking_threads = 2;
  ho.max_connections = options.max_connections;
  ho.on_head = [raw](const net::ServerRequest& head) { return raw->on_head(head); };
  ho.error_body = [](int status, const std::string& message) {
    return error_answer(status, message).body;
  };
  ho.server_name = "streamforge-queue-manager";
  auto server = net::HttpServer::start(
      ho, [raw](const net::ServerRequest& r) { return raw->handle(r); }, ws);
  if (!server) return server.error();
  impl->server = std::move(server).value();
  manager.on_change([hub = impl->hub, m = impl->metrics](const std::string& text) {
    m->inc("streamforge_websocket_pushes_total");
    hub->broadcast(text);
  });
  impl->heartbeat = std::thread([raw] { raw->heartbeat_loop(); });
  impl->readiness = std::thread([raw] { raw->readiness_loop(); });
  return std::unique_ptr<ApiServer>(new ApiServer(std::move(impl)));
}

ApiServer::~ApiServer() {
  {
    std::lock_guard lock(impl_->hb_mu);
    impl_->stopping = true;
  }
  impl_->hb_cv.notify_all();
  if (impl_->heartbeat.joinable()) impl_->heartbeat.join();
  if (impl_->readiness.joinable()) impl_->readiness.join();
  impl_->server.reset();
  std::lock_guard lock(impl_->hub->mu);
  impl_->hub->clients.clear();
}

uint16_t ApiServer::port() const {
  return impl_->server->port();
}
std::string ApiServer::url() const {
  return impl_->server->url();
}

}  // namespace sf::manager
