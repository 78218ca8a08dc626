// The replay exchange's network side. The only file of this library that includes Beast.
#include "sf/replay/server.h"
#include "sf/net/detail/listen.h"
#include "sf/net/detail/tls_server.h"
#include "sf/net/detail/ws_wire.h"

#include <zlib.h>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <deque>
#include <map>
#include <thread>

#include "sf/replay/streams.h"

namespace sf::replay {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using namespace std::chrono_literals;

namespace {

std::string gzip(const std::string& in) {
  z_stream zs{};
  deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out;
  out.resize(deflateBound(&zs, in.size()));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace

struct ReplayServer::Impl {
  std::shared_ptr<const Dataset> data;
  ServerOptions options;
  std::shared_ptr<Clock> clock;
  RestApi rest;
  VisionTree vision;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::optional<ssl::context> tls;  // set: HTTPS and WSS only
  std::thread thread;
  uint16_t port = 0;

  // Touched only on the io thread.
  std::map<std::string, std::shared_ptr<const StreamMessages>> streams;
  std::map<std::string, size_t> head;         // furthest message sent per stream
  std::map<std::string, int> connections_of;  // connections ever opened per stream
  std::atomic<int64_t> ws_connections{0}, ws_messages{0}, ws_drops{0};

  Impl(std::shared_ptr<const Dataset> d, ServerOptions o, std::shared_ptr<Clock> c)
      : data(std::move(d)),
        options(o),
        clock(c),
        rest(data, live_rest(o, *c), c),
        vision(data, o.vision) {}

  // With paced streams, REST shows the same live market: trades only up to its now.
  static RestOptions live_rest(const ServerOptions& o, Clock& clock) {
    RestOptions r = o.rest;
    r.speed = o.speed;
    r.market_started_ms = clock.now_ms();
    return r;
  }

  Result<std::shared_ptr<const StreamMessages>> stream(const std::string& name) {
    auto it = streams.find(name);
    if (it != streams.end()) return it->second;
    auto built = build_stream(*data, name);
    if (built) streams[name] = *built;
    return built;
  }

  awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(use_awaitable));
      if (ec) co_return;
      // Frames go out as they are written (as an exchange's do), not held by Nagle for an ACK.
      beast::error_code nd;
      socket.set_option(tcp::no_delay(true), nd);
      if (tls) {
        asio::co_spawn(io, tls_session(beast::tcp_stream(std::move(socket))), asio::detached);
      } else {
        asio::co_spawn(io, http_session(beast::tcp_stream(std::move(socket))), asio::detached);
      }
    }
  }

  // The TLS handshake (10 s at most; a client that refuses our certificate ends it), then HTTP.
  awaitable<void> tls_session(beast::tcp_stream tcp_stream) {
    TlsStream stream(std::move(tcp_stream), *tls);
    beast::get_lowest_layer(stream).expires_after(10s);
    auto [ec] =
        co_await stream.async_handshake(ssl::stream_base::server, asio::as_tuple(use_awaitable));
    if (ec) co_return;
    beast::get_lowest_layer(stream).expires_never();
    co_await http_session(std::move(stream));
  }

  template <class Stream>
  awaitable<void> http_session(Stream stream) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> req;
      auto [ec, n] = co_await http::async_read(stream, buffer, req, asio::as_tuple(use_awaitable));
      if (ec) co_return;
      if (websocket::is_upgrade(req)) {
        co_await ws_session(std::move(stream), std::move(req));
        co_return;
      }
      auto url = boost::urls::parse_origin_form(req.target());
      RestRequest rr;
      rr.method = std::string(req.method_string());
      if (url) {
        rr.path = std::string(url->path());
        rr.query = std::string(url->encoded_query());
      }
      beast::error_code ignored;
      rr.client =
          beast::get_lowest_layer(stream).socket().remote_endpoint(ignored).address().to_string();
      // /data/...: the bulk archive (data.binance.vision), served beside the REST API.
      RestResponse r = rr.path.rfind("/data/", 0) == 0 ? vision.serve(rr.path) : rest.handle(rr);
      if (options.slow_ms > 0) {
        asio::steady_timer t(io, std::chrono::milliseconds(options.slow_ms));
        co_await t.async_wait(asio::as_tuple(use_awaitable));
      }
      http::response<http::string_body> res{static_cast<http::status>(r.status), req.version()};
      res.set(http::field::server, "streamforge-binance-replay");
      for (const auto& [k, v] : r.headers) res.set(k, v);
      const auto accept = req[http::field::accept_encoding];
      if (options.gzip && r.body.size() > 256 && accept.find("gzip") != beast::string_view::npos) {
        res.body() = gzip(r.body);
        res.set(http::field::content_encoding, "gzip");
      } else {
        res.body() = std::move(r.body);
      }
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      auto [wec, wn] = co_await http::async_write(stream, res, asio::as_tuple(use_awaitable));
      if (wec || !req.keep_alive()) break;
    }
    beast::error_code ec;
    beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  // Streams named by the handshake target; empty for a bare /ws (subscription mode).
  static Result<std::pair<std::vector<std::string>, bool>> streams_of(std::string_view target) {
    auto url = boost::urls::parse_origin_form(target);
    if (!url) return make_error("bad target");
    const std::string path(url->path());
    std::vector<std::string> names;
    bool combined = false;
    auto split = [&](std::string_view s) {
      size_t start = 0;
      while (start < s.size()) {
        size_t slash = s.find('/', start);
        if (slash == std::string_view::npos) slash = s.size();
        if (slash > start) names.emplace_back(s.substr(start, slash - start));
        start = slash + 1;
      }
    };
    if (path == "/stream") {
      combined = true;
      for (auto p : url->params()) {
        if (p.key == "streams") split(p.value);
      }
      if (names.empty()) return make_error("/stream needs ?streams=<a>/<b>");
    } else if (path == "/ws" || path == "/ws/") {
    } else if (path.rfind("/ws/", 0) == 0) {
      split(std::string_view(path).substr(4));
    } else {
      return make_error("WebSocket endpoints are /ws/<stream>, /stream?streams=..., /ws");
    }
    return std::make_pair(std::move(names), combined);
  }

  struct Subscription {
    std::string name;
    std::shared_ptr<const StreamMessages> messages;
    size_t next = 0;
  };

  template <class Stream>
  awaitable<void> ws_session(Stream stream, http::request<http::string_body> req) {
    auto parsed = streams_of(req.target());
    std::vector<Subscription> subs;
    std::string problem = parsed ? "" : parsed.error().message;
    if (parsed) {
      for (const auto& name : parsed->first) {
        auto s = this->stream(name);
        if (!s) {
          problem = s.error().message;
          break;
        }
        subs.push_back({name, *s, 0});
      }
    }
    if (!problem.empty()) {
      http::response<http::string_body> res{http::status::bad_request, req.version()};
      res.body() = "{\"code\":-1121,\"msg\":\"" + problem + "\"}";
      res.prepare_payload();
      co_await http::async_write(stream, res, asio::as_tuple(use_awaitable));
      co_return;
    }
    const bool combined = parsed->second;

    auto ws = std::make_shared<websocket::stream<Stream>>(std::move(stream));
    ws->set_option(websocket::stream_base::timeout{10s, websocket::stream_base::none(), false});
    auto state = std::make_shared<WsState>();
    state->last_pong = clock->steady_now();
    auto clk = clock;
    ws->control_callback([state, clk](websocket::frame_type kind, beast::string_view) {
      if (kind == websocket::frame_type::pong) state->last_pong = clk->steady_now();
    });
    auto [aec] = co_await ws->async_accept(req, asio::as_tuple(use_awaitable));
    if (aec) co_return;
    ws->text(true);
    ++ws_connections;
    for (auto& s : subs) attach(s);
    asio::co_spawn(io, ws_reader(ws, state), asio::detached);
    co_await ws_writer(ws, state, std::move(subs), combined);
  }

  struct WsState {
    std::deque<std::string> replies;     // answers to SUBSCRIBE etc., sent by the writer
    std::vector<std::string> subscribe;  // streams the reader asked the writer to add
    std::chrono::steady_clock::time_point last_pong;
    bool closed = false;
  };

  void attach(Subscription& s) {
    int& n = connections_of[s.name];
    size_t start = head[s.name];
    if (options.speed > 0 && !s.messages->empty()) {
      // Real-time market: join at the message due now.
      const int64_t elapsed =
          static_cast<int64_t>(static_cast<double>(clock->now_ms() - started_ms) * options.speed);
      const int64_t due = s.messages->front().event_time + elapsed;
      start = 0;
      while (start < s.messages->size() && (*s.messages)[start].event_time < due) ++start;
    }
    if (n > 0) start += static_cast<size_t>(options.ws.skip_on_reconnect);
    s.next = std::min(start, s.messages->size());
    ++n;
  }

  template <class Ws>
  awaitable<void> ws_reader(std::shared_ptr<Ws> ws, std::shared_ptr<WsState> state) {
    beast::flat_buffer buf;
    for (;;) {
      auto [ec, n] = co_await ws->async_read(buf, asio::as_tuple(use_awaitable));
      if (ec) {
        state->closed = true;
        co_return;
      }
      const std::string text = beast::buffers_to_string(buf.data());
      buf.consume(buf.size());
      boost::system::error_code jec;
      auto v = boost::json::parse(text, jec);
      if (jec || !v.is_object()) {
        state->replies.push_back("{\"error\":{\"code\":2,\"msg\":\"Invalid JSON\"}}");
        continue;
      }
      auto& o = v.as_object();
      const auto* method = o.if_contains("method");
      const std::string id = o.contains("id") ? boost::json::serialize(o.at("id")) : "null";
      if (method && method->is_string() && method->as_string() == "SUBSCRIBE" &&
          o.contains("params") && o.at("params").is_array()) {
        for (const auto& p : o.at("params").as_array()) {
          if (p.is_string()) state->subscribe.emplace_back(p.as_string());
        }
        state->replies.push_back("{\"result\":null,\"id\":" + id + "}");
      } else if (method && method->is_string() && method->as_string() == "LIST_SUBSCRIPTIONS") {
        state->replies.push_back("{\"result\":[],\"id\":" + id + "}");
      } else {
        state->replies.push_back(
            "{\"error\":{\"code\":2,\"msg\":\"Invalid request\"},\"id\":" + id + "}");
      }
    }
  }

  template <class Ws>
  awaitable<void> ws_writer(std::shared_ptr<Ws> ws, std::shared_ptr<WsState> state,
                            std::vector<Subscription> subs, bool combined) {
    const auto& f = options.ws;
    asio::steady_timer timer(io);
    const auto connected = clock->steady_now();
    auto last_ping = connected;
    const int64_t wall0 = clock->now_ms();
    int64_t sent = 0;
    bool silent = false;
    std::string frame, batched;
    const bool batch = options.batch_frames && options.speed == 0 && f.drop_after == 0 &&
                       f.skip_on_reconnect == 0 && f.garbage_every == 0 && f.shutdown_after == 0 &&
                       f.silence_after == 0;
    auto drop = [&] {
      ++ws_drops;
      beast::error_code ec;
      beast::get_lowest_layer(*ws).socket().shutdown(tcp::socket::shutdown_both, ec);
      beast::get_lowest_layer(*ws).socket().close(ec);
    };
    auto write = [&](const std::string& text) -> awaitable<bool> {
      auto [ec, n] = co_await ws->async_write(asio::buffer(text), asio::as_tuple(use_awaitable));
      co_return !ec;
    };
    auto close_normally = [&]() -> awaitable<void> {
      co_await ws->async_close(websocket::close_code::normal, asio::as_tuple(use_awaitable));
    };

    while (!state->closed) {
      const auto now = clock->steady_now();
      if (now - connected >= std::chrono::milliseconds(options.max_connection_ms)) {
        co_await close_normally();
        co_return;
      }
      for (auto& name : state->subscribe) {
        auto s = this->stream(name);
        if (!s) {
          state->replies.push_back("{\"error\":{\"code\":2,\"msg\":\"" + s.error().message +
                                   "\"}}");
          continue;
        }
        subs.push_back({name, *s, 0});
        attach(subs.back());
      }
      state->subscribe.clear();
      if (silent) {
        timer.expires_after(50ms);
        co_await timer.async_wait(asio::as_tuple(use_awaitable));
        continue;
      }
      while (!state->replies.empty()) {
        std::string r = std::move(state->replies.front());
        state->replies.pop_front();
        if (!co_await write(r)) co_return;
      }
      if (now - last_ping >= std::chrono::milliseconds(options.ping_interval_ms)) {
        if (now - state->last_pong > std::chrono::milliseconds(options.pong_timeout_ms) +
                                         std::chrono::milliseconds(options.ping_interval_ms)) {
          drop();  // the client stopped answering pings
          co_return;
        }
        last_ping = now;
        auto [pec] = co_await ws->async_ping({}, asio::as_tuple(use_awaitable));
        if (pec) co_return;
      }
      // The next message across the subscribed streams, in event-time order.
      Subscription* next = nullptr;
      for (auto& s : subs) {
        if (s.next < s.messages->size() &&
            (next == nullptr ||
             (*s.messages)[s.next].event_time < (*next->messages)[next->next].event_time)) {
          next = &s;
        }
      }
      if (next == nullptr) {  // the data is exhausted: a quiet market, pings only
        timer.expires_after(50ms);
        co_await timer.async_wait(asio::as_tuple(use_awaitable));
        continue;
      }
      if (batch) {
        // Frames as the server would write them one by one, in one write.
        batched.clear();
        int64_t in_batch = 0;
        while (next != nullptr && batched.size() < 64 * 1024) {
          const StreamMessage& bm = (*next->messages)[next->next];
          if (combined) {
            frame = "{\"stream\":\"" + next->name + "\",\"data\":" + bm.json + "}";
            net::detail::append_server_frame(batched, net::detail::WsOpcode::text, frame);
          } else {
            net::detail::append_server_frame(batched, net::detail::WsOpcode::text, bm.json);
          }
          if (options.on_sent) options.on_sent(bm.json);
          ++next->next;
          size_t& h = head[next->name];
          h = std::max(h, next->next);
          ++in_batch;
          next = nullptr;
          for (auto& s : subs) {
            if (s.next < s.messages->size() &&
                (next == nullptr ||
                 (*s.messages)[s.next].event_time < (*next->messages)[next->next].event_time)) {
              next = &s;
            }
          }
        }
        auto [bec, bn] = co_await asio::async_write(ws->next_layer(), asio::buffer(batched),
                                                    asio::as_tuple(use_awaitable));
        if (bec) co_return;
        sent += in_batch;
        ws_messages += in_batch;
        continue;
      }
      const StreamMessage& m = (*next->messages)[next->next];
      if (options.speed > 0) {
        // Market time from the steady clock to the microsecond. From the millisecond clock, a
        // message due within `speed` market ms set a timer of 0: at speed 30 (~1,000 msgs/s) the
        // exchange spun on a core for most of each millisecond, beside the loader it fed.
        const double elapsed =
            std::chrono::duration<double, std::milli>(clock->steady_now() - started_steady)
                .count() *
            options.speed;
        const double due =
            static_cast<double>(m.event_time - next->messages->front().event_time) - elapsed;
        if (due > 0) {
          timer.expires_after(std::chrono::microseconds(
              std::min<int64_t>(static_cast<int64_t>(due * 1000 / options.speed) + 1, 50'000)));
          co_await timer.async_wait(asio::as_tuple(use_awaitable));
          continue;
        }
      }
      (void)wall0;
      if (f.drop_after > 0 && sent == f.drop_after) {
        drop();
        co_return;
      }
      if (f.shutdown_after > 0 && sent == f.shutdown_after) {
        (void)co_await write("{\"e\":\"serverShutdown\",\"E\":" + std::to_string(clock->now_ms()) +
                             "}");
        timer.expires_after(500ms);
        co_await timer.async_wait(asio::as_tuple(use_awaitable));
        co_await close_normally();
        co_return;
      }
      if (f.silence_after > 0 && sent == f.silence_after) {
        silent = true;
        continue;
      }
      if (f.garbage_every > 0 && sent > 0 && sent % f.garbage_every == 0) {
        if (!co_await write("\x01garbage{not json")) co_return;
      }
      if (combined) {
        frame = "{\"stream\":\"" + next->name + "\",\"data\":" + m.json + "}";
        if (!co_await write(frame)) co_return;
      } else {
        if (!co_await write(m.json)) co_return;
      }
      if (options.on_sent) options.on_sent(m.json);
      ++next->next;
      size_t& h = head[next->name];
      h = std::max(h, next->next);
      ++sent;
      ++ws_messages;
    }
  }

  int64_t started_ms = 0;
  std::chrono::steady_clock::time_point started_steady;
};

ReplayServer::ReplayServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<ReplayServer>> ReplayServer::start(std::shared_ptr<const Dataset> data,
                                                          ServerOptions options,
                                                          std::shared_ptr<Clock> clock) {
  auto impl = std::make_unique<Impl>(std::move(data), options, std::move(clock));
  if (auto st = net::detail::listen_on(impl->acceptor, options.host, options.port); !st) {
    return st.error();
  }
  impl->port = impl->acceptor.local_endpoint().port();
  impl->started_ms = impl->clock->now_ms();
  impl->started_steady = impl->clock->steady_now();
  if (!options.tls_cert_file.empty()) {
    if (auto st =
            net::detail::load_server_tls(impl->tls, options.tls_cert_file, options.tls_key_file);
        !st) {
      return st.error();
    }
  }

  Impl* raw = impl.get();
  asio::co_spawn(impl->io, raw->accept_loop(), asio::detached);
  impl->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<ReplayServer>(new ReplayServer(std::move(impl)));
}

ReplayServer::~ReplayServer() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

uint16_t ReplayServer::port() const {
  return impl_->port;
}
std::string ReplayServer::rest_url() const {
  return (impl_->tls ? "https://" : "http://") + impl_->options.host + ":" +
         std::to_string(impl_->port);
}
std::string ReplayServer::ws_url() const {
  return (impl_->tls ? "wss://" : "ws://") + impl_->options.host + ":" +
         std::to_string(impl_->port) + "/ws";
}
RestStats ReplayServer::rest_stats() const {
  return impl_->rest.stats();
}
WsStats ReplayServer::ws_stats() const {
  return {impl_->ws_connections.load(), impl_->ws_messages.load(), impl_->ws_drops.load()};
}

}  // namespace sf::replay
