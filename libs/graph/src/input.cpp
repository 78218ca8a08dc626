// Input documents (candles and trades as the connectors store them, SPEC §4) -> records.
#include <simdjson.h>

#include <cstring>
#include <string>

#include "sf/graph/graph.h"

namespace sf::graph {
namespace {

namespace od = simdjson::ondemand;

// A number's text as written (our writers emit decimals digit for digit).
std::string_view number_text(od::value& v) {
  std::string_view tok = v.raw_json_token();
  while (!tok.empty() &&
         (tok.back() == ' ' || tok.back() == '\n' || tok.back() == '\r' || tok.back() == '\t'))
    tok.remove_suffix(1);
  return tok;
}

// "6.754001E4" -> "67540.01": stores that re-serialise numbers (ArangoDB) may write exponents;
// the digits are moved, never rounded.
std::string plain_decimal(std::string_view t) {
  const size_t e = t.find_first_of("eE");
  if (e == std::string_view::npos) return std::string(t);
  std::string mant(t.substr(0, e));
  const int exp = std::atoi(std::string(t.substr(e + 1)).c_str());
  bool neg = !mant.empty() && mant[0] == '-';
  if (neg) mant.erase(0, 1);
  size_t dot = mant.find('.');
  std::string digits = mant;
  if (dot != std::string::npos) digits.erase(dot, 1);
  int point = static_cast<int>(dot == std::string::npos ? mant.size() : dot) + exp;
  if (point <= 0) {
    digits.insert(0, static_cast<size_t>(-point) + 1, '0');
    point = 1;
  }
  if (point >= static_cast<int>(digits.size())) {
    digits.append(static_cast<size_t>(point) - digits.size(), '0');
  } else {
    digits.insert(static_cast<size_t>(point), ".");
  }
  return (neg ? "-" : "") + digits;
}

Status decimal(od::value& v, const char* name, records::Decimal& out) {
  auto d = records::Decimal::parse(plain_decimal(number_text(v)));
  if (!d) return make_error(std::string("field ") + name + ": " + d.error().message);
  out = *d;
  return ok_status();
}

struct ThreadParser {
  od::parser parser;
  simdjson::padded_string buffer;
};

}  // namespace

Result<InputRecord> parse_input(std::string_view json) {
  thread_local ThreadParser tp;
  if (tp.buffer.size() < json.size()) tp.buffer = simdjson::padded_string(json.size() * 2);
  std::memcpy(tp.buffer.data(), json.data(), json.size());
  od::document doc;
  if (auto ec = tp.parser.iterate(tp.buffer.data(), json.size(), tp.buffer.size()).get(doc)) {
    return make_error(std::string("not JSON: ") + simdjson::error_message(ec));
  }
  od::object obj;
  if (doc.get_object().get(obj)) return make_error("not a JSON object");
  InputRecord r;
  records::Candle& c = r.candle;
  records::Trade& t = r.trade;
  bool has_open_time = false, has_open = false, has_trade_id = false, has_price = false;
  bool has_ts = false, has_qty = false;
  for (auto fr : obj) {
    od::field f;
    if (std::move(fr).get(f)) return make_error("malformed JSON object");
    // Our documents' field names carry no escapes: the raw key text up to its closing quote.
    const char* raw = f.key().raw();
    size_t n = 0;
    while (raw[n] != '"' && raw[n] != '\\') ++n;
    const std::string_view key(raw, n);
    od::value v = f.value();
    Status st = ok_status();
    auto int_field = [&](int64_t& out) {
      if (v.get_int64().get(out)) st = make_error("field " + std::string(key) + ": not an integer");
    };
    auto str_field = [&](std::string& out) {
      std::string_view s;
      if (v.get_string().get(s)) {
        st = make_error("field " + std::string(key) + ": not a string");
      } else {
        out = std::string(s);
      }
    };
    if (key == "_key") {
      str_field(r.key);
    } else if (key == "open_time") {
      int_field(c.open_time);
      has_open_time = true;
    } else if (key == "open") {
      st = decimal(v, "open", c.open);
      has_open = true;
    } else if (key == "high") {
      st = decimal(v, "high", c.high);
    } else if (key == "low") {
      st = decimal(v, "low", c.low);
    } else if (key == "close") {
      st = decimal(v, "close", c.close);
    } else if (key == "volume") {
      st = decimal(v, "volume", c.volume);
    } else if (key == "close_time") {
      int_field(c.close_time);
    } else if (key == "quote_asset_volume") {
      st = decimal(v, "quote_asset_volume", c.quote_asset_volume);
    } else if (key == "number_of_trades") {
      int_field(c.number_of_trades);
    } else if (key == "taker_buy_base_asset_volume") {
      st = decimal(v, "taker_buy_base_asset_volume", c.taker_buy_base_asset_volume);
    } else if (key == "taker_buy_quote_asset_volume") {
      st = decimal(v, "taker_buy_quote_asset_volume", c.taker_buy_quote_asset_volume);
    } else if (key == "interval") {
      str_field(c.interval);
    } else if (key == "symbol") {
      str_field(c.symbol);
    } else if (key == "trade_id") {
      int_field(t.trade_id);
      has_trade_id = true;
    } else if (key == "price") {
      st = decimal(v, "price", t.price);
      has_price = true;
    } else if (key == "quantity") {
      st = decimal(v, "quantity", t.quantity);
      has_qty = true;
    } else if (key == "timestamp") {
      int_field(t.timestamp);
      has_ts = true;
    } else if (key == "is_buyer_maker") {
      if (v.get_bool().get(t.is_buyer_maker)) st = make_error("field is_buyer_maker: not a bool");
    }
    if (!st) return st.error();
  }
  if (has_open_time && has_open) {
    r.kind = InputRecord::Kind::candle;
    c.open_time = records::normalize_epoch_ms(c.open_time);
    c.close_time = records::normalize_epoch_ms(c.close_time);
    if (c.symbol.empty()) return make_error("candle without symbol");
    return r;
  }
  if (has_trade_id && has_price && has_qty && has_ts) {
    r.kind = InputRecord::Kind::trade;
    t.symbol = std::move(c.symbol);
    t.timestamp = records::normalize_epoch_ms(t.timestamp);
    if (t.symbol.empty()) return make_error("trade without symbol");
    return r;
  }
  return make_error(
      "neither a candle (open_time, open, ...) nor a trade (trade_id, price, quantity, "
      "timestamp)");
}

}  // namespace sf::graph
