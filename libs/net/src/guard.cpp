#include "sf/net/guard.h"

#include <arpa/inet.h>

#include <cctype>

namespace sf::net {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "host:port", "[::1]:8000", "host" -> the host name, lower case, without brackets.
std::string host_name(const std::string& authority) {
  std::string a = lower(authority);
  if (!a.empty() && a.front() == '[') {
    const size_t close = a.find(']');
    return close == std::string::npos ? a : a.substr(1, close - 1);
  }
  const size_t colon = a.find(':');
  return colon == std::string::npos ? a : a.substr(0, colon);
}

bool ip_literal(const std::string& h) {
  unsigned char buf[16];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

bool host_allowed(const ServerRequest& r, const BrowserGuard& g) {
  const std::string authority = r.header("host");
  if (authority.empty()) return true;  // HTTP/1.0: no name to check, and no browser sends it
  const std::string h = host_name(authority);
  if (h == "localhost" || ip_literal(h) || h == lower(g.bound_host)) return true;
  for (const auto& a : g.allowed_hosts) {
    if (a == "*" || lower(a) == h) return true;
  }
  return false;
}

bool origin_allowed(const ServerRequest& r, const BrowserGuard& g) {
  const std::string origin = lower(r.header("origin"));
  if (origin.empty()) return true;  // not a browser's cross-origin request
  for (const auto& a : g.allowed_origins) {
    if (a == "*" || lower(a) == origin) return true;
  }
  const size_t scheme = origin.find("://");
  return scheme != std::string::npos && origin.substr(scheme + 3) == lower(r.header("host"));
}

}  // namespace

std::optional<Refusal> check_browser_request(const ServerRequest& r, const BrowserGuard& g) {
  if (!host_allowed(r, g)) {
    return Refusal{421, "Host '" + r.header("host") +
                            "' is not served here; an operator adds it to ALLOWED_HOSTS"};
  }
  if (!origin_allowed(r, g)) {
    return Refusal{403, "requests from the web origin '" + r.header("origin") +
                            "' are refused; an operator adds it to ALLOWED_ORIGINS"};
  }
  if (r.method == "POST" && lower(r.header("content-type")).rfind("application/json", 0) != 0) {
    return Refusal{415, "send the request as JSON: Content-Type: application/json"};
  }
  return std::nullopt;
}

std::vector<std::string> comma_list(const std::string& text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= text.size()) {
    const size_t j = std::min(text.find(',', i), text.size());
    std::string item = text.substr(i, j - i);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
    i = j + 1;
  }
  return out;
}

}  // namespace sf::net
