// HttpServer: one of the two files of this library that include Beast (they are slow to compile).
#include "sf/net/http_server.h"
#include "sf/net/detail/listen.h"
#include "sf/net/detail/tls_server.h"

#include <fcntl.h>
#include <openssl/evp.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/url/parse.hpp>
#include <deque>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

namespace sf::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

std::string ServerRequest::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

std::string url_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string url_encode(std::string_view s) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    }
  }
  return out;
}

std::string basic_auth(std::string_view user, std::string_view password) {
  const std::string plain = std::string(user) + ":" + std::string(password);
  std::string out(4 * ((plain.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(plain.data()),
                                static_cast<int>(plain.size()));
  out.resize(static_cast<size_t>(n));
  return "Basic " + out;
}

namespace {

ServerRequest to_request(const http::request<http::string_body>& req, const tcp::socket& socket) {
  ServerRequest r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  const std::string_view target(req.target().data(), req.target().size());
  const size_t q = target.find('?');
  r.path = url_decode(target.substr(0, q), false);
  if (q != std::string_view::npos) {
    std::string_view rest = target.substr(q + 1);
    while (!rest.empty()) {
      const size_t amp = rest.find('&');
      const std::string_view pair = rest.substr(0, amp);
      const size_t eq = pair.find('=');
      if (!pair.empty()) {
        r.query[url_decode(pair.substr(0, eq))] =
            eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1));
      }
      if (amp == std::string_view::npos) break;
      rest.remove_prefix(amp + 1);
    }
  }
  for (const auto& f : req) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = std::string(f.value());
  }
  r.body = req.body();
  beast::error_code ignored;
  r.remote = socket.remote_endpoint(ignored).address().to_string();
  return r;
}

// One WebSocket connection, over TCP or TLS (the Next layer).
class WsConn {
 public:
  virtual ~WsConn() = default;
  virtual void send(std::string text) = 0;
  virtual void close() = 0;
  virtual uint64_t id() const = 0;
  virtual bool open() const = 0;
  virtual void mark_closed() = 0;
};

// Owned by its session (and by its write handlers while they run); users hold a WsHandle.
template <class Next>
class WsConnOf : public WsConn, public std::enable_shared_from_this<WsConnOf<Next>> {
 public:
  WsConnOf(Next next, uint64_t id, size_t max_queued, size_t max_bytes, bool drop_oldest)
      : ws_(std::in_place, std::move(next)),
        kill_timer_(ws_->get_executor()),
        id_(id),
        max_queued_(max_queued),
        max_bytes_(max_bytes),
        drop_oldest_(drop_oldest) {}

  websocket::stream<Next>& ws() { return *ws_; }

  void send(std::string text) override {
    std::lock_guard lock(mu_);
    if (closed_) return;
    auto full = [&] {
      return queue_.size() >= max_queued_ || queued_bytes_ + text.size() > max_bytes_;
    };
    if (full()) {
      if (drop_oldest_) {
        // A slow client: it loses its oldest messages, is told so, and holds nobody up.
        while (!queue_.empty() && full()) {
          queued_bytes_ -= queue_.front().size();
          queue_.pop_front();
          ++dropped_;
        }
      } else {
        // A client that does not keep up: dropped (its queue freed now) rather than grown.
        queue_.clear();
        queued_bytes_ = 0;
        closed_ = true;
        close_code_ = websocket::close_code::policy_error;
        post_close();
        return;
      }
    }
    queued_bytes_ += text.size();
    queue_.push_back(std::move(text));
    if (!writing_) {
      writing_ = true;
      asio::post(ws_->get_executor(), [self = this->shared_from_this()] { self->write_next(); });
    }
  }

  void close() override {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    queue_.clear();
    queued_bytes_ = 0;
    post_close();
  }

  uint64_t id() const override { return id_; }
  bool open() const override {
    std::lock_guard lock(mu_);
    return !closed_;
  }

  void mark_closed() override {
    std::lock_guard lock(mu_);
    closed_ = true;
    queue_.clear();
    queued_bytes_ = 0;
  }

 private:
  static constexpr auto kCloseGrace = std::chrono::seconds(2);

  // A close frame once no write is in flight; whatever happens, the socket is closed
  // kCloseGrace later (a peer that neither reads nor answers the close holds nothing).
  void post_close() {
    asio::post(ws_->get_executor(), [self = this->shared_from_this()] {
      if (!self->ws_) return;
      self->kill_timer_.expires_after(kCloseGrace);
      self->kill_timer_.async_wait([self](beast::error_code ec) {
        if (ec) return;
        beast::error_code ignored;
        beast::get_lowest_layer(*self->ws_).socket().close(ignored);
      });
      bool writing = false;
      {
        std::lock_guard lock(self->mu_);
        writing = self->writing_;
      }
      if (!writing) self->send_close();
    });
  }

  void send_close() {
    if (close_sent_) return;
    close_sent_ = true;
    ws_->async_close(close_code_, [self = this->shared_from_this()](beast::error_code) {});
  }

  void write_next() {
    bool idle = false, closing = false;
    {
      std::lock_guard lock(mu_);
      if (queue_.empty() || closed_ || !ws_) {
        writing_ = false;
        idle = true;
        closing = closed_ && ws_;
      } else if (dropped_ > 0) {
        current_ = "{\"event\":\"dropped\",\"messages\":" + std::to_string(dropped_) + "}";
        dropped_ = 0;
      } else {
        current_ = std::move(queue_.front());
        queued_bytes_ -= current_.size();
        queue_.pop_front();
      }
    }
    if (idle) {
      // A close asked for while this write was in flight goes now (post_close armed the timer).
      if (closing && kill_timer_.expiry() > std::chrono::steady_clock::time_point{}) send_close();
      return;
    }
    ws_->text(true);
    ws_->async_write(asio::buffer(current_),
                     [self = this->shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) {
                         self->mark_closed();
                         std::lock_guard lock(self->mu_);
                         self->writing_ = false;
                         return;
                       }
                       self->write_next();
                     });
  }

  std::optional<websocket::stream<Next>> ws_;
  asio::steady_timer kill_timer_;
  uint64_t id_;
  size_t max_queued_;
  size_t max_bytes_;
  bool drop_oldest_;
  size_t dropped_ = 0;
  bool close_sent_ = false;  // on the executor only
  websocket::close_code close_code_ = websocket::close_code::normal;
  mutable std::mutex mu_;
  bool closed_ = false;
  bool writing_ = false;
  size_t queued_bytes_ = 0;
  std::deque<std::string> queue_;
  std::string current_;
};

// What users hold: a send() after the session ended (or the server stopped) does nothing.
class WsHandle : public WsConnection {
 public:
  explicit WsHandle(const std::shared_ptr<WsConn>& c) : conn_(c), id_(c->id()) {}
  void send(std::string text) override {
    if (auto c = conn_.lock()) c->send(std::move(text));
  }
  void close() override {
    if (auto c = conn_.lock()) c->close();
  }
  uint64_t id() const override { return id_; }
  bool open() const override {
    auto c = conn_.lock();
    return c && c->open();
  }

 private:
  std::weak_ptr<WsConn> conn_;
  uint64_t id_;
};

void set_cloexec(int fd) {
  const int flags = ::fcntl(fd, F_GETFD);
  if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

std::string json_escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

}  // namespace

struct HttpServer::Impl {
  HttpServerOptions options;
  HttpHandler handler;
  WsHandler ws;
  std::optional<ssl::context> tls;  // set: HTTPS and WSS only
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;
  uint16_t port = 0;
  std::atomic<uint64_t> next_ws_id{1};
  std::atomic<int64_t> ws_clients{0};
  std::atomic<int64_t> connections{0};
  std::atomic<int64_t> refused{0};
  std::mutex conns_mu;
  std::map<uint64_t, std::weak_ptr<WsConn>> conns;

  // Handlers that asked to wait on I/O (ServerResponse::block); declared after `io`, so that
  // it is destroyed first (its tasks refer to sessions that live in `io`).
  asio::thread_pool blocking;

  Impl(int threads, int blocking_threads)
      : io(threads), blocking(static_cast<size_t>(std::max(1, blocking_threads))) {}

  // Counts a connection for as long as its session lives.
  struct Counted {
    std::atomic<int64_t>& n;
    explicit Counted(std::atomic<int64_t>& c) : n(c) { ++n; }
    ~Counted() { --n; }
    Counted(const Counted&) = delete;
    Counted& operator=(const Counted&) = delete;
  };

  awaitable<void> accept_loop() {
    asio::steady_timer pause(io);
    for (;;) {
      auto [ec, socket] =
          co_await acceptor.async_accept(asio::make_strand(io), asio::as_tuple(use_awaitable));
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        // Out of file descriptors (or memory): the pending connection stays in the backlog, so
        // accepting again at once would spin. Serve the connections we have and retry shortly.
        pause.expires_after(std::chrono::milliseconds(50));
        co_await pause.async_wait(asio::as_tuple(use_awaitable));
        continue;
      }
      set_cloexec(socket.native_handle());
      // WebSocket pushes and answers go out as written, not held by Nagle for the peer's ACK.
      beast::error_code nd;
      socket.set_option(tcp::no_delay(true), nd);
      auto exec = socket.get_executor();
      if (connections.load() >= static_cast<int64_t>(options.max_connections)) {
        ++refused;
        if (tls) {  // no TLS handshake for a refusal: closed at once
          beast::error_code ignored;
          socket.close(ignored);
        } else {
          asio::co_spawn(exec, refuse(std::move(socket)), asio::detached);
        }
        continue;
      }
      if (tls) {
        asio::co_spawn(exec, tls_session(std::move(socket)), asio::detached);
      } else {
        asio::co_spawn(exec, session(std::move(socket)), asio::detached);
      }
    }
  }

  std::string error_body(int status, const std::string& message) const {
    if (options.error_body) return options.error_body(status, message);
    return "{\"error\":\"" + json_escape(message) + "\"}";
  }

  http::response<http::string_body> error_response(int status, const std::string& message,
                                                   unsigned version) const {
    http::response<http::string_body> res{static_cast<http::status>(status), version};
    res.set(http::field::server, options.server_name);
    res.set(http::field::content_type, "application/json");
    res.body() = error_body(status, message);
    res.keep_alive(false);
    res.prepare_payload();
    return res;
  }

  // Past max_connections: a short 503 (within a second, or not at all) and the socket closed.
  awaitable<void> refuse(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    auto res = error_response(
        503, "too many connections (" + std::to_string(options.max_connections) + "); try again",
        11);
    stream.expires_after(std::chrono::seconds(1));
    co_await http::async_write(stream, res, asio::as_tuple(use_awaitable));
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  // Sends `res`, within the write timeout; false when the client did not take it.
  template <class Stream>
  awaitable<bool> write(Stream& stream, http::response<http::string_body>& res) {
    beast::get_lowest_layer(stream).expires_after(options.write_timeout);
    auto [ec, n] = co_await http::async_write(stream, res, asio::as_tuple(use_awaitable));
    co_return !ec;
  }

  awaitable<void> session(tcp::socket socket) {
    Counted counted(connections);
    co_await serve(beast::tcp_stream(std::move(socket)));
  }

  // The TLS handshake within the header timeout (a client that refuses our certificate ends
  // it), then the same HTTP and WebSocket serving.
  awaitable<void> tls_session(tcp::socket socket) {
    Counted counted(connections);
    TlsStream stream(beast::tcp_stream(std::move(socket)), *tls);
    beast::get_lowest_layer(stream).expires_after(options.header_timeout);
    auto [ec] =
        co_await stream.async_handshake(ssl::stream_base::server, asio::as_tuple(use_awaitable));
    if (ec) co_return;
    co_await serve(std::move(stream));
  }

  // A lingering close (review #27): after an answer sent before its request was read whole (413,
  // a refusal from the head, 400), what the client still sends is read and dropped for a while
  // (at most 2 s and 16 MiB), so that closing with unread bytes does not reset the connection
  // before the client has read the answer.
  awaitable<void> linger(beast::tcp_stream& s) {
    constexpr size_t kMaxDrain = 16u << 20;
    s.expires_after(std::chrono::seconds(2));
    char scratch[4096];
    for (size_t drained = 0; drained < kMaxDrain;) {
      auto [ec, n] =
          co_await s.async_read_some(asio::buffer(scratch), asio::as_tuple(use_awaitable));
      if (ec) break;
      drained += n;
    }
  }

  ServerResponse call(const ServerRequest& request) {
    try {
      return handler(request);
    } catch (const std::exception&) {
      // What went wrong stays on the server (the handler logs its own); the client gets 500.
      return ServerResponse{500, error_body(500, "internal error")};
    }
  }

  template <class Stream>
  awaitable<void> serve(Stream stream) {
    beast::flat_buffer buffer;
    bool unread = false;  // answered before the request was read whole
    for (;;) {
      // Waiting for the next request (idle), then for the rest of its head (slowloris).
      if (buffer.size() == 0) {
        beast::get_lowest_layer(stream).expires_after(options.idle_timeout);
        auto [ec, n] =
            co_await stream.async_read_some(buffer.prepare(4096), asio::as_tuple(use_awaitable));
        if (ec) break;
        buffer.commit(n);
      }
      http::request_parser<http::string_body> parser;
      parser.body_limit(boost::none);  // the limit is the route's: set once the head is known
      beast::get_lowest_layer(stream).expires_after(options.header_timeout);
      auto [hec, hn] =
          co_await http::async_read_header(stream, buffer, parser, asio::as_tuple(use_awaitable));
      if (hec) {
        if (&hec.category() == &http::make_error_code(http::error::bad_target).category() &&
            hec != http::error::end_of_stream && hec != http::error::partial_message) {
          auto res = error_response(400, "malformed HTTP request: " + hec.message(), 11);
          co_await write(stream, res);
          unread = true;
        }
        break;
      }
      const unsigned version = parser.get().version();
      size_t limit = options.body_limit;
      if (options.on_head) {
        HeadDecision d =
            options.on_head(to_request(parser.get(), beast::get_lowest_layer(stream).socket()));
        if (d.answer) {
          http::response<http::string_body> res{static_cast<http::status>(d.answer->status),
                                                version};
          res.set(http::field::server, options.server_name);
          res.set(http::field::content_type, d.answer->content_type);
          for (const auto& [k, v] : d.answer->headers) res.set(k, v);
          res.body() = std::move(d.answer->body);
          res.keep_alive(false);
          res.prepare_payload();
          co_await write(stream, res);
          unread = !parser.is_done();
          break;
        }
        if (d.body_limit > 0) limit = d.body_limit;
      }
      const auto length = parser.content_length();
      bool too_large = length && *length > limit;
      if (!too_large && !parser.is_done()) {
        parser.body_limit(limit);
        beast::get_lowest_layer(stream).expires_after(options.body_timeout);
        auto [bec, bn] =
            co_await http::async_read(stream, buffer, parser, asio::as_tuple(use_awaitable));
        if (bec == http::error::body_limit) {
          too_large = true;
        } else if (bec) {
          break;
        }
      }
      if (too_large) {
        auto res = error_response(
            413, "request body larger than " + std::to_string(limit) + " bytes for this route",
            version);
        co_await write(stream, res);
        unread = true;
        break;
      }
      auto req = parser.release();
      ServerRequest request = to_request(req, beast::get_lowest_layer(stream).socket());
      if (websocket::is_upgrade(req)) {
        ServerResponse reject;
        reject.status = 404;
        reject.body = error_body(404, "no WebSocket endpoint at this path");
        if (ws.accept && ws.accept(request, reject)) {
          beast::get_lowest_layer(stream)
              .expires_never();  // the WebSocket's own timeouts from here
          // Bytes the client sent right behind its upgrade request (its first frames) are
          // already in `buffer`: they go to the WebSocket, not away (review #27).
          std::string early = beast::buffers_to_string(buffer.data());
          co_await ws_session(std::move(stream), std::move(req), request, std::move(early));
          co_return;
        }
        http::response<http::string_body> res{static_cast<http::status>(reject.status),
                                              req.version()};
        res.set(http::field::content_type, reject.content_type);
        for (const auto& [k, v] : reject.headers) res.set(k, v);
        res.body() = reject.body;
        res.keep_alive(false);
        res.prepare_payload();
        co_await write(stream, res);
        break;
      }
      ServerResponse r = call(request);
      if (r.block) {
        // The route waits on I/O: called again on the blocking threads, while this io thread
        // serves the other connections; the session resumes on its own strand with the answer.
        request.may_block = true;
        r = co_await asio::co_spawn(
            blocking, [this, &request]() -> awaitable<ServerResponse> { co_return call(request); },
            use_awaitable);
        if (r.block) r = ServerResponse{500, error_body(500, "internal error")};
      }
      http::response<http::string_body> res{static_cast<http::status>(r.status), req.version()};
      res.set(http::field::server, options.server_name);
      res.set(http::field::content_type, r.content_type);
      for (const auto& [k, v] : r.headers) res.set(k, v);
      res.body() = std::move(r.body);
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      if (req.method() == http::verb::head) res.body().clear();
      const bool sent = co_await write(stream, res);
      if (!sent || !req.keep_alive()) break;
    }
    beast::error_code ignored;
    beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (unread) co_await linger(beast::get_lowest_layer(stream));
  }

  template <class Stream>
  awaitable<void> ws_session(Stream stream, http::request<http::string_body> req,
                             ServerRequest request, std::string early) {
    const uint64_t id = next_ws_id++;
    auto conn =
        std::make_shared<WsConnOf<Stream>>(std::move(stream), id, options.ws_max_queued,
                                           options.ws_max_queued_bytes, options.ws_drop_oldest);
    auto& s = conn->ws();
    s.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    s.set_option(websocket::stream_base::decorator(
        [name = options.server_name](websocket::response_type& res) {
          res.set(http::field::server, name);
        }));
    beast::error_code aec;
    if (early.empty()) {
      std::tie(aec) = co_await s.async_accept(req, asio::as_tuple(use_awaitable));
    } else {
      // accept(buffers) reads the request from the buffers and keeps what follows it.
      std::ostringstream head;
      head << req;
      auto bytes = std::make_shared<std::string>(head.str() + early);
      std::tie(aec) = co_await s.async_accept(asio::buffer(*bytes), asio::as_tuple(use_awaitable));
    }
    if (aec) co_return;
    {
      std::lock_guard lock(conns_mu);
      conns[id] = conn;
    }
    ++ws_clients;
    auto handle = std::make_shared<WsHandle>(conn);
    if (ws.on_open) ws.on_open(handle);
    if (ws.on_open_request) ws.on_open_request(handle, request);
    beast::flat_buffer buf;
    for (;;) {
      auto [ec, n] = co_await s.async_read(buf, asio::as_tuple(use_awaitable));
      if (ec) break;
      if (ws.on_message) ws.on_message(handle, beast::buffers_to_string(buf.data()));
      buf.consume(buf.size());
    }
    conn->mark_closed();
    --ws_clients;
    {
      std::lock_guard lock(conns_mu);
      conns.erase(id);
    }
    if (ws.on_close) ws.on_close(handle);
  }
};

HttpServer::HttpServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<HttpServer>> HttpServer::start(HttpServerOptions options,
                                                      HttpHandler handler, WsHandler ws) {
  const int threads = std::max(1, options.threads);
  auto impl = std::make_shared<Impl>(threads, options.blocking_threads);
  impl->options = options;
  impl->handler = std::move(handler);
  impl->ws = std::move(ws);
  if (!options.tls_cert_file.empty()) {
    if (auto st =
            net::detail::load_server_tls(impl->tls, options.tls_cert_file, options.tls_key_file);
        !st) {
      return st.error();
    }
  }

  if (auto st = net::detail::listen_on(impl->acceptor, options.host, options.port); !st) {
    return st.error();
  }
  set_cloexec(impl->acceptor.native_handle());
  impl->port = impl->acceptor.local_endpoint().port();
  Impl* raw = impl.get();
  asio::co_spawn(impl->io, raw->accept_loop(), asio::detached);
  for (int i = 0; i < threads; ++i) {
    impl->threads.emplace_back([raw] { raw->io.run(); });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::~HttpServer() {
  impl_->io.stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  // Handlers running there finish (they refer to sessions that live until `io` goes); those
  // not started are dropped.
  impl_->blocking.stop();
  impl_->blocking.join();
  // Sessions still open are destroyed with the io_context (below, with Impl); mark them closed
  // first so a user's send() in the meantime posts nothing.
  std::lock_guard lock(impl_->conns_mu);
  for (auto& [id, weak] : impl_->conns) {
    if (auto c = weak.lock()) c->mark_closed();
  }
}

uint16_t HttpServer::port() const {
  return impl_->port;
}
std::string HttpServer::url() const {
  return (impl_->tls ? "https://" : "http://") + impl_->options.host + ":" +
         std::to_string(impl_->port);
}
int64_t HttpServer::ws_clients() const {
  return impl_->ws_clients.load();
}
int64_t HttpServer::connections() const {
  return impl_->connections.load();
}
int64_t HttpServer::refused_connections() const {
  return impl_->refused.load();
}

}  // namespace sf::net
