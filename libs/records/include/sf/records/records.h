// The records StreamForge carries (SPEC §4): closed candles and trades, plus the aggregate trades
// the loaders use to find trade ids by time. Values are plain structs; decimals stay text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "sf/records/decimal.h"

namespace sf::records {

struct Candle {
  int64_t open_time = 0;
  Decimal open, high, low, close, volume;
  int64_t close_time = 0;
  Decimal quote_asset_volume;
  int64_t number_of_trades = 0;
  Decimal taker_buy_base_asset_volume, taker_buy_quote_asset_volume;
  std::string symbol;
  std::string interval;
  bool closed = true;  // false only for live updates a job asked for

  friend bool operator==(const Candle&, const Candle&) = default;
};

struct Trade {
  int64_t trade_id = 0;
  Decimal price, quantity;
  int64_t timestamp = 0;
  bool is_buyer_maker = false;
  std::string symbol;

  friend bool operator==(const Trade&, const Trade&) = default;
};

struct AggTrade {
  int64_t agg_id = 0, first_trade_id = 0, last_trade_id = 0;
  Decimal price, quantity;
  int64_t timestamp = 0;
  bool is_buyer_maker = false;
  std::string symbol;  // empty for REST answers, which do not carry it

  friend bool operator==(const AggTrade&, const AggTrade&) = default;
};

// Binance's `{"e":"serverShutdown","E":...}`: the server will close soon; reconnect at once.
struct ServerShutdown {
  int64_t event_time = 0;
};

// A WebSocket frame that carries no market data (subscription answers and the like).
struct Ignored {};

using WsMessage = std::variant<Trade, Candle, AggTrade, ServerShutdown, Ignored>;

// Binance REST error body `{"code":-1121,"msg":"Invalid symbol."}`.
struct ApiError {
  int code = 0;
  std::string msg;
};

// Inputs in microseconds (data.binance.vision spot files since 2025) are recognised by magnitude.
constexpr int64_t normalize_epoch_ms(int64_t t) {
  return t >= 100'000'000'000'000 ? t / 1000 : t;
}

}  // namespace sf::records
