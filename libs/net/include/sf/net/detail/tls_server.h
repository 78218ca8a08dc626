// For the Beast translation units only (it includes Asio's SSL): a server-side TLS context
// (TLS 1.2 and later) with a PEM certificate chain and private key, or says why not.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <optional>
#include <string>

#include "sf/core/result.h"

namespace sf::net::detail {

inline Status load_server_tls(std::optional<boost::asio::ssl::context>& out,
                              const std::string& cert_file, const std::string& key_file) {
  namespace ssl = boost::asio::ssl;
  try {
    ssl::context ctx(ssl::context::tls_server);
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    ctx.use_certificate_chain_file(cert_file);
    ctx.use_private_key_file(key_file, ssl::context::pem);
    out.emplace(std::move(ctx));
  } catch (const std::exception& e) {
    return make_error("cannot load the TLS certificate '" + cert_file + "' and key '" + key_file +
                      "': " + e.what());
  }
  return ok_status();
}

}  // namespace sf::net::detail
