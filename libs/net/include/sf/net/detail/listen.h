// For the Beast translation units only (it includes Asio): opens a listening TCP acceptor on
// host:port (0: the kernel picks) with SO_REUSEADDR, or says why not.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>

#include "sf/core/result.h"

namespace sf::net::detail {

inline Status listen_on(boost::asio::ip::tcp::acceptor& acceptor, const std::string& host,
                        uint16_t port) {
  namespace asio = boost::asio;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return make_error("bad listen address '" + host + "': " + ec.message());
  asio::ip::tcp::endpoint ep(address, port);
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return make_error("cannot listen on " + host + ":" + std::to_string(port) + ": " +
                      ec.message() + ". Hint: pick another port, or 0 for any");
  }
  return ok_status();
}

}  // namespace sf::net::detail
