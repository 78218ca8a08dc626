// For tests: a plain loopback TCP client that misbehaves on purpose (drips bytes, never reads,
// speaks raw HTTP), and eventually() for conditions reached asynchronously.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>

namespace sf::net::testing {

// A plain loopback socket, for clients that misbehave on purpose.
struct RawClient {
  int fd = -1;
  explicit RawClient(uint16_t port, int rcvbuf = 0) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return;  // errno says why (EMFILE)
    if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && !finish_connect()) {
      const int err = errno;
      ::close(fd);
      fd = -1;
      errno = err;
    }
  }
  bool finish_connect() const;
  ~RawClient() {
    if (fd >= 0) ::close(fd);
  }
  bool send(std::string_view s) const {
    ssize_t n;
    do n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n > 0;
  }
  // Everything until the server closes or `ms` pass.
  std::string read_all(int ms) const {
    std::string out;
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < end) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  // True once the server closed its end (EOF or reset) within `ms`.
  bool closed_within(int ms) const {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < end) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char buf[65536];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return true;
    }
    return false;
  }
};

// A signal (libFuzzer's SIGALRM has no SA_RESTART) interrupts a blocking connect() with EINTR
// while the handshake goes on: wait for it and take its result, as connect(2) says.
inline bool RawClient::finish_connect() const {
  if (errno != EINTR) return false;
  pollfd p{fd, POLLOUT, 0};
  int r;
  do r = ::poll(&p, 1, 5000);
  while (r < 0 && errno == EINTR);
  if (r <= 0) {
    errno = r == 0 ? ETIMEDOUT : errno;
    return false;
  }
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return false;
  errno = err;
  return err == 0;
}

template <class F>
inline bool eventually(F f, int ms = 5000) {
  for (int i = 0; i < ms / 10; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return f();
}

}  // namespace sf::net::testing
