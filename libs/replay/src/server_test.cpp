// The replay server over real sockets, driven by the project's own HTTP and WebSocket clients.
#include "sf/replay/server.h"

#include <gtest/gtest.h>

#include "sf/replay/testing/captures.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "sf/net/testing/tls_certs.h"
#include "sf/net/transport.h"
#include "sf/records/parser.h"

namespace sf::replay {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<Dataset> data() {
  return testing::captures();
}

std::unique_ptr<ReplayServer> serve(ServerOptions o = {}) {
  auto s = ReplayServer::start(data(), o);
  EXPECT_TRUE(s.ok()) << s.error().message;
  return std::move(s).value();
}

std::unique_ptr<net::WsClient> connect(const std::string& url) {
  auto c = net::WsClient::connect(url);
  EXPECT_TRUE(c.ok()) << c.error().message;
  return c.ok() ? std::move(c).value() : nullptr;
}

TEST(ReplayServer, RestOverHttpWithWeightHeader) {
  auto s = serve();
  auto http = net::HttpClient::create(s->rest_url()).value();
  auto r = http->get("/api/v3/klines?symbol=ADABTC&interval=1m&limit=2");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("x-mbx-used-weight-1m"), "2");
  auto r2 = http->get("/api/v3/exchangeInfo?symbol=BTCUSDT");  // same kept-alive connection
  ASSERT_TRUE(r2.ok());
  EXPECT_NE(r2->body.find("\"REQUEST_WEIGHT\""), std::string::npos);
  EXPECT_NE(r2->body.find("\"baseAsset\":\"BTC\""), std::string::npos);
  EXPECT_EQ(r2->header("x-mbx-used-weight-1m"), "22");
}

TEST(ReplayServer, GzipWhenTheClientAsksForIt) {
  auto s = serve();
  // The project's client always asks for gzip and inflates: bodies arrive whole either way.
  auto http = net::HttpClient::create(s->rest_url()).value();
  auto r = http->get("/api/v3/klines?symbol=ADABTC&interval=1m&limit=1000").value();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-encoding"), "") << "inflated by the client";
  EXPECT_EQ(r.body.front(), '[');
  EXPECT_EQ(r.body.back(), ']');
  ServerOptions plain;
  plain.gzip = false;
  auto s2 = serve(plain);
  auto r2 = net::HttpClient::create(s2->rest_url())
                .value()
                ->get("/api/v3/klines?symbol=ADABTC&interval=1m&limit=1000");
  EXPECT_EQ(r2.value().body, r.body) << "same answer with and without compression";
}

TEST(ReplayServer, RawTradeStreamInIdOrder) {
  auto s = serve();
  auto ws = connect(s->ws_url() + "/btcusdt@trade");
  ASSERT_TRUE(ws);
  records::BinanceParser p;
  int64_t expected = data()->find("BTCUSDT")->trades.front().trade_id;
  for (int i = 0; i < 3000; ++i) {
    auto m = ws->read(5s);
    ASSERT_TRUE(m.ok()) << m.error().message;
    auto t = p.ws_trade(*m);
    ASSERT_TRUE(t.ok()) << t.error().message;
    ASSERT_EQ(t->trade_id, expected++);
  }
}

// The first `n` messages of a stream, as read.
std::vector<std::string> read_n(net::WsClient& ws, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    auto m = ws.read(5s);
    EXPECT_TRUE(m.ok()) << m.error().message;
    if (!m) break;
    out.push_back(std::move(m).value());
  }
  return out;
}

// batch_frames (benchmarks) writes many frames per socket write: the client must see exactly the
// messages, in the order, of the stream written a frame at a time; raw and combined.
TEST(ReplayServer, BatchedFramesAreTheSameStream) {
  ServerOptions batched;
  batched.batch_frames = true;
  for (const std::string path :
       {"/ws/btcusdt@trade", "/stream?streams=btcusdt@trade/ethusdt@trade"}) {
    auto one = serve(), many = serve(batched);
    auto a = connect("ws://127.0.0.1:" + std::to_string(one->port()) + path);
    auto b = connect("ws://127.0.0.1:" + std::to_string(many->port()) + path);
    ASSERT_TRUE(a && b);
    const auto x = read_n(*a, 5000), y = read_n(*b, 5000);
    ASSERT_EQ(x.size(), 5000u);
    EXPECT_TRUE(x == y) << path;
  }
}

TEST(ReplayServer, CombinedStreamsAndSubscribe) {
  auto s = serve();
  auto ws = connect("ws://127.0.0.1:" + std::to_string(s->port()) +
                    "/stream?streams=btcusdt@trade/ethusdt@trade");
  ASSERT_TRUE(ws);
  std::map<std::string, int> per_stream;
  for (int i = 0; i < 500; ++i) {
    auto m = ws->read(5s).value();
    ASSERT_EQ(m.rfind("{\"stream\":\"", 0), 0u) << m;
    per_stream[m.substr(11, m.find('"', 11) - 11)]++;
  }
  EXPECT_EQ(per_stream.size(), 2u);

  auto sub = connect(s->ws_url());
  ASSERT_TRUE(sub);
  ASSERT_TRUE(sub->send(R"({"method":"SUBSCRIBE","params":["ethusdt@aggTrade"],"id":7})").ok());
  EXPECT_EQ(sub->read(5s).value(), R"({"result":null,"id":7})");
  records::BinanceParser p;
  auto m = p.ws_message(sub->read(5s).value());
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(std::holds_alternative<records::AggTrade>(*m));
}

TEST(ReplayServer, UnknownStreamIsRefused) {
  auto s = serve();
  EXPECT_FALSE(net::WsClient::connect(s->ws_url() + "/nosuch@trade").ok());
}

TEST(ReplayServer, DropThenReconnectSkipsK) {
  ServerOptions o;
  o.ws.drop_after = 100;
  o.ws.skip_on_reconnect = 7;
  auto s = serve(o);
  records::BinanceParser p;
  std::vector<int64_t> ids;
  for (int conn = 0; conn < 3; ++conn) {
    auto ws = connect(s->ws_url() + "/btcusdt@trade");
    ASSERT_TRUE(ws);
    for (;;) {
      auto m = ws->read(5s);
      if (!m) {
        EXPECT_EQ(m.error().message.rfind("closed", 0), 0u) << m.error().message;
        break;
      }
      ids.push_back(p.ws_trade(*m).value().trade_id);
    }
  }
  ASSERT_EQ(ids.size(), 300u);
  EXPECT_EQ(ids[100], ids[99] + 1 + 7) << "a gap of K at the reconnect";
  EXPECT_EQ(ids[200], ids[199] + 1 + 7);
  EXPECT_EQ(s->ws_stats().drops, 3);
}

TEST(ReplayServer, GarbageAndServerShutdown) {
  ServerOptions o;
  o.ws.garbage_every = 10;
  o.ws.shutdown_after = 25;
  auto s = serve(o);
  auto ws = connect(s->ws_url() + "/ethusdt@trade");
  ASSERT_TRUE(ws);
  records::BinanceParser p;
  int trades = 0, garbage = 0, shutdown = 0;
  for (;;) {
    auto m = ws->read(5s);
    if (!m) break;
    auto msg = p.ws_message(*m);
    if (!msg) {
      ++garbage;
    } else if (std::holds_alternative<records::ServerShutdown>(*msg)) {
      ++shutdown;
    } else {
      ++trades;
    }
  }
  EXPECT_EQ(trades, 25);
  EXPECT_EQ(garbage, 2);
  EXPECT_EQ(shutdown, 1);
}

TEST(ReplayServer, PingsAndSilence) {
  ServerOptions o;
  o.ping_interval_ms = 50;
  o.ws.silence_after = 5;
  auto s = serve(o);
  auto ws = connect(s->ws_url() + "/btcusdt@kline_1m");
  ASSERT_TRUE(ws);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(ws->read(5s).ok());
  auto quiet = ws->read(400ms);
  ASSERT_FALSE(quiet.ok());
  EXPECT_EQ(quiet.error().message.rfind("timeout", 0), 0u);
  const auto pings = ws->pings_received();
  (void)ws->read(300ms);
  EXPECT_EQ(ws->pings_received(), pings) << "a silent server sends no pings either";

  ServerOptions chatty;
  chatty.ping_interval_ms = 20;
  auto s2 = serve(chatty);
  auto idle = connect(s2->ws_url() + "/ethusdt@aggTrade");
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (idle->pings_received() == 0 && std::chrono::steady_clock::now() < until) {
    (void)idle->read(20ms);
  }
  EXPECT_GT(idle->pings_received(), 0);
}

// ---------------------------------------------------------------- TLS
namespace tls_tests {

std::filesystem::path cert_dir() {
  return std::filesystem::temp_directory_path() / ("sf-replay-tls-" + std::to_string(::getpid()));
}

std::unique_ptr<ReplayServer> serve_tls(const net_testing::TestCertificates& c) {
  ServerOptions o;
  o.tls_cert_file = c.cert_file;
  o.tls_key_file = c.key_file;
  return serve(o);
}

TEST(ReplayServerTls, TrustedHttpsAndWssCarryTheSameData) {
  const auto certs = net_testing::make_test_certificates(cert_dir());
  auto s = serve_tls(certs);
  ASSERT_EQ(s->rest_url().rfind("https://", 0), 0u);
  net::HttpOptions ho;
  ho.ca_file = certs.ca_file;
  auto http = net::HttpClient::create(s->rest_url(), ho);
  ASSERT_TRUE(http.ok()) << http.error().message;
  auto r = (*http)->get("/api/v3/klines?symbol=ADABTC&interval=1m&limit=2");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  records::BinanceParser p;
  auto k = p.rest_klines(r->body, "ADABTC", "1m", INT64_MAX);
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_EQ(k->size(), 2u);

  net::WsOptions wo;
  wo.ca_file = certs.ca_file;
  auto ws = net::WsClient::connect(s->ws_url() + "/btcusdt@trade", wo);
  ASSERT_TRUE(ws.ok()) << ws.error().message;
  int64_t expected = data()->find("BTCUSDT")->trades.front().trade_id;
  for (int i = 0; i < 100; ++i) {
    auto m = (*ws)->read(5s);
    ASSERT_TRUE(m.ok()) << m.error().message;
    auto t = p.ws_trade(*m);
    ASSERT_TRUE(t.ok()) << t.error().message;
    ASSERT_EQ(t->trade_id, expected++);
  }
}

TEST(ReplayServerTls, BatchedFramesOverWssAreTheSameStream) {
  const auto certs = net_testing::make_test_certificates(cert_dir());
  ServerOptions o;
  o.tls_cert_file = certs.cert_file;
  o.tls_key_file = certs.key_file;
  auto one = serve(o);
  o.batch_frames = true;
  auto many = serve(o);
  net::WsOptions wo;
  wo.ca_file = certs.ca_file;
  auto a = net::WsClient::connect(one->ws_url() + "/btcusdt@trade", wo);
  auto b = net::WsClient::connect(many->ws_url() + "/btcusdt@trade", wo);
  ASSERT_TRUE(a.ok() && b.ok());
  const auto x = read_n(**a, 3000), y = read_n(**b, 3000);
  ASSERT_EQ(x.size(), 3000u);
  EXPECT_TRUE(x == y);
}

TEST(ReplayServerTls, AnUntrustedCertificateIsRefusedAtOnceNamingWhy) {
  const auto certs = net_testing::make_test_certificates(cert_dir(), "untrusted-");
  auto s = serve_tls(certs);
  // No CA given: OpenSSL's default store, which does not hold the test CA.
  auto http = net::HttpClient::create(s->rest_url());
  ASSERT_TRUE(http.ok());
  auto r = (*http)->get("/api/v3/time");
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.error().retryable) << r.error().message;
  EXPECT_NE(r.error().message.find("is not trusted"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("local issuer"), std::string::npos) << r.error().message;
  auto ws = net::WsClient::connect(s->ws_url() + "/btcusdt@trade");
  ASSERT_FALSE(ws.ok());
  EXPECT_FALSE(ws.error().retryable) << ws.error().message;
  EXPECT_NE(ws.error().message.find("is not trusted"), std::string::npos) << ws.error().message;
}

TEST(ReplayServerTls, ACertificateForAnotherHostIsRefused) {
  const auto certs =
      net_testing::make_test_certificates(cert_dir(), "other-", "DNS:exchange.example");
  auto s = serve_tls(certs);
  net::HttpOptions ho;
  ho.ca_file = certs.ca_file;  // trusted CA, wrong name
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    auto http = net::HttpClient::create("https://" + host + ":" + std::to_string(s->port()), ho);
    ASSERT_TRUE(http.ok());
    auto r = (*http)->get("/api/v3/time");
    ASSERT_FALSE(r.ok()) << host;
    EXPECT_FALSE(r.error().retryable) << r.error().message;
    EXPECT_NE(r.error().message.find("mismatch"), std::string::npos) << r.error().message;
  }
}

TEST(ReplayServerTls, SslCertFileIsHonoured) {
  const auto certs = net_testing::make_test_certificates(cert_dir(), "env-");
  auto s = serve_tls(certs);
  ::setenv("SSL_CERT_FILE", certs.ca_file.c_str(), 1);
  auto http = net::HttpClient::create(s->rest_url());
  ASSERT_TRUE(http.ok());
  auto r = (*http)->get("/api/v3/time");
  ::unsetenv("SSL_CERT_FILE");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
}

}  // namespace tls_tests

}  // namespace
}  // namespace sf::replay
