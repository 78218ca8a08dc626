#include "sf/log/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <unistd.h>

#include <mutex>
#include <vector>

namespace sf::log {
namespace {

std::mutex g_secrets_mutex;
std::vector<std::string> g_secrets;

std::string scrub(std::string_view text) {
  std::string s(text);
  std::lock_guard lock(g_secrets_mutex);
  for (const auto& secret : g_secrets) {
    for (size_t pos = s.find(secret); pos != std::string::npos; pos = s.find(secret, pos + 3)) {
      s.replace(pos, secret.size(), "***");
    }
  }
  return s;
}

void append_json_escaped(std::string_view in, spdlog::memory_buf_t& dest) {
  for (char c : in) {
    switch (c) {
      case '"':
        dest.append(std::string_view("\\\""));
        break;
      case '\\':
        dest.append(std::string_view("\\\\"));
        break;
      case '\n':
        dest.append(std::string_view("\\n"));
        break;
      case '\r':
        dest.append(std::string_view("\\r"));
        break;
      case '\t':
        dest.append(std::string_view("\\t"));
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          dest.append(std::string_view(buf));
        } else {
          dest.push_back(c);
        }
    }
  }
}

// %* : the message, secrets scrubbed, JSON-escaped.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    append_json_escaped(scrub(std::string_view(msg.payload.data(), msg.payload.size())), dest);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

// %# : the message, secrets scrubbed.
class ScrubbedMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string s = scrub(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(s.data(), s.data() + s.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<ScrubbedMessageFlag>();
  }
};

std::unique_ptr<spdlog::formatter> make_formatter(const Options& o) {
  auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  f->add_flag<JsonMessageFlag>('*').add_flag<ScrubbedMessageFlag>('#');
  if (o.format == Format::json) {
    f->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","logger":"%n","msg":"%*"})");
  } else {
    f->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %n: %#");
  }
  return f;
}

void install(const Options& o, spdlog::sink_ptr sink) {
  sink->set_formatter(make_formatter(o));
  auto logger = std::make_shared<spdlog::logger>(o.program, std::move(sink));
  logger->set_level(o.debug ? spdlog::level::debug : spdlog::level::info);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace

Options options_from_env(std::string program, const config::EnvLookup& env) {
  Options o;
  o.program = std::move(program);
  const std::string fmt = env("LOG_FORMAT").value_or("auto");
  if (fmt == "json") {
    o.format = Format::json;
  } else if (fmt == "text" || fmt == "human") {
    o.format = Format::human;
  } else {
    o.format = isatty(STDERR_FILENO) ? Format::human : Format::json;
  }
  const std::string debug = env("DEBUG").value_or("");
  o.debug = debug == "1" || debug == "true" || debug == "TRUE" || debug == "True" || debug == "yes";
  return o;
}

void init(const Options& options) {
  install(options, std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
}

void init_for_test(const Options& options, std::ostream& out) {
  install(options, std::make_shared<spdlog::sinks::ostream_sink_mt>(out, true));
}

void add_secret(std::string value) {
  if (value.empty()) return;
  std::lock_guard lock(g_secrets_mutex);
  g_secrets.push_back(std::move(value));
}

}  // namespace sf::log
