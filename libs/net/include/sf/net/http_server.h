// HttpServer: a small HTTP/1.1 + WebSocket server (Boost.Beast inside, nothing of it visible here)
// for the queue-manager's API and for the fakes of other services' HTTP APIs in tests.
//
// Requests are handed to one synchronous handler on one of `threads` io threads; keep-alive and
// pipelined requests are served in order per connection. A WebSocket upgrade whose path a
// WsHandler accepts becomes a WsConnection: send() is thread-safe and queues (a client that does
// not read is dropped once `ws_max_queued` messages or `ws_max_queued_bytes` wait), the server
// answers pings, and idle connections get pings from the server (Beast's suggested timeouts).
//
// Everything a client can make it spend is bounded: connections (`max_connections`, beyond it a
// 503 and close), the time to send a request's head and body and to read a response (slowloris
// and clients that never read), the body (per request through `on_head`, before a byte of it is
// read), each WebSocket client's queue. Accepted sockets are close-on-exec.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sf/core/result.h"

namespace sf::net {

struct ServerRequest {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // as sent: "/queues?status=running"
  std::string path;                            // percent-decoded path: "/queues"
  std::map<std::string, std::string> query;    // decoded query parameters (last one wins)
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string remote;  // client address
  // Set when the handler runs on the server's blocking threads, called again there because it
  // answered `block` (below): there it may wait on I/O; on the io threads it must not.
  bool may_block = false;
  std::string header(const std::string& lower_name) const;
};

struct ServerResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::map<std::string, std::string> headers;
  // Set by a handler called on an io thread for a request it can answer only by waiting on I/O
  // (a store read, a Kafka flush): the server calls it again on its blocking threads, with
  // `may_block` set, and serves other connections meanwhile. The rest of this answer is unused.
  bool block = false;
};

using HttpHandler = std::function<ServerResponse(const ServerRequest&)>;

// One accepted WebSocket connection. Thread-safe.
class WsConnection {
 public:
  virtual ~WsConnection() = default;
  virtual void send(std::string text) = 0;  // queued; dropped silently once closed
  virtual void close() = 0;
  virtual uint64_t id() const = 0;
  virtual bool open() const = 0;
};

struct WsHandler {
  // Returns true to accept the upgrade of this request (by path, token, ...). Otherwise the client
  // gets the `reject` answer (404 by default).
  std::function<bool(const ServerRequest&, ServerResponse& reject)> accept;
  std::function<void(std::shared_ptr<WsConnection>)> on_open;
  // As on_open, with the upgrade request (servers with several WebSocket paths).
  std::function<void(std::shared_ptr<WsConnection>, const ServerRequest&)> on_open_request;
  std::function<void(std::shared_ptr<WsConnection>, std::string)> on_message;
  std::function<void(std::shared_ptr<WsConnection>)> on_close;
};

// What to do with a request whose head has arrived, before any of its body is read.
struct HeadDecision {
  size_t body_limit = 0;                 // 0: HttpServerOptions::body_limit
  std::optional<ServerResponse> answer;  // set: sent at once, the body unread, connection closed
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: the kernel picks
  int threads = 1;
  int blocking_threads = 4;  // handlers that answered `block`, at most this many at once
  size_t body_limit = 8 * 1024 * 1024;
  size_t max_connections = 1024;                     // more at once: 503 and closed
  std::chrono::milliseconds idle_timeout{60'000};    // a kept-alive connection with no request
  std::chrono::milliseconds header_timeout{10'000};  // a request's first byte -> end of its head
  std::chrono::milliseconds body_timeout{30'000};    // its body
  std::chrono::milliseconds write_timeout{30'000};   // a response read by the client
  std::function<HeadDecision(const ServerRequest& head)> on_head;
  // The body of the server's own answers (400, 413, 500, 503); default {"error":"<message>"}.
  std::function<std::string(int status, const std::string& message)> error_body;
  // Both set: HTTPS and WSS only, with this PEM certificate chain and private key (a connection
  // past max_connections is then closed without a handshake, not answered 503).
  std::string tls_cert_file, tls_key_file;
  size_t ws_max_queued = 10'000;
  size_t ws_max_queued_bytes = 4 * 1024 * 1024;
  // A client `ws_max_queued` messages behind: closed (the default), or its oldest queued message
  // dropped for the new one and, before its next message, told {"event":"dropped","messages":N}.
  bool ws_drop_oldest = false;
  std::string server_name = "streamforge";
};

class HttpServer {
 public:
  static Result<std::unique_ptr<HttpServer>> start(HttpServerOptions options, HttpHandler handler,
                                                   WsHandler ws = {});
  ~HttpServer();  // closes every connection and joins the threads

  uint16_t port() const;
  std::string url() const;  // "http://127.0.0.1:<port>"
  int64_t ws_clients() const;
  int64_t connections() const;          // HTTP and WebSocket connections open now
  int64_t refused_connections() const;  // turned away past max_connections

  struct Impl;

 private:
  explicit HttpServer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// "%41b+c" -> "Ab c" (for query strings; '+' is a space).
std::string url_decode(std::string_view s, bool plus_is_space = true);
std::string url_encode(std::string_view s);
// "Basic <base64(user:password)>".
std::string basic_auth(std::string_view user, std::string_view password);

}  // namespace sf::net
