// Naming rules (SPEC §5): queue ids' suffixes, base assets, collections, job names.
#include <functional>
#include <random>

#include "plan_parts.h"
#include "sf/manager/plan.h"

namespace sf::manager {

namespace {

std::string ymd(int64_t ms, const char* sep, bool day) {
  const std::string iso = records::format_utc(ms);  // 2024-08-09T...
  std::string out = iso.substr(0, 4) + sep + iso.substr(5, 2);
  if (day) out += sep + iso.substr(8, 2);
  return out;
}

}  // namespace

std::string random_hex6() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[8];
  std::snprintf(buf, sizeof buf, "%06x", static_cast<unsigned>(rng() & 0xffffff));
  return buf;
}

std::string base_asset(const std::string& symbol) {
  static const char* quotes[] = {"FDUSD", "USDT", "USDC", "BUSD", "TUSD", "EUR",
                                 "TRY",   "BRL",  "GBP",  "BTC",  "ETH",  "BNB"};
  std::string s = symbol;
  for (const char* q : quotes) {
    const std::string quote(q);
    if (s.size() > quote.size() && s.compare(s.size() - quote.size(), quote.size(), quote) == 0) {
      s = s.substr(0, s.size() - quote.size());
      break;
    }
  }
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

namespace planning {

std::string lower_dns(std::string s) {
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) c = '-';
  }
  while (!s.empty() && s.back() == '-') s.pop_back();
  while (!s.empty() && s.front() == '-') s.erase(s.begin());
  return s;
}

}  // namespace planning

bool dns1123_label(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '-'))
      return false;
  }
  return s.front() != '-' && s.back() != '-';
}

std::string collection_name(const std::string& symbol, const std::string& type,
                            const std::optional<records::TimeRange>& range, int64_t now_ms) {
  std::string kind = type;  // api_candles_5m -> candles_5m; ws_trades -> ws_trades
  if (kind.rfind("api_", 0) == 0) kind = kind.substr(4);
  std::string when;
  if (!range) {
    when = ymd(now_ms, "_", true);
  } else {
    const std::string a = ymd(range->start_ms, "_", true), b = ymd(range->end_ms, "_", true);
    if (a == b) {
      when = a;
    } else if (a.substr(0, 7) == b.substr(0, 7)) {
      when = a.substr(0, 7);
    } else {
      when = a.substr(0, 7) + "_" + b.substr(0, 7);
    }
  }
  std::string name = base_asset(symbol) + "_" + kind + "_" + when;
  for (char& c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) c = '_';
  }
  // "1M" (a month) stays distinct from "1m" (a minute).
  if (name.size() > 64) name.resize(64);
  return name;
}

std::string job_name(const std::string& queue_id, const std::string& target,
                     const std::string& type) {
  // wf-historical-20240601-a1b2c3 + loader-producer + api_candles_5m ->
  // sf-a1b2c3-loader-producer-api-candles-5m (the queue's 6 hex keep it unique).
  const std::string hex = queue_id.size() >= 6 ? queue_id.substr(queue_id.size() - 6) : queue_id;
  std::string t = type;
  // Kubernetes names are lower case: a month interval "1M" becomes "1mo".
  if (t.size() >= 2 && t.compare(t.size() - 2, 2, "1M") == 0) t = t.substr(0, t.size() - 1) + "mo";
  std::string name = planning::lower_dns("sf-" + hex + "-" + target + "-" + t);
  if (name.size() > 63) {
    const std::string h = std::to_string(std::hash<std::string>{}(name) % 100000);
    name = name.substr(0, 63 - h.size() - 1);
    while (!name.empty() && name.back() == '-') name.pop_back();
    name += "-" + h;
  }
  return name;
}

}  // namespace sf::manager
