#include "sf/replay/vision_tree.h"

#include <ctime>

#include "sf/records/interval.h"
#include "sf/vision/vision.h"

namespace sf::replay {

namespace {

constexpr int64_t kDay = 86'400'000;
constexpr int64_t k2025 = 1735689600000;  // the archive's spot files switch to microseconds

RestResponse not_found(const std::string& path) {
  RestResponse r;
  r.status = 404;
  r.body =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The "
      "specified key does not exist.</Message><Key>" +
      path.substr(1) + "</Key></Error>";
  r.headers = {{"Content-Type", "application/xml"}};
  return r;
}

// [start, end] of the UTC day or month holding `ms`.
std::pair<int64_t, int64_t> period_of(int64_t ms, vision::Period p) {
  if (p == vision::Period::daily) {
    const int64_t start = ms / kDay * kDay;
    return {start, start + kDay - 1};
  }
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  tm.tm_mday = 1;
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  const int64_t start = static_cast<int64_t>(timegm(&tm)) * 1000;
  tm.tm_mon += 1;
  const int64_t next = static_cast<int64_t>(timegm(&tm)) * 1000;
  return {start, next - 1};
}

// "BTCUSDT-trades-2024-06-01.zip" -> symbol, what, period, a time in it.
struct Parsed {
  std::string symbol, what;
  vision::Period period;
  int64_t at_ms;
};
std::optional<Parsed> parse_name(const std::string& name) {
  if (name.size() < 12 || name.compare(name.size() - 4, 4, ".zip") != 0) return std::nullopt;
  const std::string stem = name.substr(0, name.size() - 4);
  const size_t d1 = stem.find('-');
  const size_t d2 = d1 == std::string::npos ? d1 : stem.find('-', d1 + 1);
  if (d2 == std::string::npos) return std::nullopt;
  Parsed p{stem.substr(0, d1), stem.substr(d1 + 1, d2 - d1 - 1), vision::Period::daily, 0};
  const std::string date = stem.substr(d2 + 1);
  std::tm tm{};
  int y = 0, m = 0, d = 1;
  if (date.size() == 10 && std::sscanf(date.c_str(), "%4d-%2d-%2d", &y, &m, &d) == 3) {
    p.period = vision::Period::daily;
  } else if (date.size() == 7 && std::sscanf(date.c_str(), "%4d-%2d", &y, &m) == 2) {
    p.period = vision::Period::monthly;
  } else {
    return std::nullopt;
  }
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  p.at_ms = static_cast<int64_t>(timegm(&tm)) * 1000;
  return p;
}

}  // namespace

std::string vision_kline_row(const records::Candle& c, bool micros) {
  const int64_t f = micros ? 1000 : 1;
  return std::to_string(c.open_time * f) + ',' + binance_decimal(c.open) + ',' +
         binance_decimal(c.high) + ',' + binance_decimal(c.low) + ',' + binance_decimal(c.close) +
         ',' + binance_decimal(c.volume) + ',' +
         std::to_string(micros ? c.close_time * 1000 + 999 : c.close_time) + ',' +
         binance_decimal(c.quote_asset_volume) + ',' + std::to_string(c.number_of_trades) + ',' +
         binance_decimal(c.taker_buy_base_asset_volume) + ',' +
         binance_decimal(c.taker_buy_quote_asset_volume) + ",0\n";
}

std::string vision_trade_row(const records::Trade& t, bool micros) {
  // quote_qty = price x qty, to 8 decimals (the loader does not read it).
  std::string quote = "0";
  auto p = t.price.to_scaled8();
  auto q = t.quantity.to_scaled8();
  if (p && q) quote = binance_decimal(records::Decimal::from_scaled8(*p * *q / 100'000'000));
  return std::to_string(t.trade_id) + ',' + binance_decimal(t.price) + ',' +
         binance_decimal(t.quantity) + ',' + quote + ',' +
         std::to_string(micros ? t.timestamp * 1000 : t.timestamp) + ',' +
         (t.is_buyer_maker ? "True" : "False") + ",True\n";
}

VisionTree::VisionTree(std::shared_ptr<const Dataset> data, VisionFaults faults)
    : data_(std::move(data)), faults_(std::move(faults)) {}

int64_t VisionTree::fetches() const {
  std::lock_guard lock(mu_);
  return fetches_;
}

std::optional<std::string> VisionTree::build(const std::string& file) {
  auto p = parse_name(file);
  if (!p) return std::nullopt;
  const SymbolData* d = data_->find(p->symbol);
  if (!d) return std::nullopt;
  const auto [from, to] = period_of(p->at_ms, p->period);
  if (to > faults_.published_until_ms) return std::nullopt;
  const bool micros = from >= k2025;
  std::string csv;
  if (p->what == "trades") {
    for (const auto& t : d->trades) {
      if (t.timestamp >= from && t.timestamp <= to) csv += vision_trade_row(t, micros);
    }
  } else {
    auto iv = records::Interval::parse(p->what);
    if (!iv) return std::nullopt;
    for (const auto& k : d->klines(*iv)) {
      if (k.candle.open_time >= from && k.candle.open_time <= to) {
        csv += vision_kline_row(k.candle, micros);
      }
    }
  }
  if (csv.empty()) return std::nullopt;
  auto zip = vision::make_zip(file.substr(0, file.size() - 4) + ".csv", csv);
  if (!zip) return std::nullopt;
  return std::move(zip).value();
}

RestResponse VisionTree::serve(const std::string& path) {
  const size_t slash = path.rfind('/');
  std::string file = path.substr(slash + 1);
  const bool checksum = file.size() > 9 && file.compare(file.size() - 9, 9, ".CHECKSUM") == 0;
  if (checksum) file.resize(file.size() - 9);
  std::lock_guard lock(mu_);
  ++fetches_;
  if (faults_.missing.count(file)) return not_found(path);
  auto it = zips_.find(file);
  if (it == zips_.end()) it = zips_.emplace(file, build(file)).first;
  // The path must be the one the archive would use for this file.
  auto p = parse_name(file);
  if (!it->second || !p ||
      path.rfind(vision::file_path(p->symbol, p->what, p->period, p->at_ms), 0) != 0) {
    return not_found(path);
  }
  RestResponse r;
  if (checksum) {
    std::string hash = vision::sha256_hex(*it->second);
    if (auto bad = faults_.bad_checksum.find(file);
        bad != faults_.bad_checksum.end() && bad->second > 0) {
      --bad->second;
      hash = vision::sha256_hex(hash);  // a well-formed hash of something else
    }
    r.body = hash + "  " + file + "\n";
    r.headers = {{"Content-Type", "text/plain"}};
    return r;
  }
  r.body = *it->second;
  if (auto bad = faults_.corrupt.find(file); bad != faults_.corrupt.end() && bad->second > 0) {
    --bad->second;
    r.body[r.body.size() / 2] = static_cast<char>(r.body[r.body.size() / 2] ^ 0x5a);
  }
  r.headers = {{"Content-Type", "application/zip"}};
  return r;
}

}  // namespace sf::replay
