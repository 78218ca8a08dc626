// Checks a server makes of a request's head before it serves a browser-reachable API:
//   Host    a loopback name, an IP literal (those cannot be rebound), the bound host, or one of
//           `allowed_hosts` ("*": any): otherwise 421 (DNS rebinding)
//   Origin  absent, the server's own (scheme://<Host>), or one of `allowed_origins`: otherwise
//           403 (cross-site requests, WebSocket hijacking)
//   POST    Content-Type application/json: otherwise 415 (the "simple requests" any web page can
//           send without a preflight: text/plain, forms)
// The caller wraps the refusal in its own envelope.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sf/net/http_server.h"

namespace sf::net {

struct BrowserGuard {
  std::string bound_host;
  std::vector<std::string> allowed_hosts, allowed_origins;
};

struct Refusal {
  int status = 0;
  std::string message;
};

std::optional<Refusal> check_browser_request(const ServerRequest& r, const BrowserGuard& g);
// "a,b , c" -> {"a","b","c"} (for ALLOWED_HOSTS / ALLOWED_ORIGINS).
std::vector<std::string> comma_list(const std::string& text);

}  // namespace sf::net
