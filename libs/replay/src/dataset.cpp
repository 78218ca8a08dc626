#include "sf/replay/dataset.h"

#include <algorithm>
#include <fstream>
#include <set>

#include "sf/records/parser.h"

namespace sf::replay {

namespace fs = std::filesystem;
using records::AggTrade;
using records::Candle;
using records::Decimal;
using records::Trade;

std::string binance_decimal(const Decimal& d) {
  std::string s = d.str();
  const size_t dot = s.find('.');
  size_t decimals = dot == std::string::npos ? 0 : s.size() - dot - 1;
  if (dot == std::string::npos) s.push_back('.');
  while (decimals++ < 8) s.push_back('0');
  return s;
}

namespace {

__int128 scaled(const Decimal& d) {
  return d.to_scaled8().value();
}

// p*q, both 8-decimal, truncated back to 8 decimals.
__int128 mul8(__int128 p, __int128 q) {
  return p * q / 100'000'000;
}

struct Acc {
  Kline k;
  __int128 vol = 0, quote = 0, taker_base = 0, taker_quote = 0;
  void finish() {
    k.candle.volume = Decimal::from_scaled8(vol);
    k.candle.quote_asset_volume = Decimal::from_scaled8(quote);
    k.candle.taker_buy_base_asset_volume = Decimal::from_scaled8(taker_base);
    k.candle.taker_buy_quote_asset_volume = Decimal::from_scaled8(taker_quote);
  }
};

}  // namespace

bool KlineBuilder::add(const Trade& t) {
  const int64_t period = interval_.open_time_of(t.timestamp);
  bool opened = false;
  if (!open_ || period != k_.candle.open_time) {
    close();
    k_ = Kline{};
    vol_ = quote_ = taker_base_ = taker_quote_ = 0;
    Candle& c = k_.candle;
    c.symbol = t.symbol;
    c.interval = std::string(interval_.name());
    c.open_time = period;
    c.close_time = interval_.close_time(period);
    c.open = c.high = c.low = t.price;
    k_.first_trade_id = t.trade_id;
    open_ = opened = true;
  }
  Candle& c = k_.candle;
  if (records::compare(t.price, c.high) > 0) c.high = t.price;
  if (records::compare(t.price, c.low) < 0) c.low = t.price;
  c.close = t.price;
  c.number_of_trades++;
  k_.last_trade_id = t.trade_id;
  const __int128 q = scaled(t.quantity), pq = mul8(scaled(t.price), q);
  vol_ += q;
  quote_ += pq;
  if (!t.is_buyer_maker) {  // the taker bought
    taker_base_ += q;
    taker_quote_ += pq;
  }
  return opened;
}

Kline KlineBuilder::current() const {
  Kline k = k_;
  k.candle.volume = Decimal::from_scaled8(vol_);
  k.candle.quote_asset_volume = Decimal::from_scaled8(quote_);
  k.candle.taker_buy_base_asset_volume = Decimal::from_scaled8(taker_base_);
  k.candle.taker_buy_quote_asset_volume = Decimal::from_scaled8(taker_quote_);
  return k;
}

void KlineBuilder::close() {
  if (!open_) return;
  closed_.push_back(current());
  open_ = false;
}

std::vector<Kline> klines_from_trades(const std::vector<Trade>& trades,
                                      const records::Interval& interval) {
  KlineBuilder b(interval);
  for (const Trade& t : trades) b.add(t);
  b.close();
  return std::move(b.closed());
}

std::vector<Kline> aggregate_klines(const std::vector<Candle>& minutes,
                                    const records::Interval& interval) {
  std::vector<Kline> out;
  Acc acc;
  bool open = false;
  for (const Candle& m : minutes) {
    const int64_t period = interval.open_time_of(m.open_time);
    if (!open || period != acc.k.candle.open_time) {
      if (open) {
        acc.finish();
        out.push_back(acc.k);
      }
      acc = Acc{};
      acc.k.candle = m;
      acc.k.candle.interval = std::string(interval.name());
      acc.k.candle.open_time = period;
      acc.k.candle.close_time = interval.close_time(period);
      acc.k.candle.number_of_trades = 0;
      open = true;
    }
    Candle& c = acc.k.candle;
    if (records::compare(m.high, c.high) > 0) c.high = m.high;
    if (records::compare(m.low, c.low) < 0) c.low = m.low;
    c.close = m.close;
    c.number_of_trades += m.number_of_trades;
    acc.vol += scaled(m.volume);
    acc.quote += scaled(m.quote_asset_volume);
    acc.taker_base += scaled(m.taker_buy_base_asset_volume);
    acc.taker_quote += scaled(m.taker_buy_quote_asset_volume);
  }
  if (open) {
    acc.finish();
    out.push_back(acc.k);
  }
  return out;
}

std::vector<AggTrade> agg_trades_from(const std::vector<Trade>& trades) {
  std::vector<AggTrade> out;
  int64_t next_id = trades.empty() ? 0 : trades.front().trade_id / 2;
  __int128 qty = 0;
  for (const Trade& t : trades) {
    if (!out.empty()) {
      AggTrade& last = out.back();
      if (last.timestamp == t.timestamp && last.price == t.price &&
          last.is_buyer_maker == t.is_buyer_maker && last.last_trade_id + 1 == t.trade_id) {
        last.last_trade_id = t.trade_id;
        qty += scaled(t.quantity);
        last.quantity = Decimal::from_scaled8(qty);
        continue;
      }
    }
    AggTrade a;
    a.agg_id = next_id++;
    a.first_trade_id = a.last_trade_id = t.trade_id;
    a.price = t.price;
    a.quantity = t.quantity;
    qty = scaled(t.quantity);
    a.timestamp = t.timestamp;
    a.is_buyer_maker = t.is_buyer_maker;
    a.symbol = t.symbol;
    out.push_back(std::move(a));
  }
  return out;
}

const std::vector<AggTrade>& SymbolData::agg_trades() const {
  std::lock_guard lock(mu_);
  if (!agg_) agg_ = std::make_unique<std::vector<AggTrade>>(agg_trades_from(trades));
  return *agg_;
}

const std::vector<Kline>& SymbolData::klines(const records::Interval& interval) const {
  std::lock_guard lock(mu_);
  auto it = klines_.find(interval.name());
  if (it != klines_.end()) return *it->second;
  auto built =
      std::make_unique<std::vector<Kline>>(!trades.empty() ? klines_from_trades(trades, interval)
                                                           : aggregate_klines(klines_1m, interval));
  if (auto native = native_klines.find(interval.name()); native != native_klines.end()) {
    // The exchange's own klines where the archive has them; derived ones elsewhere.
    std::vector<Kline> merged;
    merged.reserve(native->second.size() + built->size());
    for (const auto& c : native->second) merged.push_back(Kline{c, -1, -1});
    const int64_t first = native->second.front().open_time, last = native->second.back().open_time;
    std::set<int64_t> have;
    for (const auto& c : native->second) have.insert(c.open_time);
    for (auto& k : *built) {
      const bool inside = k.candle.open_time >= first && k.candle.open_time <= last;
      if (!have.count(k.candle.open_time) && !inside) merged.push_back(std::move(k));
    }
    std::sort(merged.begin(), merged.end(), [](const Kline& a, const Kline& b) {
      return a.candle.open_time < b.candle.open_time;
    });
    *built = std::move(merged);
  }
  auto& ref = *built;
  klines_.emplace(std::string(interval.name()), std::move(built));
  return ref;
}

Result<std::shared_ptr<Dataset>> Dataset::load(const fs::path& dir) {
  auto ds = std::make_shared<Dataset>();
  records::BinanceParser parser;
  auto symbol_of = [&](const std::string& s) -> SymbolData& {
    auto& slot = ds->symbols_[s];
    if (!slot) {
      slot = std::make_unique<SymbolData>();
      slot->symbol = s;
    }
    return *slot;
  };
  std::error_code ec;
  if (fs::is_directory(dir / "ws", ec)) {
    for (const auto& e : fs::directory_iterator(dir / "ws")) {
      const std::string name = e.path().filename().string();
      if (name.rfind("spot_trade_", 0) != 0 || e.path().extension() != ".jsonl") continue;
      std::ifstream in(e.path());
      std::string line;
      while (std::getline(in, line)) {
        if (line.empty()) continue;
        auto t = parser.ws_trade(line);
        if (!t) return make_error(name + ": " + t.error().message);
        symbol_of(t->symbol).trades.push_back(std::move(t).value());
      }
    }
  }
  if (fs::is_directory(dir / "vision", ec)) {
    for (const auto& e : fs::directory_iterator(dir / "vision")) {
      const std::string name = e.path().filename().string();
      // <SYMBOL>-<interval>-<date>.csv (trades files, <SYMBOL>-trades-..., are not klines).
      const size_t dash = name.find('-');
      const size_t dash2 = dash == std::string::npos ? dash : name.find('-', dash + 1);
      if (dash2 == std::string::npos || e.path().extension() != ".csv") continue;
      const std::string symbol = name.substr(0, dash);
      const std::string iv = name.substr(dash + 1, dash2 - dash - 1);
      if (!records::Interval::parse(iv)) continue;
      auto& sd = symbol_of(symbol);
      auto& into = iv == "1m" ? sd.klines_1m : sd.native_klines[iv];
      std::ifstream in(e.path());
      std::string line;
      while (std::getline(in, line)) {
        if (line.empty()) continue;
        auto c = records::parse_vision_kline_row(line, symbol, iv);
        if (!c) return make_error(name + ": " + c.error().message);
        into.push_back(std::move(c).value());
      }
    }
  }
  for (auto& [s, d] : ds->symbols_) {
    std::sort(d->trades.begin(), d->trades.end(),
              [](const Trade& a, const Trade& b) { return a.trade_id < b.trade_id; });
    d->trades.erase(
        std::unique(d->trades.begin(), d->trades.end(),
                    [](const Trade& a, const Trade& b) { return a.trade_id == b.trade_id; }),
        d->trades.end());
    std::sort(d->klines_1m.begin(), d->klines_1m.end(),
              [](const Candle& a, const Candle& b) { return a.open_time < b.open_time; });
    for (auto& [iv, ks] : d->native_klines) {
      std::sort(ks.begin(), ks.end(),
                [](const Candle& a, const Candle& b) { return a.open_time < b.open_time; });
      ks.erase(
          std::unique(ks.begin(), ks.end(),
                      [](const Candle& a, const Candle& b) { return a.open_time == b.open_time; }),
          ks.end());
    }
  }
  if (ds->symbols_.empty())
    return make_error("no trade streams or vision CSVs under " + dir.string());
  return ds;
}

std::shared_ptr<Dataset> Dataset::load_or_generate(const fs::path& dir, std::string* source) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) {
    if (auto ds = load(dir)) {
      if (source) *source = "captured data in " + dir.string();
      return *ds;
    }
  }
  if (source) *source = "generated dataset (no captures at " + dir.string() + ")";
  return generate();
}

const SymbolData* Dataset::find(std::string_view symbol) const {
  auto it = symbols_.find(symbol);
  return it == symbols_.end() ? nullptr : it->second.get();
}

std::vector<std::string> Dataset::symbols() const {
  std::vector<std::string> out;
  for (const auto& [s, d] : symbols_) out.push_back(s);
  return out;
}

}  // namespace sf::replay
