// The synthetic dataset for clones without shared/data, and writing any dataset back to disk in
// Binance's formats.
#include <cstdio>
#include <fstream>

#include "sf/records/time_range.h"
#include "sf/replay/dataset.h"
#include "sf/replay/vision_tree.h"

namespace sf::replay {

namespace fs = std::filesystem;
using records::Decimal;

namespace {

// A fixed 64-bit LCG (Knuth's MMIX constants): the same numbers on every machine.
struct Lcg {
  uint64_t s;
  uint64_t next() {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return s >> 33;
  }
  int64_t range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(next() % (hi - lo + 1));
  }
};

void add_trades(SymbolData& d, Lcg& rng, int64_t first_id, int64_t start_ms, int count,
                int64_t price_cents, int64_t max_qty_units) {
  int64_t t = start_ms, price = price_cents;
  for (int i = 0; i < count; ++i) {
    records::Trade tr;
    tr.trade_id = first_id + i;
    t += rng.range(0, 60);
    price += rng.range(-3, 3);
    tr.timestamp = t;
    tr.price = Decimal::from_scaled8(static_cast<__int128>(price) * 1'000'000);
    tr.quantity = Decimal::from_scaled8(static_cast<__int128>(rng.range(1, max_qty_units)) * 1000);
    tr.is_buyer_maker = rng.next() % 2 == 0;
    tr.symbol = d.symbol;
    d.trades.push_back(std::move(tr));
  }
}

void add_minutes(SymbolData& d, Lcg& rng, int64_t start, int count, int64_t price) {
  d.klines_1m.reserve(d.klines_1m.size() + static_cast<size_t>(count));
  for (int m = 0; m < count; ++m) {
    records::Candle c;
    c.symbol = d.symbol;
    c.interval = "1m";
    c.open_time = start + m * 60'000LL;
    c.close_time = c.open_time + 59'999;
    const int64_t open = price;
    price += rng.range(-3, 3);
    if (price < 2000) price = 2000;
    const int64_t high = std::max(open, price) + rng.range(0, 2);
    const int64_t low = std::min(open, price) - rng.range(0, 2);
    c.open = Decimal::from_scaled8(open);
    c.close = Decimal::from_scaled8(price);
    c.high = Decimal::from_scaled8(high);
    c.low = Decimal::from_scaled8(low);
    const int64_t vol = rng.range(1000, 100000) * 10'000'000LL;  // 0.1 steps, like the real file
    const int64_t taker = vol / 100 * rng.range(10, 90);
    c.volume = Decimal::from_scaled8(vol);
    c.quote_asset_volume = Decimal::from_scaled8(static_cast<__int128>(vol) * price / 100'000'000);
    c.taker_buy_base_asset_volume = Decimal::from_scaled8(taker);
    c.taker_buy_quote_asset_volume =
        Decimal::from_scaled8(static_cast<__int128>(taker) * price / 100'000'000);
    c.number_of_trades = rng.range(10, 200);
    d.klines_1m.push_back(std::move(c));
  }
}

}  // namespace

std::shared_ptr<Dataset> Dataset::generate_candles(const std::string& symbol, int64_t start_ms,
                                                   int count) {
  auto ds = std::make_shared<Dataset>();
  Lcg rng{static_cast<uint64_t>(start_ms) ^ count};
  auto& slot = ds->symbols_[symbol];
  slot = std::make_unique<SymbolData>();
  slot->symbol = symbol;
  add_minutes(*slot, rng, start_ms, count, 2853);
  return ds;
}

std::shared_ptr<Dataset> Dataset::generate_trades(const std::string& symbol, int64_t start_ms,
                                                  int count) {
  auto ds = std::make_shared<Dataset>();
  Lcg rng{static_cast<uint64_t>(start_ms) + static_cast<uint64_t>(count)};
  auto& slot = ds->symbols_[symbol];
  slot = std::make_unique<SymbolData>();
  slot->symbol = symbol;
  add_trades(*slot, rng, 1'000'000'000, start_ms, count, 6180000, 50000);
  return ds;
}

std::shared_ptr<Dataset> Dataset::generate() {
  auto ds = std::make_shared<Dataset>();
  Lcg rng{20240809};
  auto make = [&](const char* s) -> SymbolData& {
    auto& slot = ds->symbols_[s];
    slot = std::make_unique<SymbolData>();
    slot->symbol = s;
    return *slot;
  };
  // Same shapes as the real captures: ~20k BTCUSDT and ~14.5k ETHUSDT trades from 23:54:15 UTC.
  add_trades(make("BTCUSDT"), rng, 3735683259, 1723161255342, 19904, 6180000, 50000);
  add_trades(make("ETHUSDT"), rng, 1520538925, 1723161255342, 14515, 260000, 500000);

  add_minutes(make("ADABTC"), rng, records::parse_utc_date("2021-11-27").value(), 2880, 2853);
  return ds;
}

Status Dataset::write(const fs::path& dir) const {
  std::error_code ec;
  fs::create_directories(dir / "ws", ec);
  fs::create_directories(dir / "vision", ec);
  if (ec) return make_error("cannot create " + dir.string() + ": " + ec.message());
  for (const auto& [symbol, d] : symbols_) {
    if (!d->trades.empty()) {
      std::ofstream out(dir / "ws" / ("spot_trade_" + symbol + "_generated.jsonl"));
      std::string lower = symbol;
      for (char& ch : lower) ch = static_cast<char>(std::tolower(ch));
      for (const auto& t : d->trades) {
        out << "{\"stream\":\"" << lower
            << "@trade\",\"data\":{\"e\":\"trade\",\"E\":" << t.timestamp << ",\"s\":\"" << symbol
            << "\",\"t\":" << t.trade_id << ",\"p\":\"" << binance_decimal(t.price) << "\",\"q\":\""
            << binance_decimal(t.quantity) << "\",\"T\":" << t.timestamp
            << ",\"m\":" << (t.is_buyer_maker ? "true" : "false") << ",\"M\":true}}\n";
      }
      if (!out) return make_error("cannot write trades of " + symbol + " under " + dir.string());
    }
    // One CSV per UTC day, as data.binance.vision publishes them.
    std::ofstream out;
    std::string day_open;
    for (const auto& c : d->klines_1m) {
      const std::string day = records::format_utc(c.open_time).substr(0, 10);
      if (day != day_open) {
        out = std::ofstream(dir / "vision" / (symbol + "-1m-" + day + ".csv"));
        day_open = day;
      }
      out << vision_kline_row(c, false);
    }
  }
  return ok_status();
}

}  // namespace sf::replay
