#include "sf/config/env.h"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace sf::config {

EnvLookup process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
  };
}

EnvLookup map_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
}

std::optional<std::map<std::string, std::string>> parse_kv_list(std::string_view text) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t j = std::min(text.find(';', i), text.size());
    const std::string_view item = text.substr(i, j - i);
    if (!item.empty()) {
      const size_t eq = item.find('=');
      if (eq == std::string_view::npos || eq == 0) return std::nullopt;
      out[std::string(item.substr(0, eq))] = std::string(item.substr(eq + 1));
    }
    i = j + 1;
  }
  return out;
}

bool is_secret_property(std::string_view name) {
  return name.find("password") != std::string_view::npos ||
         name.find("secret") != std::string_view::npos ||
         name.find("key.pem") != std::string_view::npos ||
         name.find("PASSWORD") != std::string_view::npos ||
         name.find("SECRET") != std::string_view::npos;
}

std::string redact(std::string_view text) {
  std::string out(text);
  // scheme://user:password@ -> scheme://user:***@
  for (size_t at = out.find("://"); at != std::string::npos; at = out.find("://", at + 3)) {
    const size_t start = at + 3;
    const size_t end = out.find_first_of("/ \t\n'\";,", start);
    const size_t host_end = end == std::string::npos ? out.size() : end;
    const size_t amp = out.rfind('@', host_end);
    if (amp == std::string::npos || amp < start) continue;
    const size_t colon = out.find(':', start);
    if (colon == std::string::npos || colon > amp) continue;
    out.replace(colon + 1, amp - colon - 1, "***");
  }
  // key=value where the key names a secret: the value up to ';', whitespace or a quote.
  for (size_t eq = out.find('='); eq != std::string::npos; eq = out.find('=', eq + 1)) {
    size_t k = eq;
    while (k > 0 && (std::isalnum(static_cast<unsigned char>(out[k - 1])) || out[k - 1] == '.' ||
                     out[k - 1] == '_' || out[k - 1] == '-')) {
      --k;
    }
    if (k == eq || !is_secret_property(std::string_view(out).substr(k, eq - k))) continue;
    size_t v = eq + 1;
    while (v < out.size() && out[v] != ';' && out[v] != ' ' && out[v] != '\'' && out[v] != '"' &&
           out[v] != '\n') {
      ++v;
    }
    out.replace(eq + 1, v - eq - 1, "***");
  }
  return out;
}

void exit_with_config_error(const ConfigError& e) {
  std::fprintf(stderr, "%s\n", redact(e.message).c_str());
  std::fflush(stderr);
  std::_Exit(2);
}

std::variant<int64_t, ConfigError> int_var(const EnvLookup& env, std::string_view name,
                                           int64_t fallback, int64_t lo, int64_t hi,
                                           std::string_view unit) {
  auto v = env(name);
  if (!v) return fallback;
  char* end = nullptr;
  errno = 0;
  const long long n = std::strtoll(v->c_str(), &end, 10);
  if (end == v->c_str() || *end != '\0' || errno == ERANGE || n < lo || n > hi) {
    return ConfigError{std::string(name), "config error: " + std::string(name) + "='" + *v +
                                              "' is invalid: expected a whole number of " +
                                              std::string(unit) + " between " + std::to_string(lo) +
                                              " and " + std::to_string(hi)};
  }
  return static_cast<int64_t>(n);
}

std::optional<ConfigError> read_int_settings(const EnvLookup& env,
                                             std::initializer_list<IntSetting> settings) {
  for (const auto& k : settings) {
    auto v = int_var(env, k.name, k.fallback, k.lo, k.hi, k.unit);
    if (auto* e = std::get_if<ConfigError>(&v)) return *e;
    k.set(std::get<int64_t>(v));
  }
  return std::nullopt;
}

}  // namespace sf::config
