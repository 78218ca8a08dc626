// Decimal: a Binance decimal string ("16541.23000000") kept as text, digit for digit. It is never
// converted to double; it is validated and normalised (trailing zeros after the point trimmed,
// redundant leading zeros dropped) so it can be written as a JSON number exactly.
//
// Fixed-point helpers (to_scaled/from_scaled, 8 decimals) serve aggregation (summing volumes,
// building klines from trades) without losing a digit; values with more than 8 decimals are
// rejected there.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "sf/core/result.h"

namespace sf::records {

class Decimal {
 public:
  static constexpr size_t kMaxLength = 40;

  Decimal() : len_(1) { buf_[0] = '0'; }
  // Accepts `-?[0-9]+(\.[0-9]+)?` of at most kMaxLength characters.
  static Result<Decimal> parse(std::string_view text);
  // As parse(), written straight into `out` (no copy of the result: the hot path of the
  // parsers); false when `text` is not a decimal, `out` unchanged then (parse() names why).
  static bool parse_into(std::string_view text, Decimal& out);
  // Value * 10^8 as a 128-bit integer; an error if the text has more than 8 decimals.
  Result<__int128> to_scaled8() const;
  static Decimal from_scaled8(__int128 scaled);

  std::string_view view() const { return {buf_.data(), len_}; }
  std::string str() const { return std::string(view()); }
  friend bool operator==(const Decimal& a, const Decimal& b) { return a.view() == b.view(); }

 private:
  void set(std::string_view normalised);
  enum class Scan { ok, length, no_fraction_digits, not_decimal };
  static Scan scan(std::string_view text, Decimal& out);
  std::array<char, kMaxLength> buf_{};
  uint8_t len_ = 0;
};

// Compares two normalised decimals numerically (-1, 0, 1) without converting them.
int compare(const Decimal& a, const Decimal& b);

}  // namespace sf::records
