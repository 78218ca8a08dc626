#include <openssl/crypto.h>

#include <atomic>
#include <boost/json.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "fanout.h"
#include "sf/log/log.h"
#include "sf/net/guard.h"
#include "sf/net/http_server.h"
#include "sf/net/transport.h"
#include "sf/viz/data.h"
#include "sf/viz/visualizer.h"

namespace sf::viz {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

net::ServerResponse respond(int status, std::string body) {
  net::ServerResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

net::ServerResponse from_result(const Result<std::string>& r) {
  if (!r) return respond(404, error_json(r.error().message));
  return respond(200, *r);
}

std::string content_type_of(const std::string& name) {
  static const std::map<std::string, std::string> types = {{".html", "text/html; charset=utf-8"},
                                                           {".js", "application/javascript"},
                                                           {".mjs", "application/javascript"},
                                                           {".css", "text/css"},
                                                           {".json", "application/json"},
                                                           {".svg", "image/svg+xml"},
                                                           {".png", "image/png"},
                                                           {".map", "application/json"}};
  auto it = types.find(fs::path(name).extension().string());
  return it == types.end() ? "application/octet-stream" : it->second;
}

// A file under `root`, never outside it.
std::optional<std::string> read_under(const std::string& root, const std::string& rel) {
  if (rel.find("..") != std::string::npos || root.empty()) return std::nullopt;
  std::error_code ec;
  const fs::path p = fs::weakly_canonical(fs::path(root) / rel, ec);
  const fs::path r = fs::weakly_canonical(root, ec);
  if (ec || p.string().rfind(r.string(), 0) != 0 || !fs::is_regular_file(p, ec))
    return std::nullopt;
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

int64_t int_param(const net::ServerRequest& q, const char* name, int64_t fallback, int64_t lo,
                  int64_t hi, std::string& err) {
  auto it = q.query.find(name);
  if (it == q.query.end() || it->second.empty()) return fallback;
  char* end = nullptr;
  const long long v = std::strtoll(it->second.c_str(), &end, 10);
  if (*end != '\0' || v < lo || v > hi) {
    err = std::string(name) + "='" + it->second + "' is invalid: expected a whole number from " +
          std::to_string(lo) + " to " + std::to_string(hi);
    return fallback;
  }
  return v;
}

const char* kOpenApi =
    R"JSON({"openapi":"3.0.3","info":{"title":"StreamForge visualizer","version":"0.1.0",
"description":"The web UI's JSON API. Every answer is {status, message, data}; errors have status error and a message saying what to fix."},
"paths":{
"/api/queues":{"get":{"summary":"Queues with their jobs (from the queue-manager)"}},
"/api/queues/{queue_id}":{"get":{"summary":"One queue","parameters":[{"name":"queue_id","in":"path","required":true,"schema":{"type":"string"}}]}},
"/api/queues/start":{"post":{"summary":"Start a workflow (QueueCreate or workflow JSON); needs API_TOKEN when set"}},
"/api/queues/stop":{"post":{"summary":"Stop a queue","parameters":[{"name":"queue_id","in":"query","required":true,"schema":{"type":"string"}}]}},
"/api/candles/{collection}/{symbol}":{"get":{"summary":"OHLCV by open_time from a candle collection or graph nodes","parameters":[{"name":"from","in":"query","schema":{"type":"integer"}},{"name":"to","in":"query","schema":{"type":"integer"}},{"name":"limit","in":"query","schema":{"type":"integer","maximum":100000}}]}},
"/api/indicators/{collection}/{symbol}":{"get":{"summary":"RSI-14, SMA-20, EMA-20, Bollinger(20,2), daily VWAP"}},
"/api/heatmap/{collection}/{symbol}":{"get":{"summary":"Traded volume by time bucket x price bin, buy/sell","parameters":[{"name":"bucket_ms","in":"query","schema":{"type":"integer"}},{"name":"bins","in":"query","schema":{"type":"integer"}}]}},
"/api/graph/{collection}":{"get":{"summary":"Nodes and edges of the last N bars","parameters":[{"name":"bars","in":"query","schema":{"type":"integer"}},{"name":"symbol","in":"query","schema":{"type":"string"}}]}},
"/api/model/{collection}":{"get":{"summary":"The model card"}},
"/api/predictions/{collection}":{"get":{"summary":"Predictions (newest last) and live accuracy"}},
"/candles/{collection}/{symbol}":{"get":{"summary":"The original's candles endpoint (sorted by open_time)"}},
"/rsi/{collection}/{symbol}":{"get":{"summary":"The original's RSI endpoint (RSI-14, Wilder)"}},
"/ws/topic/{kafka_topic}":{"get":{"summary":"WebSocket: live messages of a Kafka topic"}},
"/ws/events":{"get":{"summary":"WebSocket: live telemetry events"}},
"/ws/source":{"get":{"summary":"WebSocket: new and changed documents of SOURCE"}}}})JSON";

}  // namespace

struct Visualizer::Impl {
  VisualizerOptions o;
  std::shared_ptr<store::Store> store;
  std::unique_ptr<net::HttpServer> server;
  std::mutex manager_mu;
  std::unique_ptr<net::HttpClient> manager;
  std::unique_ptr<TopicFanout> topics;
  std::unique_ptr<SourceFollower> source;

  bool authorised(const net::ServerRequest& r) const {
    if (o.api_token.empty()) return true;
    const std::string want = "Bearer " + o.api_token.reveal();
    const std::string got = r.header("authorization");
    return got.size() == want.size() && CRYPTO_memcmp(got.data(), want.data(), got.size()) == 0;
  }

  net::ServerResponse proxy(const std::string& method, const std::string& target,
                            const std::string& body) {
    std::lock_guard lock(manager_mu);
    if (!manager) {
      auto c = net::HttpClient::create(o.manager_url);
      if (!c)
        return respond(503,
                       error_json("QUEUE_MANAGER_URL " + o.manager_url + ": " + c.error().message));
      manager = std::move(c).value();
    }
    net::HttpRequest rq;
    rq.method = method;
    rq.target = target;
    rq.body = body;
    rq.headers["Content-Type"] = "application/json";
    if (!o.manager_token.empty())
      rq.headers["Authorization"] = "Bearer " + o.manager_token.reveal();
    rq.idempotent = method == "GET";
    auto r = manager->request(rq);
    if (!r) {
      return respond(503,
                     error_json("the queue-manager at " + o.manager_url + " does not answer (" +
                                r.error().message + "): is it running? (QUEUE_MANAGER_URL)"));
    }
    return respond(r->status, r->body);
  }

  net::ServerResponse handle(const net::ServerRequest& r) {
    const std::string& p = r.path;
    auto parts = [&](const std::string& prefix) {
      std::vector<std::string> out;
      std::string rest = p.substr(prefix.size());
      size_t start = 0;
      while (start <= rest.size()) {
        const size_t at = rest.find('/', start);
        out.push_back(rest.substr(start, at == std::string::npos ? std::string::npos : at - start));
        if (at == std::string::npos) break;
        start = at + 1;
      }
      return out;
    };
    auto range = [&](std::string& err) {
      Range rg;
      rg.from_ms = int_param(r, "from", 0, 0, INT64_MAX, err);
      rg.to_ms = int_param(r, "to", INT64_MAX, 0, INT64_MAX, err);
      rg.limit = int_param(r, "limit", 10'000, 1, 100'000, err);
      return rg;
    };
    auto valid = [](const std::string& c) { return store::valid_collection_name(c); };
    // Queues, through the queue-manager.
    if (p == "/api/queues" && r.method == "GET") {
      std::string t = "/queues";
      if (auto q = r.target.find('?'); q != std::string::npos) t += r.target.substr(q);
      return proxy("GET", t, "");
    }
    if (p.rfind("/api/queues/", 0) == 0 && r.method == "GET") {
      return proxy("GET", "/queues/" + net::url_encode(p.substr(12)), "");
    }
    if ((p == "/api/queues/start" || p == "/api/queues/stop") && r.method == "POST") {
      if (!authorised(r))
        return respond(
            401,
            error_json("this call needs the platform's API_TOKEN: Authorization: Bearer <token>"));
      if (r.header("content-type").rfind("application/json", 0) != 0 && p == "/api/queues/start") {
        return respond(415, error_json("send the workflow as Content-Type: application/json"));
      }
      if (p == "/api/queues/start") return proxy("POST", "/queues/start", r.body);
      auto id = r.query.find("queue_id");
      if (id == r.query.end())
        return respond(422, error_json("queue_id is missing: /api/queues/stop?queue_id=<id>"));
      return proxy("POST", "/queues/stop?queue_id=" + net::url_encode(id->second), "");
    }
    // Data.
    for (const char* prefix :
         {"/api/candles/", "/candles/", "/api/indicators/", "/rsi/", "/api/heatmap/"}) {
      if (p.rfind(prefix, 0) != 0 || r.method != "GET") continue;
      auto a = parts(prefix);
      if (a.size() != 2 || !valid(a[0]) || !config::valid_symbol(a[1])) {
        return respond(400,
                       error_json(std::string("expected ") + prefix + "<collection>/<SYMBOL>"));
      }
      std::string err;
      const Range rg = range(err);
      if (!err.empty()) return respond(400, error_json(err));
      const std::string pre = prefix;
      if (pre == "/api/candles/" || pre == "/candles/")
        return from_result(candles_json(*store, a[0], a[1], rg));
      if (pre == "/api/indicators/") return from_result(indicators_json(*store, a[0], a[1], rg));
      if (pre == "/rsi/") return from_result(rsi_json(*store, a[0], a[1], rg));
      const int64_t bucket = int_param(r, "bucket_ms", 60'000, 1'000, 86'400'000, err);
      const int64_t bins = int_param(r, "bins", 40, 1, 500, err);
      if (!err.empty()) return respond(400, error_json(err));
      return from_result(heatmap_json(*store, a[0], a[1], rg, bucket, static_cast<int>(bins)));
    }
    for (const char* prefix : {"/api/graph/", "/api/model/", "/api/predictions/"}) {
      if (p.rfind(prefix, 0) != 0 || r.method != "GET") continue;
      const std::string c = p.substr(std::string(prefix).size());
      if (!valid(c))
        return respond(400, error_json(std::string("expected ") + prefix + "<collection>"));
      std::string err;
      auto sym = r.query.count("symbol") ? r.query.at("symbol") : std::string();
      if (!sym.empty() && !config::valid_symbol(sym))
        return respond(400, error_json("symbol '" + sym + "' is not a symbol"));
      const std::string pre = prefix;
      if (pre == "/api/graph/") {
        const int64_t bars = int_param(r, "bars", 60, 1, 2000, err);
        if (!err.empty()) return respond(400, error_json(err));
        return from_result(graph_json(*store, c, sym, bars));
      }
      if (pre == "/api/model/") return from_result(model_json(*store, c));
      const int64_t limit = int_param(r, "limit", 500, 1, 100'000, err);
      if (!err.empty()) return respond(400, error_json(err));
      return from_result(predictions_json(*store, c, sym, limit));
    }
    if (p == "/api/openapi.json") return respond(200, kOpenApi);
    if (p == "/api/docs") {
      auto rr = respond(200, R"(<!doctype html><html><head><title>StreamForge visualizer API</title>
<link rel="stylesheet" href="/vendor/swagger-ui-dist/swagger-ui.css"></head><body><div id="swagger-ui"></div>
<script src="/vendor/swagger-ui-dist/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/api/openapi.json", dom_id: "#swagger-ui"});</script></body></html>)");
      rr.content_type = "text/html; charset=utf-8";
      return rr;
    }
    if (p == "/api/config") {
      json::object c{{"source", o.source},
                     {"events_topic", o.events_topic},
                     {"live", !o.kafka.bootstrap_servers.empty()},
                     {"token_required", !o.api_token.empty()}};
      return respond(200, json::serialize(json::object{
                              {"status", "success"}, {"message", "visualizer"}, {"data", c}}));
    }
    if (p == "/health") return respond(200, R"({"status":"success","message":"ok","data":{}})");
    // Static files.
    if (r.method == "GET" && p.rfind("/vendor/", 0) == 0) {
      if (auto f = read_under(o.vendor_dir, p.substr(8))) {
        auto rr = respond(200, std::move(*f));
        rr.content_type = content_type_of(p);
        rr.headers["Cache-Control"] = "max-age=86400";
        return rr;
      }
      return respond(404, error_json("no such asset: run make build (tools/install-web.sh)"));
    }
    if (r.method == "GET" && p.rfind("/api/", 0) != 0) {
      const std::string rel = p == "/" ? "index.html" : p.substr(1);
      if (auto f = read_under(o.web_dir, rel)) {
        auto rr = respond(200, std::move(*f));
        rr.content_type = content_type_of(rel);
        return rr;
      }
    }
    return respond(404, error_json("no route " + r.method + " " + p));
  }
};

Visualizer::Visualizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Visualizer::~Visualizer() {
  // The feeds' threads stop first (a send racing the server's teardown would outlive its
  // io_context), then the server, then the feeds' objects (the server's callbacks use them).
  if (impl_->source) impl_->source->stop();
  if (impl_->topics) impl_->topics->stop();
  impl_->server.reset();
  impl_->source.reset();
  impl_->topics.reset();
}

Result<std::unique_ptr<Visualizer>> Visualizer::start(const VisualizerOptions& o,
                                                      std::shared_ptr<store::Store> store) {
  auto impl = std::make_unique<Impl>();
  impl->o = o;
  impl->store = std::move(store);
  if (!o.kafka.bootstrap_servers.empty()) impl->topics = std::make_unique<TopicFanout>(o.kafka);
  if (!o.source.empty()) impl->source = std::make_unique<SourceFollower>(impl->store, o.source);
  Impl* self = impl.get();
  net::HttpServerOptions so;
  so.host = o.host;
  so.port = o.port;
  so.threads = 2;
  so.body_limit = 256 * 1024;
  so.ws_max_queued = o.client_queue;
  so.ws_drop_oldest = true;
  so.server_name = "streamforge-visualizer";
  // Before a byte of the body: browser-safety (the POST routes forward the platform's token).
  so.on_head = [self](const net::ServerRequest& head) {
    net::HeadDecision d;
    if (auto no = net::check_browser_request(
            head, {self->o.host, self->o.allowed_hosts, self->o.allowed_origins})) {
      d.answer = respond(no->status, error_json(no->message));
    }
    return d;
  };
  so.error_body = [](int, const std::string& message) { return error_json(message); };
  net::WsHandler ws;
  ws.accept = [self](const net::ServerRequest& r, net::ServerResponse& reject) {
    if (r.path.rfind("/ws/topic/", 0) == 0) {
      if (!self->topics) {
        reject.status = 503;
        reject.body = error_json("no Kafka configured (KAFKA_BOOTSTRAP_SERVERS)");
        return false;
      }
      return config::valid_topic_name(r.path.substr(10));
    }
    if (r.path == "/ws/events") return self->topics != nullptr;
    if (r.path == "/ws/source") return self->source != nullptr;
    return false;
  };
  ws.on_open_request = [self](std::shared_ptr<net::WsConnection> c, const net::ServerRequest& r) {
    if (r.path == "/ws/source") {
      self->source->add(c);
    } else {
      const std::string topic = r.path == "/ws/events" ? self->o.events_topic : r.path.substr(10);
      self->topics->add(topic, c);
    }
  };
  ws.on_close = [self](std::shared_ptr<net::WsConnection> c) {
    if (self->topics) self->topics->remove(c->id());
    if (self->source) self->source->remove(c->id());
  };
  auto server = net::HttpServer::start(
      so, [self](const net::ServerRequest& r) { return self->handle(r); }, ws);
  if (!server) return server.error();
  impl->server = std::move(server).value();
  return std::unique_ptr<Visualizer>(new Visualizer(std::move(impl)));
}

uint16_t Visualizer::port() const {
  return impl_->server->port();
}
std::string Visualizer::url() const {
  return "http://" + impl_->o.host + ":" + std::to_string(impl_->server->port());
}
int64_t Visualizer::clients() const {
  return impl_->server->ws_clients();
}

}  // namespace sf::viz
