// libFuzzer target: any bytes as a WebSocket frame and as REST bodies. Must never crash, and the
// fast path must agree with the general (simdjson) path on every input. Build and run with
// tools/fuzz.sh; crashes it finds are kept as named cases in parser_test.cpp.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sf/records/parser.h"
#include "sf/records/writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sf::records;
  static BinanceParser fast;
  static BinanceParser general(BinanceParser::FastPath::off);
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto a = fast.ws_message(in);
  auto b = general.ws_message(in);
  if (a.ok() && b.ok()) {
    if (a->index() != b->index()) std::abort();
    if (auto* t = std::get_if<Trade>(&*a)) {
      if (!(*t == std::get<Trade>(*b))) std::abort();
      (void)to_json(*t);
    }
    if (auto* c = std::get_if<Candle>(&*a)) {
      if (!(*c == std::get<Candle>(*b))) std::abort();
      (void)to_json(*c);
    }
  } else if (a.ok() != b.ok()) {
    // The fast path only accepts what the general path accepts.
    if (a.ok()) std::abort();
  }
  (void)fast.rest_klines(in, "BTCUSDT", "1m", 0);
  (void)fast.rest_trades(in, "BTCUSDT");
  (void)fast.rest_agg_trades(in);
  (void)fast.rest_error(in);
  (void)parse_vision_kline_row(in, "BTCUSDT", "1m");
  (void)Decimal::parse(in);
  return 0;
}
