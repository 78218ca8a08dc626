#include "sf/config/env.h"

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

void exit_with_config_error(const ConfigError& e) {
  std::fprintf(stderr, "%s\n", e.message.c_str());
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
