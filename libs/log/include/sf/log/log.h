// Logging for every program: spdlog underneath, on stderr. LOG_FORMAT=json gives JSON lines,
// LOG_FORMAT=text human lines; the default (auto) is human on a terminal and JSON otherwise.
// Secrets registered with add_secret() are replaced by *** in every line.
//
// Thread-safe. Use the SF_LOG_* macros or sf::log::get() (an spdlog logger) directly.
#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "sf/config/env.h"

namespace sf::log {

enum class Format { human, json };

struct Options {
  std::string program;  // the "logger" field, e.g. "loader-producer"
  Format format = Format::human;
  bool debug = false;
};

// Reads LOG_FORMAT (json | text | auto; default auto = text on a terminal, json otherwise) and
// DEBUG.
Options options_from_env(std::string program, const config::EnvLookup& env);

// Installs the default logger writing to stderr.
void init(const Options& options);
// Installs the default logger writing to `out` (tests).
void init_for_test(const Options& options, std::ostream& out);

// Every later log line has `value` replaced by "***". Empty values are ignored.
void add_secret(std::string value);

inline spdlog::logger& get() {
  return *spdlog::default_logger_raw();
}

}  // namespace sf::log

// Secrets format as *** wherever fmt meets them.
template <>
struct fmt::formatter<sf::config::Secret> : fmt::formatter<std::string_view> {
  template <class Ctx>
  auto format(const sf::config::Secret&, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format("***", ctx);
  }
};
