// Result<T>: the error model of hot paths (parsing, formatting, producing). Such code never throws;
// it returns either a value or an Error whose message tells the reader what was wrong and what to
// do.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace sf {

struct Error {
  std::string message;
  // True when trying the same thing again may succeed (network hiccup, 5xx, full queue).
  bool retryable = false;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design, like std::expected
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success carries nothing.
struct Ok {};
using Status = Result<Ok>;
inline Status ok_status() {
  return Ok{};
}

inline Error make_error(std::string message, bool retryable = false) {
  return Error{std::move(message), retryable};
}

}  // namespace sf
