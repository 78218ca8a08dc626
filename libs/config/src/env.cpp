#include "sf/config/env.h"

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

}  // namespace sf::config
