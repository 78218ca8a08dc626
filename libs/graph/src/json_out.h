// A small JSON text builder for the graph's documents (append-only, no DOM).
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <string>
#include <string_view>

namespace sf::graph {

// Shortest text that reads back to the same double; non-finite values are JSON null.
inline std::string num(double v) {
  if (!std::isfinite(v)) return "null";
  if (v == 0) return "0";
  return fmt::format("{}", v);
}

class JsonOut {
 public:
  JsonOut& raw(std::string_view s) {
    out_ += s;
    return *this;
  }
  JsonOut& str(std::string_view s) {
    out_ += '"';
    for (char c : s) {
      if (c == '"' || c == '\\') {
        out_ += '\\';
        out_ += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        out_ += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
      } else {
        out_ += c;
      }
    }
    out_ += '"';
    return *this;
  }
  JsonOut& integer(int64_t v) {
    fmt::format_to(std::back_inserter(out_), "{}", v);
    return *this;
  }
  JsonOut& boolean(bool b) { return raw(b ? "true" : "false"); }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace sf::graph
