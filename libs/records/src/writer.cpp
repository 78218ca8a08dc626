#include "sf/records/writer.h"

#include <charconv>
#include <cstring>

namespace sf::records {
namespace {

// Writes into a stack buffer with memcpy and appends once: std::string's per-piece appends cost
// more than the formatting itself. Every piece has a known bound (records are validated).
class Out {
 public:
  template <size_t N>
  void lit(const char (&s)[N]) {
    std::memcpy(p_, s, N - 1);
    p_ += N - 1;
  }
  void str(std::string_view s) {
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void num(int64_t v) { p_ = std::to_chars(p_, p_ + 24, v).ptr; }
  void dec(const Decimal& d) { str(d.view()); }
  void flush(std::string& out) { out.append(buf_, static_cast<size_t>(p_ - buf_)); }

 private:
  char buf_[1024];
  char* p_ = buf_;
};

}  // namespace

void append_json(const Candle& c, std::string& out) {
  // 8 decimals of <= 40 characters, 4 integers, symbol and interval twice (short): < 1024.
  Out o;
  o.lit("{\"open_time\":");
  o.num(c.open_time);
  o.lit(",\"open\":");
  o.dec(c.open);
  o.lit(",\"high\":");
  o.dec(c.high);
  o.lit(",\"low\":");
  o.dec(c.low);
  o.lit(",\"close\":");
  o.dec(c.close);
  o.lit(",\"volume\":");
  o.dec(c.volume);
  o.lit(",\"close_time\":");
  o.num(c.close_time);
  o.lit(",\"quote_asset_volume\":");
  o.dec(c.quote_asset_volume);
  o.lit(",\"number_of_trades\":");
  o.num(c.number_of_trades);
  o.lit(",\"taker_buy_base_asset_volume\":");
  o.dec(c.taker_buy_base_asset_volume);
  o.lit(",\"taker_buy_quote_asset_volume\":");
  o.dec(c.taker_buy_quote_asset_volume);
  o.lit(",\"symbol\":\"");
  o.str(std::string_view(c.symbol).substr(0, 40));
  o.lit("\",\"interval\":\"");
  o.str(std::string_view(c.interval).substr(0, 8));
  o.lit("\"");
  if (!c.closed) o.lit(",\"closed\":false");
  o.lit(",\"_key\":\"");
  o.str(std::string_view(c.symbol).substr(0, 40));
  o.lit(":");
  o.str(std::string_view(c.interval).substr(0, 8));
  o.lit(":");
  o.num(c.open_time);
  o.lit("\"}");
  o.flush(out);
}

void append_json(const Trade& t, std::string& out) {
  Out o;
  o.lit("{\"trade_id\":");
  o.num(t.trade_id);
  o.lit(",\"price\":");
  o.dec(t.price);
  o.lit(",\"quantity\":");
  o.dec(t.quantity);
  o.lit(",\"timestamp\":");
  o.num(t.timestamp);
  if (t.is_buyer_maker) {
    o.lit(",\"is_buyer_maker\":true");
  } else {
    o.lit(",\"is_buyer_maker\":false");
  }
  o.lit(",\"symbol\":\"");
  o.str(std::string_view(t.symbol).substr(0, 40));
  o.lit("\",\"_key\":\"");
  o.str(std::string_view(t.symbol).substr(0, 40));
  o.lit(":t:");
  o.num(t.trade_id);
  o.lit("\"}");
  o.flush(out);
}

static void put_int(std::string& out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
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
