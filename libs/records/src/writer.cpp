#include "sf/records/writer.h"

#include <charconv>

namespace sf::records {
namespace {

void put_int(std::string& out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// Symbols and intervals are validated upstream ([A-Z0-9], Binance interval names), so they need
// no JSON escaping.
void put_field(std::string& out, std::string_view name, const Decimal& d) {
  out.append(name);
  out.append(d.view());
}

void put_field(std::string& out, std::string_view name, int64_t v) {
  out.append(name);
  put_int(out, v);
}

}  // namespace

void append_json(const Candle& c, std::string& out) {
  out.reserve(out.size() + 384);
  put_field(out, "{\"open_time\":", c.open_time);
  put_field(out, ",\"open\":", c.open);
  put_field(out, ",\"high\":", c.high);
  put_field(out, ",\"low\":", c.low);
  put_field(out, ",\"close\":", c.close);
  put_field(out, ",\"volume\":", c.volume);
  put_field(out, ",\"close_time\":", c.close_time);
  put_field(out, ",\"quote_asset_volume\":", c.quote_asset_volume);
  put_field(out, ",\"number_of_trades\":", c.number_of_trades);
  put_field(out, ",\"taker_buy_base_asset_volume\":", c.taker_buy_base_asset_volume);
  put_field(out, ",\"taker_buy_quote_asset_volume\":", c.taker_buy_quote_asset_volume);
  out.append(",\"symbol\":\"").append(c.symbol);
  out.append("\",\"interval\":\"").append(c.interval).append("\"");
  if (!c.closed) out.append(",\"closed\":false");
  out.append(",\"_key\":\"").append(c.symbol).append(":").append(c.interval).append(":");
  put_int(out, c.open_time);
  out.append("\"}");
}

void append_json(const Trade& t, std::string& out) {
  out.reserve(out.size() + 192);
  put_field(out, "{\"trade_id\":", t.trade_id);
  put_field(out, ",\"price\":", t.price);
  put_field(out, ",\"quantity\":", t.quantity);
  put_field(out, ",\"timestamp\":", t.timestamp);
  out.append(t.is_buyer_maker ? ",\"is_buyer_maker\":true" : ",\"is_buyer_maker\":false");
  out.append(",\"symbol\":\"").append(t.symbol);
  out.append("\",\"_key\":\"").append(t.symbol).append(":t:");
  put_int(out, t.trade_id);
  out.append("\"}");
}

std::string candle_key(const Candle& c) {
  std::string k = c.symbol + ":" + c.interval + ":";
  put_int(k, c.open_time);
  return k;
}

std::string trade_key(const Trade& t) {
  std::string k = t.symbol + ":t:";
  put_int(k, t.trade_id);
  return k;
}

}  // namespace sf::records
