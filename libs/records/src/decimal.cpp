#include "sf/records/decimal.h"

#include <algorithm>
#include <cstring>

namespace sf::records {

void Decimal::set(std::string_view normalised) {
  len_ = static_cast<uint8_t>(normalised.size());
  std::memcpy(buf_.data(), normalised.data(), normalised.size());
}

Decimal::Scan Decimal::scan(std::string_view text, Decimal& out) {
  const size_t n = text.size();
  const char* p = text.data();
  if (n == 0 || n > kMaxLength) return Scan::length;
  size_t i = p[0] == '-' ? 1 : 0;
  const size_t int_begin = i;
  while (i < n && static_cast<unsigned>(p[i] - '0') < 10) ++i;
  const size_t int_end = i;
  size_t frac_end = i;
  if (i < n && p[i] == '.') {
    const size_t frac_begin = ++i;
    while (i < n && static_cast<unsigned>(p[i] - '0') < 10) ++i;
    if (i == frac_begin) return Scan::no_fraction_digits;
    frac_end = i;
    // Trailing fractional zeros go, and the point with them if nothing is left.
    while (frac_end > frac_begin && p[frac_end - 1] == '0') --frac_end;
    if (frac_end == frac_begin) frac_end = int_end;
  }
  if (int_end == int_begin || i != n) return Scan::not_decimal;
  size_t lead = int_begin;  // redundant leading zeros ("007.5" -> "7.5")
  while (lead + 1 < int_end && p[lead] == '0') ++lead;
  const bool zero = int_end - lead == 1 && p[lead] == '0' && frac_end == int_end;
  size_t len = 0;
  if (int_begin == 1 && !zero) out.buf_[len++] = '-';
  std::memcpy(out.buf_.data() + len, p + lead, frac_end - lead);
  out.len_ = static_cast<uint8_t>(len + frac_end - lead);
  return Scan::ok;
}

bool Decimal::parse_into(std::string_view text, Decimal& out) {
  return scan(text, out) == Scan::ok;
}

Result<Decimal> Decimal::parse(std::string_view text) {
  Decimal d;
  switch (scan(text, d)) {
    case Scan::ok:
      return d;
    case Scan::length:
      return make_error("decimal must be 1-40 characters, got '" + std::string(text) + "'");
    case Scan::no_fraction_digits:
      return make_error("decimal has no digits after '.': '" + std::string(text) + "'");
    case Scan::not_decimal:
      break;
  }
  return make_error("not a decimal number: '" + std::string(text) + "'");
}

Result<__int128> Decimal::to_scaled8() const {
  std::string_view v = view();
  bool negative = false;
  if (!v.empty() && v[0] == '-') {
    negative = true;
    v.remove_prefix(1);
  }
  __int128 result = 0;
  size_t dot = v.find('.');
  std::string_view ip = v.substr(0, dot);
  std::string_view fp = dot == std::string_view::npos ? std::string_view() : v.substr(dot + 1);
  if (fp.size() > 8) return make_error("decimal has more than 8 decimals: " + str());
  for (char c : ip) result = result * 10 + (c - '0');
  for (size_t k = 0; k < 8; ++k) result = result * 10 + (k < fp.size() ? fp[k] - '0' : 0);
  return negative ? -result : result;
}

Decimal Decimal::from_scaled8(__int128 scaled) {
  const bool negative = scaled < 0;
  if (negative) scaled = -scaled;
  char digits[64];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + static_cast<int>(scaled % 10));
    scaled /= 10;
  } while (scaled != 0 || n < 9);  // at least one integer digit plus 8 decimals
  std::string text;
  if (negative) text.push_back('-');
  for (int k = n - 1; k >= 8; --k) text.push_back(digits[k]);
  text.push_back('.');
  for (int k = 7; k >= 0; --k) text.push_back(digits[k]);
  return Decimal::parse(text).value();
}

int compare(const Decimal& a, const Decimal& b) {
  // Both are normalised: compare sign, then integer length, then digits.
  std::string_view x = a.view(), y = b.view();
  const bool nx = !x.empty() && x[0] == '-', ny = !y.empty() && y[0] == '-';
  if (nx != ny) return nx ? -1 : 1;
  if (nx) {
    x.remove_prefix(1);
    y.remove_prefix(1);
  }
  const size_t ix = std::min(x.find('.'), x.size()), iy = std::min(y.find('.'), y.size());
  int c = 0;
  if (ix != iy) {
    c = ix < iy ? -1 : 1;
  } else {
    const int r = x.compare(y);  // same integer width: lexicographic order is numeric order
    c = r < 0 ? -1 : (r > 0 ? 1 : 0);
  }
  return nx ? -c : c;
}

}  // namespace sf::records
