#include "sf/records/decimal.h"

#include <algorithm>
#include <cstring>

namespace sf::records {

void Decimal::set(std::string_view normalised) {
  len_ = static_cast<uint8_t>(normalised.size());
  std::memcpy(buf_.data(), normalised.data(), normalised.size());
}

Result<Decimal> Decimal::parse(std::string_view text) {
  if (text.empty() || text.size() > kMaxLength) {
    return make_error("decimal must be 1-40 characters, got '" + std::string(text) + "'");
  }
  size_t i = 0;
  const bool negative = text[0] == '-';
  if (negative) ++i;
  const size_t int_begin = i;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  size_t int_end = i;
  size_t frac_begin = i, frac_end = i;
  if (i < text.size() && text[i] == '.') {
    frac_begin = ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    frac_end = i;
    if (frac_end == frac_begin) {
      return make_error("decimal has no digits after '.': '" + std::string(text) + "'");
    }
  }
  if (int_end == int_begin || i != text.size()) {
    return make_error("not a decimal number: '" + std::string(text) + "'");
  }
  // Drop redundant leading zeros ("007.5" -> "7.5") and trailing fractional zeros.
  size_t lead = int_begin;
  while (lead + 1 < int_end && text[lead] == '0') ++lead;
  while (frac_end > frac_begin && text[frac_end - 1] == '0') --frac_end;

  char out[kMaxLength];
  size_t n = 0;
  const bool is_zero = int_end - lead == 1 && text[lead] == '0' && frac_end == frac_begin;
  if (negative && !is_zero) out[n++] = '-';
  for (size_t k = lead; k < int_end; ++k) out[n++] = text[k];
  if (frac_end > frac_begin) {
    out[n++] = '.';
    for (size_t k = frac_begin; k < frac_end; ++k) out[n++] = text[k];
  }
  Decimal d;
  d.set(std::string_view(out, n));
  return d;
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
