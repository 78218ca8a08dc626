// HttpServer: one of the two files of this library that include Beast (they are slow to compile).
#include "sf/net/http_server.h"
#include "sf/net/detail/listen.h"

#include <openssl/evp.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/url/parse.hpp>
#include <deque>
#include <mutex>
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

// Owned by its session (and by its write handlers while they run); users hold a WsHandle.
class WsConn : public std::enable_shared_from_this<WsConn> {
 public:
  WsConn(tcp::socket socket, uint64_t id, size_t max_queued, bool drop_oldest)
      : ws_(std::in_place, std::move(socket)),
        id_(id),
        max_queued_(max_queued),
        drop_oldest_(drop_oldest) {}

  websocket::stream<beast::tcp_stream>& ws() { return *ws_; }

  void send(std::string text) {
    std::lock_guard lock(mu_);
    if (closed_) return;
    if (queue_.size() >= max_queued_) {
      if (drop_oldest_ && !queue_.empty()) {
        // A slow client: it loses its oldest message, is told so, and holds nobody up.
        queue_.pop_front();
        ++dropped_;
      } else {
        // A client that does not read: drop it rather than grow without bound.
        closed_ = true;
        post_close();
        return;
      }
    }
    queue_.push_back(std::move(text));
    if (!writing_) {
      writing_ = true;
      asio::post(ws_->get_executor(), [self = shared_from_this()] { self->write_next(); });
    }
  }

  void close() {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    post_close();
  }

  uint64_t id() const { return id_; }
  bool open() const {
    std::lock_guard lock(mu_);
    return !closed_;
  }

  void mark_closed() {
    std::lock_guard lock(mu_);
    closed_ = true;
  }

 private:
  void post_close() {
    asio::post(ws_->get_executor(), [self = shared_from_this()] {
      if (!self->ws_) return;
      self->ws_->async_close(websocket::close_code::normal, [self](beast::error_code) {});
    });
  }

  void write_next() {
    {
      std::lock_guard lock(mu_);
      if (queue_.empty() || closed_ || !ws_) {
        writing_ = false;
        return;
      }
      if (dropped_ > 0) {
        current_ = "{\"event\":\"dropped\",\"messages\":" + std::to_string(dropped_) + "}";
        dropped_ = 0;
      } else {
        current_ = std::move(queue_.front());
        queue_.pop_front();
      }
    }
    ws_->text(true);
    ws_->async_write(asio::buffer(current_),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) {
                         self->mark_closed();
                         std::lock_guard lock(self->mu_);
                         self->writing_ = false;
                         return;
                       }
                       self->write_next();
                     });
  }

  std::optional<websocket::stream<beast::tcp_stream>> ws_;
  uint64_t id_;
  size_t max_queued_;
  bool drop_oldest_;
  size_t dropped_ = 0;
  mutable std::mutex mu_;
  bool closed_ = false;
  bool writing_ = false;
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

}  // namespace

struct HttpServer::Impl {
  HttpServerOptions options;
  HttpHandler handler;
  WsHandler ws;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;
  uint16_t port = 0;
  std::atomic<uint64_t> next_ws_id{1};
  std::atomic<int64_t> ws_clients{0};
  std::mutex conns_mu;
  std::map<uint64_t, std::weak_ptr<WsConn>> conns;

  explicit Impl(int threads) : io(threads) {}

  awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] =
          co_await acceptor.async_accept(asio::make_strand(io), asio::as_tuple(use_awaitable));
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        continue;  // e.g. too many open files: keep serving the connections we have
      }
      auto exec = socket.get_executor();
      asio::co_spawn(exec, session(std::move(socket)), asio::detached);
    }
  }

  static ServerResponse error_response(int status, const std::string& message) {
    ServerResponse r;
    r.status = status;
    r.body = R"({"status":"error","message":")" + message + R"(","data":{}})";
    return r;
  }

  awaitable<void> session(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(options.body_limit);
      stream.expires_after(std::chrono::seconds(120));  // idle keep-alive connections go
      auto [ec, n] =
          co_await http::async_read(stream, buffer, parser, asio::as_tuple(use_awaitable));
      if (ec == http::error::body_limit) {
        ServerResponse r = error_response(
            413, "request body larger than " + std::to_string(options.body_limit) + " bytes");
        http::response<http::string_body> res{http::status::payload_too_large, 11};
        res.set(http::field::content_type, r.content_type);
        res.body() = r.body;
        res.keep_alive(false);
        res.prepare_payload();
        co_await http::async_write(stream, res, asio::as_tuple(use_awaitable));
        break;
      }
      if (ec) break;
      stream.expires_never();
      auto req = parser.release();
      ServerRequest request = to_request(req, stream.socket());
      if (websocket::is_upgrade(req)) {
        ServerResponse reject;
        reject.status = 404;
        reject.body =
            R"({"status":"error","message":"no WebSocket endpoint at this path","data":{}})";
        if (ws.accept && ws.accept(request, reject)) {
          co_await ws_session(std::move(stream), std::move(req), request);
          co_return;
        }
        http::response<http::string_body> res{static_cast<http::status>(reject.status),
                                              req.version()};
        res.set(http::field::content_type, reject.content_type);
        res.body() = reject.body;
        res.keep_alive(false);
        res.prepare_payload();
        co_await http::async_write(stream, res, asio::as_tuple(use_awaitable));
        break;
      }
      ServerResponse r;
      try {
        r = handler(request);
      } catch (const std::exception& e) {
        r = error_response(500, std::string("internal error: ") + e.what());
      }
      http::response<http::string_body> res{static_cast<http::status>(r.status), req.version()};
      res.set(http::field::server, options.server_name);
      res.set(http::field::content_type, r.content_type);
      for (const auto& [k, v] : r.headers) res.set(k, v);
      res.body() = std::move(r.body);
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      auto [wec, wn] = co_await http::async_write(stream, res, asio::as_tuple(use_awaitable));
      if (wec || !req.keep_alive()) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  awaitable<void> ws_session(beast::tcp_stream stream, http::request<http::string_body> req,
                             ServerRequest request) {
    const uint64_t id = next_ws_id++;
    auto conn = std::make_shared<WsConn>(stream.release_socket(), id, options.ws_max_queued,
                                         options.ws_drop_oldest);
    auto& s = conn->ws();
    s.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    s.set_option(websocket::stream_base::decorator(
        [name = options.server_name](websocket::response_type& res) {
          res.set(http::field::server, name);
        }));
    auto [aec] = co_await s.async_accept(req, asio::as_tuple(use_awaitable));
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
  auto impl = std::make_shared<Impl>(threads);
  impl->options = options;
  impl->handler = std::move(handler);
  impl->ws = std::move(ws);
  if (auto st = net::detail::listen_on(impl->acceptor, options.host, options.port); !st) {
    return st.error();
  }
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
  return "http://" + impl_->options.host + ":" + std::to_string(impl_->port);
}
int64_t HttpServer::ws_clients() const {
  return impl_->ws_clients.load();
}

}  // namespace sf::net
