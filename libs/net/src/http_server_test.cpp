// HttpServer over real loopback HTTP and WebSocket, driven by our own clients.
#include "sf/net/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "sf/net/transport.h"

namespace sf::net {
namespace {

std::unique_ptr<HttpServer> echo_server(WsHandler ws = {}, HttpServerOptions o = {}) {
  return HttpServer::start(
             o,
             [](const ServerRequest& r) {
               ServerResponse out;
               if (r.path == "/missing") {
                 out.status = 404;
                 out.body = R"({"status":"error"})";
                 return out;
               }
               if (r.path == "/throw") throw std::runtime_error("boom");
               std::string q;
               for (const auto& [k, v] : r.query) q += k + "=" + v + ";";
               out.body =
                   r.method + " " + r.path + " " + q + " " + r.body + " " + r.header("x-test");
               out.content_type = "text/plain";
               out.headers["X-Echo"] = "1";
               return out;
             },
             std::move(ws))
      .value();
}

TEST(HttpServer, ServesRequestsWithDecodedPathsQueriesAndBodies) {
  auto s = echo_server();
  auto c = HttpClient::create(s->url()).value();
  auto r = c->get("/queues/wf%2D1?status=running&symbol=BTC%55SDT&flag").value();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "GET /queues/wf-1 flag=;status=running;symbol=BTCUSDT;  ");
  EXPECT_EQ(r.header("x-echo"), "1");
  EXPECT_EQ(r.header("content-type"), "text/plain");
  HttpRequest post;
  post.method = "POST";
  post.target = "/queues/start";
  post.body = R"({"a":1})";
  post.headers["X-Test"] = "yes";
  EXPECT_EQ(c->request(post).value().body, R"(POST /queues/start  {"a":1} yes)");
  EXPECT_EQ(c->get("/missing").value().status, 404);
  auto boom = c->get("/throw").value();
  EXPECT_EQ(boom.status, 500);
  EXPECT_NE(boom.body.find("boom"), std::string::npos);
  // Still the same kept-alive connection after all that.
  EXPECT_EQ(c->get("/again").value().status, 200);
}

TEST(HttpServer, OversizedBodiesGet413) {
  HttpServerOptions o;
  o.body_limit = 1024;
  auto s = echo_server({}, o);
  auto c = HttpClient::create(s->url()).value();
  HttpRequest post;
  post.method = "POST";
  post.target = "/x";
  post.body = std::string(4096, 'a');
  post.idempotent = false;
  EXPECT_EQ(c->request(post).value().status, 413);
}

TEST(HttpServer, WebSocketsAreAcceptedByPathAndBroadcastTo) {
  std::mutex mu;
  std::vector<std::shared_ptr<WsConnection>> clients;
  std::vector<std::string> received;
  WsHandler ws;
  ws.accept = [](const ServerRequest& r, ServerResponse& reject) {
    if (r.path == "/ws/topic") return true;
    reject.status = 403;
    return false;
  };
  ws.on_open = [&](std::shared_ptr<WsConnection> c) {
    std::lock_guard lock(mu);
    clients.push_back(c);
  };
  ws.on_message = [&](std::shared_ptr<WsConnection> c, std::string m) {
    std::lock_guard lock(mu);
    received.push_back(m);
    c->send("echo:" + m);
  };
  auto s = echo_server(ws);
  const std::string base = "ws://127.0.0.1:" + std::to_string(s->port());
  EXPECT_FALSE(WsClient::connect(base + "/ws/other").ok());
  auto a = WsClient::connect(base + "/ws/topic").value();
  auto b = WsClient::connect(base + "/ws/topic").value();
  for (int i = 0; i < 100 && s->ws_clients() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(s->ws_clients(), 2);
  {
    std::lock_guard lock(mu);
    for (auto& c : clients) c->send(R"({"event":"state"})");
  }
  EXPECT_EQ(a->read(std::chrono::seconds(5)).value(), R"({"event":"state"})");
  EXPECT_EQ(b->read(std::chrono::seconds(5)).value(), R"({"event":"state"})");
  ASSERT_TRUE(a->send("hello").ok());
  EXPECT_EQ(a->read(std::chrono::seconds(5)).value(), "echo:hello");
  a->close();
  for (int i = 0; i < 200 && s->ws_clients() > 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(s->ws_clients(), 1);
  // Sending to a closed connection is a no-op, also after the server is gone.
  std::lock_guard lock(mu);
  for (auto& c : clients) c->send("late");
  s.reset();
  for (auto& c : clients) {
    c->send("after");
    EXPECT_FALSE(c->open());
  }
}

TEST(HttpServer, BusyPortIsAClearError) {
  auto s = echo_server();
  HttpServerOptions o;
  o.port = s->port();
  auto second = HttpServer::start(o, [](const ServerRequest&) { return ServerResponse{}; });
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("cannot listen"), std::string::npos);
}

TEST(Url, EncodingRoundTripsAndBasicAuth) {
  EXPECT_EQ(url_decode(url_encode("a b/c:d?e=f&g")), "a b/c:d?e=f&g");
  EXPECT_EQ(url_decode("%zz%4"), "%zz%4");
  EXPECT_EQ(basic_auth("root", "secret"), "Basic cm9vdDpzZWNyZXQ=");
}

}  // namespace
}  // namespace sf::net
