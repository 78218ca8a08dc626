// HttpClient through an HTTP CONNECT proxy (a minimal one written here, on loopback), and the
// NO_PROXY rules.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "sf/net/transport.h"
#include "sf/replay/server.h"

namespace sf::net {
namespace {

// Accepts connections, answers CONNECT host:port with 200 and relays bytes both ways.
class ConnectProxy {
 public:
  ConnectProxy() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd_, 8);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~ConnectProxy() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
    for (auto& t : relays_) t.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int connects() const { return connects_; }

 private:
  void serve() {
    while (!stop_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      relays_.emplace_back([this, c] { relay(c); });
    }
  }
  void relay(int c) {
    std::string head;
    char ch;
    while (head.find("\r\n\r\n") == std::string::npos && read(c, &ch, 1) == 1) head += ch;
    if (head.rfind("CONNECT ", 0) != 0) {
      close(c);
      return;
    }
    const std::string authority = head.substr(8, head.find(' ', 8) - 8);
    const int port = std::stoi(authority.substr(authority.rfind(':') + 1));
    int up = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(up, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      const char* bad = "HTTP/1.1 502 Bad Gateway\r\n\r\n";
      (void)!write(c, bad, std::strlen(bad));
      close(c);
      return;
    }
    ++connects_;
    const char* ok = "HTTP/1.1 200 Connection established\r\n\r\n";
    (void)!write(c, ok, std::strlen(ok));
    pollfd fds[2] = {{c, POLLIN, 0}, {up, POLLIN, 0}};
    char buf[16384];
    while (!stop_ && poll(fds, 2, 100) >= 0) {
      for (int i = 0; i < 2; ++i) {
        if (fds[i].revents & (POLLIN | POLLHUP)) {
          const ssize_t n = read(fds[i].fd, buf, sizeof buf);
          if (n <= 0) {
            close(c);
            close(up);
            return;
          }
          (void)!write(fds[1 - i].fd, buf, static_cast<size_t>(n));
        }
      }
    }
    close(c);
    close(up);
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connects_{0};
  std::thread thread_;
  std::vector<std::thread> relays_;
};

TEST(Proxy, RequestsGoThroughTheConnectTunnel) {
  auto server = replay::ReplayServer::start(replay::Dataset::generate(), {}).value();
  ConnectProxy proxy;
  HttpOptions o;
  o.proxy = proxy.url();
  auto http = HttpClient::create(server->rest_url(), o).value();
  auto r = http->get("/api/v3/ping");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->body, "{}");
  EXPECT_TRUE(http->get("/api/v3/time").ok());
  EXPECT_EQ(proxy.connects(), 1) << "one tunnel, kept alive";
  EXPECT_EQ(server->rest_stats().requests, 2);

  HttpOptions broken;
  broken.proxy = "http://127.0.0.1:1";
  auto no = HttpClient::create(server->rest_url(), broken).value()->get("/api/v3/ping");
  ASSERT_FALSE(no.ok());
  EXPECT_NE(no.error().message.find("127.0.0.1:1"), std::string::npos) << no.error().message;
  EXPECT_FALSE(HttpClient::create(server->rest_url(), HttpOptions{.proxy = "socks5://x:1"}).ok());
}

TEST(Proxy, NoProxyRules) {
  EXPECT_TRUE(proxy_bypassed("api.binance.com", "localhost, .binance.com"));
  EXPECT_TRUE(proxy_bypassed("api.binance.com", "binance.com"));
  EXPECT_TRUE(proxy_bypassed("localhost", "localhost"));
  EXPECT_TRUE(proxy_bypassed("anything", "*"));
  EXPECT_FALSE(proxy_bypassed("notbinance.com", "binance.com"));
  EXPECT_FALSE(proxy_bypassed("api.binance.com", ""));
}

}  // namespace
}  // namespace sf::net
