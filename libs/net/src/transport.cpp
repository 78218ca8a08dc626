// The only file of this library that includes Beast (it is slow to compile: keep it that way).
#include "sf/net/transport.h"

#include "sf/net/detail/ws_wire.h"

#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <zlib.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdlib>
#include <optional>
#include <random>
#include <variant>

namespace sf::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

Result<Url> Url::parse(std::string_view text) {
  Url u;
  const size_t sep = text.find("://");
  if (sep == std::string_view::npos)
    return make_error("URL lacks a scheme: '" + std::string(text) + "'");
  u.scheme = std::string(text.substr(0, sep));
  if (u.scheme != "http" && u.scheme != "https" && u.scheme != "ws" && u.scheme != "wss") {
    return make_error("unsupported URL scheme '" + u.scheme + "' (http, https, ws, wss)");
  }
  std::string_view rest = text.substr(sep + 3);
  const size_t slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  u.path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  while (!u.path.empty() && u.path.back() == '/') u.path.pop_back();
  const size_t colon = hostport.rfind(':');
  if (colon != std::string_view::npos && hostport.find(']') == std::string_view::npos) {
    u.host = std::string(hostport.substr(0, colon));
    u.port = std::string(hostport.substr(colon + 1));
  } else {
    u.host = std::string(hostport);
    u.port = u.tls() ? "443" : "80";
  }
  if (u.host.empty()) return make_error("URL lacks a host: '" + std::string(text) + "'");
  return u;
}

bool proxy_bypassed(const std::string& host, const std::string& no_proxy) {
  size_t start = 0;
  while (start <= no_proxy.size()) {
    size_t comma = no_proxy.find(',', start);
    std::string item =
        no_proxy.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (item == "*") return true;
    if (!item.empty()) {
      if (item.front() == '.') item.erase(0, 1);
      if (host == item) return true;
      if (host.size() > item.size() &&
          host.compare(host.size() - item.size(), item.size(), item) == 0 &&
          host[host.size() - item.size() - 1] == '.') {
        return true;
      }
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return false;
}

std::string HttpResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

namespace {

// Runs `ioc` until `done` is set or `deadline` passes; false on timeout.
bool run_until(asio::io_context& ioc, const bool& done,
               std::chrono::steady_clock::time_point deadline) {
  while (!done) {
    if (ioc.stopped()) ioc.restart();
    if (ioc.run_one_until(deadline) == 0 && std::chrono::steady_clock::now() >= deadline) break;
  }
  return done;
}

// A gzip body never inflates past this (review #22: a hostile upstream or proxy cannot make a
// small answer exhaust the loader's memory); Binance's largest answers are a few MiB.
constexpr size_t kMaxInflated = 64u << 20;

// Inflates a gzip body. A corrupt one is a retryable Error (like a truncated body); one that would
// inflate past `max_out` is not.
Result<std::string> gunzip(const std::string& in, size_t max_out = kMaxInflated) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return make_error("zlib init failed");
  std::string out;
  out.resize(std::min(max_out, std::max<size_t>(in.size() * 4, 4096)));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    if (zs.total_out == out.size()) {
      if (out.size() >= max_out) {
        inflateEnd(&zs);
        return make_error("a gzip answer of " + std::to_string(in.size()) +
                              " bytes inflates past " + std::to_string(max_out >> 20) +
                              " MiB: refused (a decompression bomb, or not the API expected)",
                          false);
      }
      out.resize(std::min(max_out, out.size() * 2));
    }
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + zs.total_out);
    zs.avail_out = static_cast<uInt>(out.size() - zs.total_out);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc == Z_BUF_ERROR && zs.avail_out != 0) break;
    if (rc == Z_BUF_ERROR) rc = Z_OK;
  }
  out.resize(zs.total_out);
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) return make_error("gzip body is corrupt or truncated", true);
  return out;
}

// The state an asynchronous operation reports into. Handlers hold it by shared_ptr, so one that
// completes after its caller gave up (a timeout) writes into live memory, never a dead frame.
struct OpState {
  beast::error_code ec;
  bool done = false;
};

// After a timeout: closes the socket so the pending operation ends, and runs it to completion while
// the buffers and parsers it uses are still alive.
template <class Stream>
void abandon(asio::io_context& ioc, Stream& s, const std::shared_ptr<OpState>& op) {
  beast::error_code ignored;
  beast::get_lowest_layer(s).socket().close(ignored);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  run_until(ioc, op->done, until);
}

// The wait for one asynchronous operation, in one place: `start` is handed a completion
// handler (for any signature whose first argument is the error code) and starts the operation;
// the io_context runs until it completes or `deadline` passes. Returns the operation's error, or
// timed_out. On a failure with `abandon_on` set, that stream is closed and the operation run to
// its end first (the buffers and parsers it uses are the caller's).
template <class Start, class Stream = beast::tcp_stream>
beast::error_code await_op(asio::io_context& ioc, std::chrono::steady_clock::time_point deadline,
                           Start&& start, Stream* abandon_on = nullptr) {
  auto op = std::make_shared<OpState>();
  start([op](beast::error_code e, auto&&...) {
    op->ec = e;
    op->done = true;
  });
  const bool finished = run_until(ioc, op->done, deadline);
  if (finished && !op->ec) return {};
  const beast::error_code ec = finished ? op->ec : beast::error_code(asio::error::timed_out);
  if (abandon_on != nullptr) abandon(ioc, *abandon_on, op);
  return ec;
}

Error net_error(std::string what, const beast::error_code& ec) {
  return make_error(what + ": " + ec.message(), true);
}

// Throws (boost::system::system_error) on a file it cannot load.
ssl::context make_tls_context(const std::string& ca_file, const std::string& client_cert = "",
                              const std::string& client_key = "") {
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_verify_mode(ssl::verify_peer);
  if (ca_file.empty()) {
    ctx.set_default_verify_paths();
  } else {
    ctx.load_verify_file(ca_file);
  }
  if (!client_cert.empty()) {
    ctx.use_certificate_chain_file(client_cert);
    ctx.use_private_key_file(client_key, ssl::context::pem);
  }
  return ctx;
}

// Connects `sock` to url.host:url.port within the deadline.
Status connect_tcp(asio::io_context& ioc, beast::tcp_stream& stream, const Url& url,
                   std::chrono::steady_clock::time_point deadline) {
  tcp::resolver resolver(ioc);
  beast::error_code ec;
  auto endpoints = resolver.resolve(url.host, url.port, ec);
  if (ec) return net_error("cannot resolve " + url.host, ec);
  stream.expires_at(deadline);
  if (auto e = await_op(ioc, deadline, [&](auto h) { stream.async_connect(endpoints, h); })) {
    return net_error("cannot connect to " + url.host + ":" + url.port, e);
  }
  stream.socket().set_option(tcp::no_delay(true), ec);
  return ok_status();
}

// The peer's certificate chain is verified against the trusted CAs (CA file, or OpenSSL's
// defaults, which honour SSL_CERT_FILE and SSL_CERT_DIR) and must name url.host: a DNS name
// (SNI sent) or an IP address (matched against the certificate's IP entries, no SNI).
template <class Stream>
Status tls_handshake(asio::io_context& ioc, Stream& s, const Url& url,
                     std::chrono::steady_clock::time_point deadline) {
  SSL* ssl_handle = s.native_handle();
  beast::error_code ec;
  (void)asio::ip::make_address(url.host, ec);
  const bool ip_literal = !ec;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl_handle);
  if (ip_literal) {
    if (X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str()) != 1) {
      return make_error("cannot check TLS certificates against the address " + url.host);
    }
  } else {
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set1_host(ssl_handle, url.host.c_str()) != 1 ||
        !SSL_set_tlsext_host_name(ssl_handle, url.host.c_str())) {
      return make_error("cannot set up TLS for the host name " + url.host);
    }
  }
  if (auto e = await_op(ioc, deadline,
                        [&](auto h) { s.async_handshake(ssl::stream_base::client, h); })) {
    const long verdict = SSL_get_verify_result(ssl_handle);
    if (e != asio::error::timed_out && verdict != X509_V_OK) {
      // A certificate we do not trust does not become trusted by trying again: not retryable.
      return make_error("TLS: the certificate of " + url.host + ":" + url.port +
                            " is not trusted: " + X509_verify_cert_error_string(verdict) +
                            ". Hint: give its CA with SSL_CERT_FILE (or CA_PATH for ArangoDB), or "
                            "check the URL's host name",
                        false);
    }
    return net_error("TLS handshake with " + url.host + " failed", e);
  }
  return ok_status();
}

}  // namespace

// ---------------------------------------------------------------- HTTP

struct HttpClient::Impl {
  Url url;
  HttpOptions options;
  asio::io_context ioc;
  ssl::context tls_ctx{ssl::context::tls_client};
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;

  bool connected() const { return plain.has_value() || secure.has_value(); }
  void reset() {
    plain.reset();
    secure.reset();
    buffer.clear();
  }

  std::optional<Url> proxy;

  // Opens the TCP connection, through the proxy's CONNECT tunnel when one is configured.
  Status open_tcp(beast::tcp_stream& s, std::chrono::steady_clock::time_point deadline) {
    if (!proxy) return connect_tcp(ioc, s, url, deadline);
    if (auto st = connect_tcp(ioc, s, *proxy, deadline); !st) return st;
    const std::string authority = url.host + ":" + url.port;
    http::request<http::empty_body> req{http::verb::connect, authority, 11};
    req.set(http::field::host, authority);
    req.set(http::field::user_agent, options.user_agent);
    s.expires_at(deadline);
    if (auto e = await_op(
            ioc, deadline, [&](auto h) { http::async_write(s, req, h); }, &s)) {
      return net_error("proxy " + proxy->host + ":" + proxy->port + " CONNECT", e);
    }
    http::response_parser<http::empty_body> parser;
    parser.skip(true);  // a CONNECT answer has no body
    beast::flat_buffer buf;
    if (auto e = await_op(
            ioc, deadline, [&](auto h) { http::async_read_header(s, buf, parser, h); }, &s)) {
      return net_error("proxy " + proxy->host + ":" + proxy->port + " CONNECT answer", e);
    }
    if (parser.get().result_int() != 200) {
      return make_error("proxy " + proxy->host + ":" + proxy->port + " refused CONNECT " +
                            authority + ": HTTP " + std::to_string(parser.get().result_int()),
                        true);
    }
    return ok_status();
  }

  Status connect(std::chrono::steady_clock::time_point deadline) {
    reset();
    if (url.tls()) {
      secure.emplace(ioc, tls_ctx);
      if (auto st = open_tcp(beast::get_lowest_layer(*secure), deadline); !st) {
        reset();
        return st;
      }
      if (auto st = tls_handshake(ioc, *secure, url, deadline); !st) {
        reset();
        return st;
      }
    } else {
      plain.emplace(ioc);
      if (auto st = open_tcp(*plain, deadline); !st) {
        reset();
        return st;
      }
    }
    return ok_status();
  }

  template <class Message>
  static void copy_headers(const Message& res, HttpResponse& out) {
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string(f.value());
    }
  }

  // The answer's body streamed into in.body_file (an archive of hundreds of MB never in memory).
  template <class Stream>
  Result<HttpResponse> download(Stream& s, const HttpRequest& in, const std::string& target,
                                std::chrono::steady_clock::time_point deadline) {
    http::response_parser<http::file_body> parser;
    parser.body_limit(in.body_file_limit);
    beast::error_code fec;
    parser.get().body().open(in.body_file.c_str(), beast::file_mode::write, fec);
    if (fec) return make_error("cannot write " + in.body_file + ": " + fec.message());
    if (auto e = await_op(
            ioc, deadline, [&](auto h) { http::async_read(s, buffer, parser, h); }, &s)) {
      return net_error("downloading " + target + " into " + in.body_file, e);
    }
    auto res = parser.release();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    copy_headers(res, out);
    res.body().close();
    if (!res.keep_alive()) reset();
    return out;
  }

  template <class Stream>
  Result<HttpResponse> exchange(Stream& s, const HttpRequest& in, const std::string& target,
                                std::chrono::steady_clock::time_point deadline) {
    http::request<http::string_body> req{http::string_to_verb(in.method), target, 11};
    req.set(http::field::host, url.host);
    req.set(http::field::user_agent, options.user_agent);
    req.set(http::field::accept, in.body_file.empty() ? "application/json" : "*/*");
    if (in.body_file.empty()) req.set(http::field::accept_encoding, "gzip");
    for (const auto& [k, v] : in.headers) req.set(k, v);
    if (!in.body.empty() || in.method != "GET") {
      req.set(http::field::content_type, in.content_type);
      req.body() = in.body;
      req.prepare_payload();
    }
    req.keep_alive(true);
    beast::get_lowest_layer(s).expires_at(deadline);
    if (auto e = await_op(
            ioc, deadline, [&](auto h) { http::async_write(s, req, h); }, &s)) {
      return net_error("sending " + in.method + " " + target, e);
    }
    if (!in.body_file.empty()) return download(s, in, target, deadline);
    http::response_parser<http::string_body> parser;
    parser.body_limit(256 * 1024 * 1024);
    if (auto e = await_op(
            ioc, deadline, [&](auto h) { http::async_read(s, buffer, parser, h); }, &s)) {
      return net_error("reading the answer to " + in.method + " " + target, e);
    }
    auto res = parser.release();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    out.body = std::move(res.body());
    copy_headers(res, out);
    if (!res.keep_alive()) reset();
    if (out.header("content-encoding") == "gzip") {
      auto plain = gunzip(out.body);
      if (!plain) return plain.error();
      out.body = std::move(plain).value();
      out.headers.erase("content-encoding");
    }
    return out;
  }
};

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::create(std::string_view base_url,
                                                       HttpOptions options) {
  auto url = Url::parse(base_url);
  if (!url) return url.error();
  if (url->scheme != "http" && url->scheme != "https") {
    return make_error("an HTTP base URL must start with http:// or https://");
  }
  auto impl = std::make_unique<Impl>();
  impl->url = *url;
  impl->options = options;
  std::string proxy = options.proxy;
  if (proxy.empty() && options.proxy_from_env) {
    auto env = [](const char* a, const char* b) {
      const char* v = std::getenv(a);
      if (v == nullptr || *v == '\0') v = std::getenv(b);
      return std::string(v ? v : "");
    };
    proxy = url->tls() ? env("HTTPS_PROXY", "https_proxy") : env("HTTP_PROXY", "http_proxy");
    if (!proxy.empty() && proxy_bypassed(url->host, env("NO_PROXY", "no_proxy"))) proxy.clear();
  }
  if (!proxy.empty()) {
    auto p = Url::parse(proxy);
    if (!p || p->scheme != "http") {
      return make_error("proxy '" + proxy + "' is invalid: expected http://host:port");
    }
    impl->proxy = *p;
  }
  if (url->tls()) {
    try {
      impl->tls_ctx =
          make_tls_context(options.ca_file, options.client_cert_file, options.client_key_file);
    } catch (const std::exception& e) {
      return make_error("cannot load CA certificates '" + options.ca_file + "': " + e.what());
    }
  }
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

Result<std::unique_ptr<HttpClient>> HttpClient::clone() const {
  const auto& u = impl_->url;
  return create(u.scheme + "://" + u.host + ":" + u.port + u.path, impl_->options);
}

Result<HttpResponse> HttpClient::get(std::string_view target) {
  HttpRequest r;
  r.target = std::string(target);
  return request(r);
}

Result<HttpResponse> HttpClient::request(const HttpRequest& in) {
  auto& d = *impl_;
  if (http::string_to_verb(in.method) == http::verb::unknown) {
    return make_error("unknown HTTP method '" + in.method + "'");
  }
  const std::string full = d.url.path + in.target;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const auto deadline = std::chrono::steady_clock::now() +
                          (in.timeout.count() > 0 ? in.timeout : d.options.timeout);
    const bool reused = d.connected();
    if (!reused) {
      if (auto st = d.connect(deadline); !st) return st.error();
    }
    auto r = d.secure ? d.exchange(*d.secure, in, full, deadline)
                      : d.exchange(*d.plain, in, full, deadline);
    if (r) return r;
    d.reset();
    if (!reused || !in.idempotent) return r;  // a fresh connection failed: report it
    // A kept-alive connection the server had closed: try once more on a new one.
  }
  return make_error("unreachable", true);
}

// ---------------------------------------------------------------- WebSocket
//
// Beast does the TCP, TLS and HTTP parts; the frames are read by detail::WsReceiver from chunks of
// up to 64 KiB, so a burst of small frames costs one read for many of them (Beast's websocket
// stream runs an asynchronous operation, with its type-erased executors, for every message:
// ~5 us a frame, the loader's largest cost at full speed). What a server sends is checked as RFC
// 6455 says a client must (no mask, no reserved bits, control frames short and whole, messages
// reassembled and bounded); text is not checked for UTF-8 here (the parsers take any bytes).

namespace {

std::string base64(const unsigned char* data, size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  const int len =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

std::string random_key() {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) {
    // No entropy from OpenSSL: the key only has to differ between connections.
    std::random_device rd;
    for (auto& b : raw) b = static_cast<unsigned char>(rd());
  }
  return base64(raw, sizeof raw);
}

uint32_t random_mask() {
  uint32_t m = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&m), sizeof m) != 1) m = std::random_device{}();
  return m;
}

std::string accept_for(const std::string& key) {
  const std::string joined = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(joined.data()), joined.size(), digest);
  return base64(digest, sizeof digest);
}

bool has_token(std::string_view header, std::string_view token) {
  size_t start = 0;
  while (start <= header.size()) {
    size_t comma = header.find(',', start);
    std::string_view item = header.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (beast::iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return false;
}

struct ReadState {
  beast::error_code ec;
  size_t n = 0;
  bool done = false;
};

}  // namespace

struct WsClient::Impl {
  asio::io_context ioc;
  ssl::context tls_ctx{ssl::context::tls_client};
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  detail::WsReceiver rx{64u << 20};
  std::shared_ptr<ReadState> reading;  // the read in flight, kept across read() timeouts
  int64_t pings = 0;
  bool open = false;
  std::string closed_why = "the connection is closed";

  template <class F>
  auto with(F&& f) {
    return secure ? f(*secure) : f(*plain);
  }
  beast::tcp_stream& tcp() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  // Ends the connection for `why`, which later calls report.
  Error end(std::string why) {
    open = false;
    closed_why = std::move(why);
    beast::error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    return make_error("closed: " + closed_why, true);
  }

  // One frame out. The write owns its bytes: one that times out is still pending when this
  // returns (review #20). A failed write leaves half a frame out: the connection is done.
  Status write_frame(detail::WsOpcode op, std::string_view payload,
                     std::chrono::steady_clock::time_point deadline) {
    auto frame = std::make_shared<std::string>();
    frame->reserve(payload.size() + 14);
    detail::append_client_frame(*frame, op, payload, random_mask());
    auto write = [&](auto h) {
      with([&](auto& s) {
        asio::async_write(s, asio::buffer(*frame),
                          [h, frame](beast::error_code e, size_t n) mutable { h(e, n); });
        return 0;
      });
    };
    if (auto e = await_op(ioc, deadline, write)) {
      open = false;
      closed_why = "a write failed: " + e.message();
      beast::error_code ignored;
      tcp().socket().close(ignored);  // ends the pending write the next time the loop runs
      return net_error("WebSocket send failed", e);
    }
    return ok_status();
  }

  template <class Stream>
  Status handshake(Stream& s, const Url& url, std::string_view url_text,
                   std::chrono::steady_clock::time_point deadline) {
    const std::string key = random_key();
    http::request<http::empty_body> req{http::verb::get, url.path.empty() ? "/" : url.path, 11};
    req.set(http::field::host, url.host + ":" + url.port);
    req.set(http::field::upgrade, "websocket");
    req.set(http::field::connection, "Upgrade");
    req.set(http::field::sec_websocket_key, key);
    req.set(http::field::sec_websocket_version, "13");
    req.set(http::field::user_agent, "streamforge");
    const std::string what = "WebSocket handshake with " + std::string(url_text) + " failed";
    if (auto e = await_op(ioc, deadline, [&](auto h) { http::async_write(s, req, h); })) {
      return net_error(what, e);
    }
    http::response_parser<http::empty_body> parser;
    parser.header_limit(16 * 1024);
    parser.skip(true);  // a refusal's body is not needed
    beast::flat_buffer buf;
    if (auto e =
            await_op(ioc, deadline, [&](auto h) { http::async_read_header(s, buf, parser, h); })) {
      return net_error(what, e);
    }
    const auto& res = parser.get();
    if (res.result_int() != 101) {
      return make_error(what + ": HTTP " + std::to_string(res.result_int()) + " " +
                            std::string(res.reason()) + " instead of 101 Switching Protocols",
                        true);
    }
    if (!beast::iequals(res[http::field::upgrade], "websocket") ||
        !has_token(res[http::field::connection], "upgrade")) {
      return make_error(what + ": the 101 answer does not upgrade to websocket", true);
    }
    if (res[http::field::sec_websocket_accept] != accept_for(key)) {
      return make_error(what + ": wrong Sec-WebSocket-Accept", true);
    }
    if (!res[http::field::sec_websocket_extensions].empty() ||
        !res[http::field::sec_websocket_protocol].empty()) {
      return make_error(what + ": the server chose an extension or subprotocol not asked for",
                        true);
    }
    // Frames the server sent right behind its answer.
    if (const size_t early = buf.size(); early > 0) {
      size_t room = 0;
      char* at = rx.prepare(early, &room);
      asio::buffer_copy(asio::buffer(at, early), buf.data());
      rx.commit(early);
    }
    return ok_status();
  }
};

WsClient::WsClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WsClient::~WsClient() {
  close();
}

Result<std::unique_ptr<WsClient>> WsClient::connect(std::string_view url_text, WsOptions options) {
  auto url = Url::parse(url_text);
  if (!url) return url.error();
  if (url->scheme != "ws" && url->scheme != "wss") {
    return make_error("a WebSocket URL must start with ws:// or wss://");
  }
  auto impl = std::make_unique<Impl>();
  auto& d = *impl;
  const auto deadline = std::chrono::steady_clock::now() + options.connect_timeout;
  if (url->tls()) {
    try {
      d.tls_ctx = make_tls_context(options.ca_file);
    } catch (const std::exception& e) {
      return make_error("cannot load CA certificates '" + options.ca_file + "': " + e.what());
    }
    d.secure.emplace(d.ioc, d.tls_ctx);
    if (auto st = connect_tcp(d.ioc, beast::get_lowest_layer(*d.secure), *url, deadline); !st) {
      return st.error();
    }
    if (auto st = tls_handshake(d.ioc, *d.secure, *url, deadline); !st) return st.error();
  } else {
    d.plain.emplace(d.ioc);
    if (auto st = connect_tcp(d.ioc, *d.plain, *url, deadline); !st) return st.error();
  }
  d.tcp().expires_at(deadline);
  auto st = d.with([&](auto& s) { return d.handshake(s, *url, url_text, deadline); });
  if (!st) return st.error();
  d.tcp().expires_never();
  d.open = true;
  return std::unique_ptr<WsClient>(new WsClient(std::move(impl)));
}

Result<std::string> WsClient::read(milliseconds timeout) {
  using Kind = detail::WsReceiver::Event::Kind;
  auto& d = *impl_;
  std::optional<std::chrono::steady_clock::time_point> deadline;  // once there is a wait
  for (;;) {
    if (!d.open) return make_error("closed: " + d.closed_why, true);
    auto ev = d.rx.next();
    switch (ev.kind) {
      case Kind::message:
        return std::move(ev.data);
      case Kind::ping: {
        ++d.pings;
        const auto pong_by = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        if (auto sent = d.write_frame(detail::WsOpcode::pong, ev.data, pong_by); !sent) {
          return make_error("closed: " + d.closed_why, true);
        }
        continue;
      }
      case Kind::pong:
        continue;
      case Kind::close: {
        // The closing handshake: the code is echoed back, then the connection goes.
        const uint8_t code[2] = {static_cast<uint8_t>(ev.close_code >> 8),
                                 static_cast<uint8_t>(ev.close_code & 0xff)};
        const std::string_view echo(reinterpret_cast<const char*>(code),
                                    ev.close_code == 1005 ? 0 : 2);
        (void)d.write_frame(detail::WsOpcode::close, echo,
                            std::chrono::steady_clock::now() + std::chrono::seconds(1));
        return d.end("the server closed the connection (code " + std::to_string(ev.close_code) +
                     (ev.data.empty() ? "" : ": " + ev.data) + ")");
      }
      case Kind::error:
        return d.end(ev.data);
      case Kind::need_more:
        break;
    }
    if (!d.reading) {
      size_t room = 0;
      char* at = d.rx.prepare(64 * 1024, &room);
      auto op = d.reading = std::make_shared<ReadState>();
      d.with([&](auto& s) {
        s.async_read_some(asio::buffer(at, room), [op](beast::error_code e, size_t n) {
          op->ec = e;
          op->n = n;
          op->done = true;
        });
        return 0;
      });
    }
    if (!deadline) deadline = std::chrono::steady_clock::now() + timeout;
    if (!run_until(d.ioc, d.reading->done, *deadline)) {
      return make_error("timeout: no message within " + std::to_string(timeout.count()) + " ms",
                        true);
    }
    auto op = std::move(d.reading);
    if (op->ec) {
      return d.end(op->ec == asio::error::eof || op->ec == ssl::error::stream_truncated
                       ? "the server closed the connection without a close frame"
                       : op->ec.message());
    }
    d.rx.commit(op->n);
  }
}

Status WsClient::send(std::string_view text, milliseconds timeout) {
  auto& d = *impl_;
  if (!d.open) return make_error("closed: " + d.closed_why, true);
  return d.write_frame(detail::WsOpcode::text, text, std::chrono::steady_clock::now() + timeout);
}

Status WsClient::ping(milliseconds timeout) {
  auto& d = *impl_;
  if (!d.open) return make_error("closed: " + d.closed_why, true);
  if (auto st =
          d.write_frame(detail::WsOpcode::ping, {}, std::chrono::steady_clock::now() + timeout);
      !st) {
    return make_error("WebSocket ping failed: " + st.error().message, true);
  }
  return ok_status();
}

void WsClient::close() {
  auto& d = *impl_;
  if (!d.plain && !d.secure) return;
  beast::error_code ec;
  d.tcp().socket().shutdown(tcp::socket::shutdown_both, ec);
  d.tcp().socket().close(ec);
  d.open = false;
  d.ioc.restart();
  d.ioc.poll();  // let the cancelled read, if any, complete while its buffer is alive
  d.reading.reset();
  d.plain.reset();
  d.secure.reset();
}

bool WsClient::frame_waiting() const {
  return impl_->open && impl_->rx.frame_ready();
}

int64_t WsClient::pings_received() const {
  return impl_->pings;
}

}  // namespace sf::net
