// HTTP and WebSocket clients (Boost.Beast + OpenSSL inside; nothing of them visible here).
//
// HttpClient: one keep-alive connection to one origin, http:// or https:// (peer verified against
// the system CAs or `ca_file`, SNI set). Not thread-safe: one per thread.
// WsClient: one WebSocket connection, ws:// or wss://, blocking calls with timeouts. It answers
// pings by itself while reading. Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "sf/core/result.h"

namespace sf::net {

using std::chrono::milliseconds;

struct HttpOptions {
  milliseconds timeout{10'000};  // connect + request + response
  std::string user_agent = "streamforge/0.1";
  std::string ca_file;  // empty: the system's CA store
  // A client certificate (PEM chain) and its key, for servers that authenticate clients by TLS
  // (a Kubernetes API server).
  std::string client_cert_file, client_key_file;
  // "http://host:port" of an HTTP proxy reached with CONNECT. Empty: HTTPS_PROXY (https URLs) or
  // HTTP_PROXY (http URLs) from the environment, unless NO_PROXY names the host.
  std::string proxy;
  bool proxy_from_env = true;
};

// NO_PROXY semantics: a comma-separated list of hosts or domain suffixes ("*" for all).
bool proxy_bypassed(const std::string& host, const std::string& no_proxy);

struct HttpResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string header(const std::string& lower_name) const;
};

struct HttpRequest {
  std::string method = "GET";
  std::string target;  // appended to the base URL's path
  std::string body;
  std::map<std::string, std::string> headers;  // e.g. {"Authorization", "Basic ..."}
  std::string content_type = "application/json";
  bool idempotent = true;
  // Set: the response body is streamed into this file (never held in memory; HttpResponse::body
  // stays empty), at most `body_file_limit` bytes, within `timeout` if set (else the client's).
  std::string body_file;
  uint64_t body_file_limit = uint64_t{4} << 30;
  milliseconds timeout{0};
};

// Parsed "scheme://host[:port][/base]".
struct Url {
  std::string scheme, host, port, path;
  bool tls() const { return scheme == "https" || scheme == "wss"; }
  static Result<Url> parse(std::string_view text);
};

class HttpClient {
 public:
  static Result<std::unique_ptr<HttpClient>> create(std::string_view base_url,
                                                    HttpOptions options = {});
  ~HttpClient();
  // A new client (own connection) to the same origin with the same options.
  Result<std::unique_ptr<HttpClient>> clone() const;
  // GET base path + `target` ("/api/v3/klines?symbol=..."). Reuses the connection; reconnects once
  // if the server closed it. Network failures are retryable Errors; any HTTP status is a response.
  Result<HttpResponse> get(std::string_view target);
  // Any method, with a body and extra headers. A kept-alive connection the server had closed is
  // retried on a new one only when `request.idempotent` (a POST may have been applied).
  Result<HttpResponse> request(const HttpRequest& request);

  struct Impl;

 private:
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct WsOptions {
  milliseconds connect_timeout{10'000};
  std::string ca_file;
};

class WsClient {
 public:
  // `url` as "ws://host:port/ws/btcusdt@trade" or "wss://...".
  static Result<std::unique_ptr<WsClient>> connect(std::string_view url, WsOptions options = {});
  ~WsClient();
  // The next text or binary message. A timeout is a retryable Error whose message starts with
  // "timeout"; a closed connection is a retryable Error starting with "closed".
  Result<std::string> read(milliseconds timeout);
  // A frame has arrived and is not read yet: read() returns it (or the next one) without waiting
  // on the network. Callers batch their work while this holds.
  bool frame_waiting() const;
  Status send(std::string_view text, milliseconds timeout = milliseconds(5000));
  Status ping(milliseconds timeout = milliseconds(5000));
  void close();
  int64_t pings_received() const;

  struct Impl;

 private:
  explicit WsClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sf::net
