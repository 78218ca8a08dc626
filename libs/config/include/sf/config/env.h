// The environment seam: config reads variables through an EnvLookup, so tests pass a map instead of
// touching the process environment.
#pragma once

#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace sf::config {

using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

// Reads the real process environment. An empty value counts as unset.
EnvLookup process_env();
// Reads from a map (tests). An empty value counts as unset.
EnvLookup map_env(std::map<std::string, std::string> vars);

// A bad or missing variable: `variable` and what was `expected`. Printed as one line:
//   config error: SYMBOL='btc usdt' is invalid: expected 2-20 characters of A-Z and 0-9, e.g.
//   BTCUSDT
struct ConfigError {
  std::string variable;
  std::string message;  // the whole line, ready to print
};

// An optional whole-number variable within [lo, hi]; `fallback` when unset. The error is the
// ready-to-print config line: "config error: NAME='x' is invalid: expected a whole number of
// <unit> between lo and hi".
std::variant<int64_t, ConfigError> int_var(const EnvLookup& env, std::string_view name,
                                           int64_t fallback, int64_t lo, int64_t hi,
                                           std::string_view unit);

// A table of whole-number variables read with int_var: each found one is handed to `set`, the
// first bad one is returned (nothing after it is read).
struct IntSetting {
  const char* name;
  int64_t lo, hi;
  const char* unit;
  std::function<void(int64_t)> set;
  int64_t fallback;
};
std::optional<ConfigError> read_int_settings(const EnvLookup& env,
                                             std::initializer_list<IntSetting> settings);

// Prints the error as one line on stderr and ends the program with exit code 2 (SPEC §3).
// "k=v;k=v" (KAFKA_PROPERTIES, WORKER_ENV, WORKER_SECRETS): empty items are skipped, the last of
// a repeated key wins; nothing when an item has no '=' or an empty key.
std::optional<std::map<std::string, std::string>> parse_kv_list(std::string_view text);

// Prints e.message, redacted, to stderr and exits 2.
[[noreturn]] void exit_with_config_error(const ConfigError& e);

// A property name whose value is a secret (sasl.password, ssl.key.password, *secret*, *key.pem).
bool is_secret_property(std::string_view name);
// Text with its secrets masked: the password of URLs (scheme://user:pass@host ->
// scheme://user:***@host) and the values of secret-looking key=value pairs (as in
// KAFKA_PROPERTIES), for lines that quote a user's configuration back (errors, telemetry).
std::string redact(std::string_view text);

// A secret value (password, API secret, token): formats as "***", so it cannot reach a log by
// accident. `reveal()` is for the one place that hands it to a client library.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string v) : value_(std::move(v)) {}
  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  friend bool operator==(const Secret&, const Secret&) = default;

 private:
  std::string value_;
};

}  // namespace sf::config
