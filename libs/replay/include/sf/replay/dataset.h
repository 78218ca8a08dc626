// Dataset: the market data the replay exchange serves, per symbol: trades (from captured trade
// streams) and/or 1m klines (from data.binance.vision CSVs). Everything else (aggTrades, klines of
// any interval, kline streams) is derived from these, the way Binance derives them.
//
// Immutable after load; derived series are built on first use under a lock, so a Dataset is safe
// to share between threads.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sf/core/result.h"
#include "sf/records/interval.h"
#include "sf/records/records.h"

namespace sf::replay {

// A kline plus the trade ids it spans (WS klines carry them as f / L; -1 when unknown).
struct Kline {
  records::Candle candle;
  int64_t first_trade_id = -1, last_trade_id = -1;
};

class SymbolData {
 public:
  std::string symbol;
  std::vector<records::Trade> trades;      // by id, contiguous where the capture is
  std::vector<records::Candle> klines_1m;  // from vision CSVs, by open time
  // Vision CSVs of other intervals (e.g. the seed month's 5m file), by interval name, by open time.
  std::map<std::string, std::vector<records::Candle>, std::less<>> native_klines;

  const std::vector<records::AggTrade>& agg_trades() const;
  // Klines of `interval`: the vision file's of that interval where there is one, else from trades
  // when there are trades, else aggregated from klines_1m.
  const std::vector<Kline>& klines(const records::Interval& interval) const;

 private:
  mutable std::mutex mu_;
  mutable std::unique_ptr<std::vector<records::AggTrade>> agg_;
  mutable std::map<std::string, std::unique_ptr<std::vector<Kline>>, std::less<>> klines_;
};

class Dataset {
 public:
  // Reads <dir>/ws/spot_trade_<SYMBOL>_*.jsonl and <dir>/vision/<SYMBOL>-<interval>-*.csv.
  static Result<std::shared_ptr<Dataset>> load(const std::filesystem::path& dir);
  // A deterministic synthetic dataset in the same shape as the real captures (BTCUSDT and ETHUSDT
  // trades across midnight 2024-08-08/09, ADABTC 1m klines for 2021-11-27..28), for a clone
  // without shared/data.
  static std::shared_ptr<Dataset> generate();
  // `count` synthetic 1m candles of `symbol` from `start_ms` (benchmarks: a year is 525,600).
  static std::shared_ptr<Dataset> generate_candles(const std::string& symbol, int64_t start_ms,
                                                   int count);
  // `count` synthetic consecutive trades of `symbol` from `start_ms` (benchmarks).
  static std::shared_ptr<Dataset> generate_trades(const std::string& symbol, int64_t start_ms,
                                                  int count);
  // `dir` if it holds data, else the generated dataset; says which in `source`.
  static std::shared_ptr<Dataset> load_or_generate(const std::filesystem::path& dir,
                                                   std::string* source = nullptr);
  // Writes the dataset in Binance's formats (trade stream jsonl, vision CSV) so load() reads it
  // back.
  Status write(const std::filesystem::path& dir) const;

  const SymbolData* find(std::string_view symbol) const;
  std::vector<std::string> symbols() const;

 private:
  std::map<std::string, std::unique_ptr<SymbolData>, std::less<>> symbols_;
};

// Accumulates trades into the klines of one interval, the way Binance does; `current()` is the
// still-open kline (what a WS update with "x":false shows), `closed` collects finished ones.
class KlineBuilder {
 public:
  explicit KlineBuilder(records::Interval interval) : interval_(interval) {}
  // Adds a trade (in id order). Returns true if it opened a new period (the previous kline, if
  // any, was moved to closed()).
  bool add(const records::Trade& t);
  bool has_current() const { return open_; }
  Kline current() const;
  // Closes the open kline, if any.
  void close();
  std::vector<Kline>& closed() { return closed_; }

 private:
  records::Interval interval_;
  bool open_ = false;
  Kline k_;
  __int128 vol_ = 0, quote_ = 0, taker_base_ = 0, taker_quote_ = 0;
  std::vector<Kline> closed_;
};

// Builds klines of `interval` from trades (open/high/low/close, volumes, quote volumes exact).
std::vector<Kline> klines_from_trades(const std::vector<records::Trade>& trades,
                                      const records::Interval& interval);
// Aggregates 1m klines into klines of a larger `interval` (sums exact).
std::vector<Kline> aggregate_klines(const std::vector<records::Candle>& minutes,
                                    const records::Interval& interval);
// Groups consecutive trades with the same time, price and side into aggregate trades.
std::vector<records::AggTrade> agg_trades_from(const std::vector<records::Trade>& trades);

// Binance's wire form of a decimal: padded to 8 decimals ("61685.99" -> "61685.99000000").
std::string binance_decimal(const records::Decimal& d);

}  // namespace sf::replay
