// BinanceParser: Binance's wire formats (WebSocket events, REST bodies) -> records.
//
// One parser per thread: it reuses its buffers, so it is cheap to call per message but not
// thread-safe. Never throws; every malformed input is an Error naming the field at fault.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "sf/core/result.h"
#include "sf/records/records.h"

namespace sf::records {

class BinanceParser {
 public:
  // WebSocket frames in Binance's compact form take a hand-written fast path; anything else goes
  // through simdjson. `FastPath::off` forces simdjson everywhere (differential tests, fuzzing).
  enum class FastPath { on, off };
  explicit BinanceParser(FastPath fast = FastPath::on);
  ~BinanceParser();
  BinanceParser(BinanceParser&&) noexcept;
  BinanceParser& operator=(BinanceParser&&) noexcept;

  // Any WebSocket frame of the raw (/ws) or combined (/stream, {"stream","data"}) endpoints.
  Result<WsMessage> ws_message(std::string_view frame);
  // Convenience: the frame must be a trade / a kline event.
  Result<Trade> ws_trade(std::string_view frame);
  Result<Candle> ws_kline(std::string_view frame);

  // GET /api/v3/klines. `closed` is set from close_time < now_ms.
  Result<std::vector<Candle>> rest_klines(std::string_view body, std::string_view symbol,
                                          std::string_view interval, int64_t now_ms);
  // GET /api/v3/trades and /api/v3/historicalTrades.
  Result<std::vector<Trade>> rest_trades(std::string_view body, std::string_view symbol);
  // GET /api/v3/aggTrades.
  Result<std::vector<AggTrade>> rest_agg_trades(std::string_view body);
  // Binance error body; an Error if the body is not one.
  Result<ApiError> rest_error(std::string_view body);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// One row of a data.binance.vision klines CSV (12 columns, no header; ms or µs timestamps).
Result<Candle> parse_vision_kline_row(std::string_view line, std::string_view symbol,
                                      std::string_view interval);
// One row of a data.binance.vision trades CSV: id, price, qty, quote_qty, time, is_buyer_maker,
// is_best_match (ms or µs time; True/False or true/false).
Result<Trade> parse_vision_trade_row(std::string_view line, std::string_view symbol);
// A CSV header row ("id,price,..." / "open_time,open,..."): some vision files have one.
bool is_vision_header(std::string_view line);

}  // namespace sf::records
