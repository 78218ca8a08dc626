#include "sf/records/parser.h"

#include <simdjson.h>

#include <array>
#include <cstring>

#include "sf/records/interval.h"

namespace sf::records {

namespace od = simdjson::ondemand;

namespace {

// Fields of a WebSocket event, collected in one forward pass whatever their order (spot and futures
// order keys differently). Views point into the parser's buffer and die at the next parse.
struct KlineFields {
  int64_t t = -1, T = -1, n = -1;
  std::string_view s, i, o, c, h, l, v, q, V, Q;
  bool x = false, has_x = false;
};

struct EventFields {
  std::string_view e, s, p, q;
  int64_t E = -1, t = -1, T = -1, a = -1, f = -1, l = -1;
  bool m = false, has_m = false, has_k = false;
  KlineFields k;
};

Error json_error(std::string_view what, simdjson::error_code ec) {
  return make_error(std::string(what) + ": " + simdjson::error_message(ec));
}

#define SF_TRY_JSON(expr, what)                               \
  do {                                                        \
    if (auto ec_ = (expr); ec_) return json_error(what, ec_); \
  } while (0)

// A string value's text without unescaping: Binance's symbols, intervals and decimals never carry
// escapes, and Decimal::parse rejects anything that is not a plain number, so this is safe and
// avoids simdjson's unescape copy.
simdjson::error_code raw_string(od::value& v, std::string_view& out) {
  std::string_view tok = v.raw_json_token();
  while (!tok.empty() && tok.back() != '"') tok.remove_suffix(1);  // trailing whitespace
  if (tok.size() < 2 || tok.front() != '"') return simdjson::INCORRECT_TYPE;
  out = tok.substr(1, tok.size() - 2);
  return simdjson::SUCCESS;
}

// The key of a field as raw text (keys of Binance events are plain ASCII letters).
std::string_view raw_key(od::field& f) {
  const char* k = f.key().raw();
  size_t n = 0;
  while (k[n] != '"' && k[n] != '\\') ++n;
  return std::string_view(k, n);
}

// The one key -> field table of each object. A reader `r` reads the value in front of it:
// r.int64(int64_t&), r.str(std::string_view&), r.boolean(bool&), r.kline(KlineFields&) (a nested
// object) and r.skip() (a key not ours); the simdjson path and the fast scanner below are the two
// readers, so both read exactly the same fields.
template <class Reader>
auto kline_field(char key, KlineFields& k, Reader& r) {
  switch (key) {
    case 't':
      return r.int64(k.t);
    case 'T':
      return r.int64(k.T);
    case 'n':
      return r.int64(k.n);
    case 's':
      return r.str(k.s);
    case 'i':
      return r.str(k.i);
    case 'o':
      return r.str(k.o);
    case 'c':
      return r.str(k.c);
    case 'h':
      return r.str(k.h);
    case 'l':
      return r.str(k.l);
    case 'v':
      return r.str(k.v);
    case 'q':
      return r.str(k.q);
    case 'V':
      return r.str(k.V);
    case 'Q':
      return r.str(k.Q);
    case 'x':
      k.has_x = true;
      return r.boolean(k.x);
    default:
      return r.skip();
  }
}

template <class Reader>
auto event_field(char key, EventFields& ev, Reader& r) {
  switch (key) {
    case 'e':
      return r.str(ev.e);
    case 'E':
      return r.int64(ev.E);
    case 's':
      return r.str(ev.s);
    case 't':
      return r.int64(ev.t);
    case 'p':
      return r.str(ev.p);
    case 'q':
      return r.str(ev.q);
    case 'T':
      return r.int64(ev.T);
    case 'a':
      return r.int64(ev.a);
    case 'f':
      return r.int64(ev.f);
    case 'l':
      return r.int64(ev.l);
    case 'm':
      ev.has_m = true;
      return r.boolean(ev.m);
    case 'k':
      ev.has_k = true;
      return r.kline(ev.k);
    default:
      return r.skip();
  }
}

simdjson::error_code read_kline(od::object obj, KlineFields& k);

// The simdjson reader of one value.
struct ValueReader {
  od::value& v;
  simdjson::error_code int64(int64_t& out) { return v.get_int64().get(out); }
  simdjson::error_code str(std::string_view& out) { return raw_string(v, out); }
  simdjson::error_code boolean(bool& out) { return v.get_bool().get(out); }
  simdjson::error_code kline(KlineFields& k) {
    od::object obj;
    if (auto ec = v.get_object().get(obj)) return ec;
    return read_kline(obj, k);
  }
  simdjson::error_code skip() { return simdjson::SUCCESS; }
};

simdjson::error_code read_kline(od::object obj, KlineFields& k) {
  for (auto field_result : obj) {
    od::field field;
    if (auto ec = std::move(field_result).get(field)) return ec;
    const std::string_view key = raw_key(field);
    if (key.size() != 1) continue;
    od::value v = field.value();
    ValueReader r{v};
    if (auto ec = kline_field(key[0], k, r)) return ec;
  }
  return simdjson::SUCCESS;
}

simdjson::error_code read_event(od::object obj, EventFields& ev) {
  for (auto field_result : obj) {
    od::field field;
    if (auto ec = std::move(field_result).get(field)) return ec;
    const std::string_view key = raw_key(field);
    od::value v = field.value();
    if (key == "data") {  // combined-stream envelope: the event is inside
      od::object inner;
      if (auto ec = v.get_object().get(inner)) return ec;
      if (auto ec = read_event(inner, ev)) return ec;
      continue;
    }
    if (key.size() != 1) continue;
    ValueReader r{v};
    if (auto ec = event_field(key[0], ev, r)) return ec;
  }
  return simdjson::SUCCESS;
}

// ---- Fast path -------------------------------------------------------------------------------
// Binance sends compact JSON objects whose strings carry no escapes. This scanner reads exactly
// that shape into EventFields in one pass; on anything else (escapes, arrays, nesting it does not
// expect, malformed text) it returns false and the frame goes through simdjson, which also produces
// the error message. The records built from either path go through the same checks.
class FastScan {
  // The bytes a string may hold on this path: printable ASCII but '"' and '\\'.
  static constexpr std::array<bool, 256> kPlain = [] {
    std::array<bool, 256> t{};
    for (int c = 0x20; c < 0x80; ++c) t[static_cast<size_t>(c)] = c != '"' && c != '\\';
    return t;
  }();

 public:
  explicit FastScan(std::string_view s) : p_(s.data()), end_(s.data() + s.size()) {}

  bool event(EventFields& ev) {
    return object([&](std::string_view key) {
      if (key.size() == 1) {
        Reader r{*this};
        return event_field(key[0], ev, r);
      }
      if (key == "data") return event(ev);
      return skip_scalar();
    });
  }

  bool at_end() {
    ws();
    return p_ == end_;
  }

 private:
  // This scanner as a reader for the field tables.
  struct Reader {
    FastScan& s;
    bool int64(int64_t& out) { return s.integer(out); }
    bool str(std::string_view& out) { return s.string(out); }
    bool boolean(bool& out) { return s.boolean(out); }
    bool kline(KlineFields& k) { return s.kline(k); }
    bool skip() { return s.skip_scalar(); }
  };

  bool kline(KlineFields& k) {
    return object([&](std::string_view key) {
      if (key.size() != 1) return skip_scalar();
      Reader r{*this};
      return kline_field(key[0], k, r);
    });
  }

  // Reads one non-empty object, handing each key to `on_field`, which reads the value.
  template <class OnField>
  bool object(OnField on_field) {
    if (!object_begin()) return false;
    if (peek() == '}') return false;
    for (;;) {
      std::string_view key;
      if (!string(key) || !colon() || !on_field(key)) return false;
      ws();
      if (p_ < end_ && *p_ == ',') {
        ++p_;
        continue;
      }
      return object_end();
    }
  }

  void ws() {
    // Binance's JSON is compact: one comparison settles the usual case.
    while (p_ < end_ && static_cast<unsigned char>(*p_) <= ' ' &&
           (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) {
      ++p_;
    }
  }
  char peek() {
    ws();
    return p_ < end_ ? *p_ : '\0';
  }
  bool object_begin() {
    if (peek() != '{') return false;
    ++p_;
    return true;
  }
  bool object_end() {
    if (peek() != '}') return false;
    ++p_;
    return true;
  }
  bool colon() {
    if (peek() != ':') return false;
    ++p_;
    return true;
  }
  bool string(std::string_view& out) {
    if (peek() != '"') return false;
    const char* start = ++p_;
    // Escapes, control characters and non-ASCII bytes (which need UTF-8 validation) go to
    // simdjson; Binance's keys and values are plain ASCII.
    while (p_ < end_ && kPlain[static_cast<unsigned char>(*p_)]) ++p_;
    if (p_ == end_ || *p_ != '"') return false;
    out = std::string_view(start, static_cast<size_t>(p_ - start));
    ++p_;
    return true;
  }
  bool integer(int64_t& out) {
    ws();
    bool neg = false;
    if (p_ < end_ && *p_ == '-') {
      neg = true;
      ++p_;
    }
    const char* start = p_;
    uint64_t v = 0;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') {
      if (p_ - start >= 18) return false;  // leave large numbers to simdjson's checks
      v = v * 10 + static_cast<uint64_t>(*p_ - '0');
      ++p_;
    }
    if (p_ == start || (p_ < end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E'))) return false;
    if (p_ - start > 1 && *start == '0') return false;
    out = neg ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
    return true;
  }
  bool literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) {
      return false;
    }
    p_ += word.size();
    return true;
  }
  bool boolean(bool& out) {
    ws();
    if (literal("true")) {
      out = true;
      return true;
    }
    if (literal("false")) {
      out = false;
      return true;
    }
    return false;
  }
  bool skip_scalar() {
    const char c = peek();
    if (c == '"') {
      std::string_view ignored;
      return string(ignored);
    }
    if (c == 't' || c == 'f') {
      bool ignored;
      return boolean(ignored);
    }
    if (c == 'n') return literal("null");
    if (c == '-' || (c >= '0' && c <= '9')) {
      const char* start = p_;
      while (p_ < end_ && ((*p_ >= '0' && *p_ <= '9') || *p_ == '-' || *p_ == '+' || *p_ == '.' ||
                           *p_ == 'e' || *p_ == 'E')) {
        ++p_;
      }
      return p_ > start;
    }
    return false;  // objects and arrays: not our shape
  }

  const char* p_;
  const char* end_;
};

// Parses a decimal field, naming it in the error.
bool set_decimal(Decimal& out, std::string_view text, const char* field, Error& err) {
  if (Decimal::parse_into(text, out)) return true;
  err = make_error(std::string("field '") + field + "': " + Decimal::parse(text).error().message);
  return false;
}

// Symbols are upper-case letters and digits on every Binance market; checking keeps raw (unescaped)
// text from ever reaching our JSON output.
bool valid_symbol_text(std::string_view s) {
  if (s.empty() || s.size() > 30) return false;
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

Result<Trade> make_trade(const EventFields& ev) {
  if (ev.t < 0 || ev.T < 0 || ev.s.empty() || !ev.has_m) {
    return make_error("trade event lacks one of the fields s, t, T, m");
  }
  if (!valid_symbol_text(ev.s)) return make_error("trade event has an invalid symbol 's'");
  Trade tr;
  Error err;
  if (!set_decimal(tr.price, ev.p, "p", err) || !set_decimal(tr.quantity, ev.q, "q", err))
    return err;
  tr.trade_id = ev.t;
  tr.timestamp = normalize_epoch_ms(ev.T);
  tr.is_buyer_maker = ev.m;
  tr.symbol.assign(ev.s);
  return tr;
}

Result<AggTrade> make_agg_trade(const EventFields& ev) {
  if (ev.a < 0 || ev.f < 0 || ev.l < 0 || ev.T < 0 || !ev.has_m) {
    return make_error("aggTrade event lacks one of the fields a, f, l, T, m");
  }
  AggTrade at;
  Error err;
  if (!set_decimal(at.price, ev.p, "p", err) || !set_decimal(at.quantity, ev.q, "q", err))
    return err;
  at.agg_id = ev.a;
  at.first_trade_id = ev.f;
  at.last_trade_id = ev.l;
  at.timestamp = normalize_epoch_ms(ev.T);
  at.is_buyer_maker = ev.m;
  if (!ev.s.empty() && !valid_symbol_text(ev.s))
    return make_error("aggTrade event has an invalid symbol 's'");
  at.symbol.assign(ev.s);
  return at;
}

Result<Candle> make_candle(const EventFields& ev) {
  const KlineFields& k = ev.k;
  if (!ev.has_k || k.t < 0 || k.T < 0 || k.n < 0 || !k.has_x || k.i.empty()) {
    return make_error("kline event lacks its 'k' object or one of k.t, k.T, k.n, k.i, k.x");
  }
  if (!valid_symbol_text(k.s.empty() ? ev.s : k.s))
    return make_error("kline event has an invalid symbol");
  if (!Interval::parse(k.i)) return make_error("kline event has an unknown interval 'k.i'");
  Candle c;
  Error err;
  if (!set_decimal(c.open, k.o, "k.o", err) || !set_decimal(c.high, k.h, "k.h", err) ||
      !set_decimal(c.low, k.l, "k.l", err) || !set_decimal(c.close, k.c, "k.c", err) ||
      !set_decimal(c.volume, k.v, "k.v", err) ||
      !set_decimal(c.quote_asset_volume, k.q, "k.q", err) ||
      !set_decimal(c.taker_buy_base_asset_volume, k.V, "k.V", err) ||
      !set_decimal(c.taker_buy_quote_asset_volume, k.Q, "k.Q", err)) {
    return err;
  }
  c.open_time = normalize_epoch_ms(k.t);
  c.close_time = normalize_epoch_ms(k.T);
  c.number_of_trades = k.n;
  c.symbol.assign(k.s.empty() ? ev.s : k.s);
  c.interval.assign(k.i);
  c.closed = k.x;
  return c;
}

}  // namespace

struct BinanceParser::Impl {
  od::parser parser;
  std::string buffer;  // input copied here with simdjson's padding behind it
  bool fast_path = true;

  simdjson::error_code iterate(std::string_view input, od::document& doc) {
    buffer.assign(input);
    buffer.resize(input.size() + simdjson::SIMDJSON_PADDING, '\0');
    return parser.iterate(buffer.data(), input.size(), buffer.size()).get(doc);
  }
};

BinanceParser::BinanceParser(FastPath fast) : impl_(std::make_unique<Impl>()) {
  impl_->fast_path = fast == FastPath::on;
}
BinanceParser::~BinanceParser() = default;
BinanceParser::BinanceParser(BinanceParser&&) noexcept = default;
BinanceParser& BinanceParser::operator=(BinanceParser&&) noexcept = default;

// Fills `ev` from a frame: the fast path for Binance's compact objects, simdjson for the rest.
static Status read_frame(BinanceParser::Impl& impl, std::string_view frame, EventFields& ev);

Result<WsMessage> BinanceParser::ws_message(std::string_view frame) {
  EventFields ev;
  if (auto st = read_frame(*impl_, frame, ev); !st) return st.error();
  if (ev.e == "trade") {
    auto t = make_trade(ev);
    if (!t) return t.error();
    return WsMessage(std::move(t).value());
  }
  if (ev.e == "kline") {
    auto c = make_candle(ev);
    if (!c) return c.error();
    return WsMessage(std::move(c).value());
  }
  if (ev.e == "aggTrade") {
    auto a = make_agg_trade(ev);
    if (!a) return a.error();
    return WsMessage(std::move(a).value());
  }
  if (ev.e == "serverShutdown") return WsMessage(ServerShutdown{ev.E});
  if (ev.e.empty()) return WsMessage(Ignored{});
  return make_error("unknown WebSocket event type '" + std::string(ev.e) + "'");
}

Result<Trade> BinanceParser::ws_trade(std::string_view frame) {
  EventFields ev;
  if (auto st = read_frame(*impl_, frame, ev); !st) return st.error();
  if (ev.e != "trade") return make_error("WebSocket frame is not a trade event");
  return make_trade(ev);
}

Result<Candle> BinanceParser::ws_kline(std::string_view frame) {
  EventFields ev;
  if (auto st = read_frame(*impl_, frame, ev); !st) return st.error();
  if (ev.e != "kline") return make_error("WebSocket frame is not a kline event");
  return make_candle(ev);
}

static Status read_frame(BinanceParser::Impl& impl, std::string_view frame, EventFields& ev) {
  if (impl.fast_path) {
    FastScan fast(frame);
    if (fast.event(ev) && fast.at_end()) return ok_status();
    ev = EventFields{};
  }
  od::document doc;
  SF_TRY_JSON(impl.iterate(frame, doc), "WebSocket frame is not JSON");
  od::object obj;
  SF_TRY_JSON(doc.get_object().get(obj), "WebSocket frame is not a JSON object");
  SF_TRY_JSON(read_event(obj, ev), "malformed WebSocket event");
  return ok_status();
}

Result<std::vector<Candle>> BinanceParser::rest_klines(std::string_view body,
                                                       std::string_view symbol,
                                                       std::string_view interval, int64_t now_ms) {
  od::document doc;
  SF_TRY_JSON(impl_->iterate(body, doc), "klines body is not JSON");
  od::array rows;
  SF_TRY_JSON(doc.get_array().get(rows), "klines body is not a JSON array");
  std::vector<Candle> out;
  for (auto row_value : rows) {
    od::array row;
    SF_TRY_JSON(row_value.get_array().get(row), "kline row is not an array");
    Candle c;
    c.symbol.assign(symbol);
    c.interval.assign(interval);
    size_t idx = 0;
    Error err;
    for (auto cell : row) {
      std::string_view s;
      int64_t n = 0;
      switch (idx) {
        case 0:
        case 6:
        case 8:
          SF_TRY_JSON(cell.get_int64().get(n),
                      "kline row: integer expected in column " + std::to_string(idx));
          if (idx == 0) c.open_time = normalize_epoch_ms(n);
          if (idx == 6) c.close_time = normalize_epoch_ms(n);
          if (idx == 8) c.number_of_trades = n;
          break;
        case 1:
        case 2:
        case 3:
        case 4:
        case 5:
        case 7:
        case 9:
        case 10: {
          od::value cell_value;
          SF_TRY_JSON(std::move(cell).get(cell_value), "kline row cell");
          SF_TRY_JSON(raw_string(cell_value, s),
                      "kline row: decimal string expected in column " + std::to_string(idx));
          static constexpr const char* kNames[] = {"",
                                                   "open",
                                                   "high",
                                                   "low",
                                                   "close",
                                                   "volume",
                                                   "",
                                                   "quote_asset_volume",
                                                   "",
                                                   "taker_buy_base",
                                                   "taker_buy_quote"};
          Decimal* fields[] = {nullptr,
                               &c.open,
                               &c.high,
                               &c.low,
                               &c.close,
                               &c.volume,
                               nullptr,
                               &c.quote_asset_volume,
                               nullptr,
                               &c.taker_buy_base_asset_volume,
                               &c.taker_buy_quote_asset_volume};
          if (!set_decimal(*fields[idx], s, kNames[idx], err)) return err;
          break;
        }
        default:
          break;  // column 11 ("ignore") and anything Binance may add later
      }
      ++idx;
    }
    if (idx < 11)
      return make_error("kline row has " + std::to_string(idx) + " columns, expected 12");
    c.closed = c.close_time < now_ms;
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<Trade>> BinanceParser::rest_trades(std::string_view body,
                                                      std::string_view symbol) {
  od::document doc;
  SF_TRY_JSON(impl_->iterate(body, doc), "trades body is not JSON");
  od::array rows;
  SF_TRY_JSON(doc.get_array().get(rows), "trades body is not a JSON array");
  std::vector<Trade> out;
  for (auto row_value : rows) {
    od::object obj;
    SF_TRY_JSON(row_value.get_object().get(obj), "trade row is not an object");
    Trade t;
    t.symbol.assign(symbol);
    int seen = 0;
    Error err;
    for (auto field : obj) {
      std::string_view key, s;
      SF_TRY_JSON(field.unescaped_key().get(key), "trade row key");
      od::value v = field.value();
      if (key == "id") {
        SF_TRY_JSON(v.get_int64().get(t.trade_id), "trade field 'id'");
        seen |= 1;
      } else if (key == "price") {
        SF_TRY_JSON(v.get_string().get(s), "trade field 'price'");
        if (!set_decimal(t.price, s, "price", err)) return err;
        seen |= 2;
      } else if (key == "qty") {
        SF_TRY_JSON(v.get_string().get(s), "trade field 'qty'");
        if (!set_decimal(t.quantity, s, "qty", err)) return err;
        seen |= 4;
      } else if (key == "time") {
        int64_t ts;
        SF_TRY_JSON(v.get_int64().get(ts), "trade field 'time'");
        t.timestamp = normalize_epoch_ms(ts);
        seen |= 8;
      } else if (key == "isBuyerMaker") {
        SF_TRY_JSON(v.get_bool().get(t.is_buyer_maker), "trade field 'isBuyerMaker'");
        seen |= 16;
      }
    }
    if (seen != 31) return make_error("trade row lacks one of id, price, qty, time, isBuyerMaker");
    out.push_back(std::move(t));
  }
  return out;
}

Result<std::vector<AggTrade>> BinanceParser::rest_agg_trades(std::string_view body) {
  od::document doc;
  SF_TRY_JSON(impl_->iterate(body, doc), "aggTrades body is not JSON");
  od::array rows;
  SF_TRY_JSON(doc.get_array().get(rows), "aggTrades body is not a JSON array");
  std::vector<AggTrade> out;
  for (auto row_value : rows) {
    od::object obj;
    SF_TRY_JSON(row_value.get_object().get(obj), "aggTrade row is not an object");
    EventFields ev;
    SF_TRY_JSON(read_event(obj, ev), "malformed aggTrade row");
    auto a = make_agg_trade(ev);
    if (!a) return a.error();
    out.push_back(std::move(a).value());
  }
  return out;
}

Result<ApiError> BinanceParser::rest_error(std::string_view body) {
  od::document doc;
  SF_TRY_JSON(impl_->iterate(body, doc), "error body is not JSON");
  od::object obj;
  SF_TRY_JSON(doc.get_object().get(obj), "error body is not an object");
  ApiError e;
  bool has_code = false;
  for (auto field : obj) {
    std::string_view key, s;
    SF_TRY_JSON(field.unescaped_key().get(key), "error body key");
    od::value v = field.value();
    if (key == "code") {
      int64_t code;
      SF_TRY_JSON(v.get_int64().get(code), "error field 'code'");
      e.code = static_cast<int>(code);
      has_code = true;
    } else if (key == "msg") {
      SF_TRY_JSON(v.get_string().get(s), "error field 'msg'");
      e.msg.assign(s);
    }
  }
  if (!has_code) return make_error("body is not a Binance error (no 'code')");
  return e;
}

namespace {

// The first `max` comma-separated cells of a CSV row (its line end dropped); how many there were.
size_t split_csv_row(std::string_view line, std::string_view* cols, size_t max) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  size_t n = 0, pos = 0;
  while (n < max) {
    const size_t comma = line.find(',', pos);
    cols[n++] = line.substr(pos, comma == std::string_view::npos ? line.npos : comma - pos);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return n;
}

// A non-negative integer cell of at most 18 digits (no overflow).
bool csv_int(std::string_view s, int64_t& out) {
  if (s.empty() || s.size() > 18) return false;
  int64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return false;
    v = v * 10 + (ch - '0');
  }
  out = v;
  return true;
}

}  // namespace

Result<Candle> parse_vision_kline_row(std::string_view line, std::string_view symbol,
                                      std::string_view interval) {
  std::string_view cols[12];
  const size_t n = split_csv_row(line, cols, 12);
  if (n < 11) {
    return make_error("vision CSV row has " + std::to_string(n) + " columns, expected 12: '" +
                      std::string(line.substr(0, 80)) + "'");
  }
  const auto to_int = csv_int;
  Candle c;
  c.symbol.assign(symbol);
  c.interval.assign(interval);
  int64_t open = 0, close = 0, count = 0;
  if (!to_int(cols[0], open) || !to_int(cols[6], close) || !to_int(cols[8], count)) {
    return make_error("vision CSV row: open time, close time and trade count must be integers: '" +
                      std::string(line.substr(0, 80)) + "'");
  }
  c.open_time = normalize_epoch_ms(open);
  c.close_time = normalize_epoch_ms(close);
  c.number_of_trades = count;
  Error err;
  if (!set_decimal(c.open, cols[1], "open", err) || !set_decimal(c.high, cols[2], "high", err) ||
      !set_decimal(c.low, cols[3], "low", err) || !set_decimal(c.close, cols[4], "close", err) ||
      !set_decimal(c.volume, cols[5], "volume", err) ||
      !set_decimal(c.quote_asset_volume, cols[7], "quote_asset_volume", err) ||
      !set_decimal(c.taker_buy_base_asset_volume, cols[9], "taker_buy_base", err) ||
      !set_decimal(c.taker_buy_quote_asset_volume, cols[10], "taker_buy_quote", err)) {
    return err;
  }
  c.closed = true;
  return c;
}

bool is_vision_header(std::string_view line) {
  return !line.empty() && (line[0] < '0' || line[0] > '9');
}

Result<Trade> parse_vision_trade_row(std::string_view line, std::string_view symbol) {
  std::string_view cols[7];
  const size_t n = split_csv_row(line, cols, 7);
  if (n < 6) {
    return make_error("vision trades CSV row has " + std::to_string(n) + " columns, expected 7: '" +
                      std::string(line.substr(0, 80)) + "'");
  }
  const auto to_int = csv_int;
  Trade t;
  t.symbol.assign(symbol);
  int64_t time = 0;
  if (!to_int(cols[0], t.trade_id) || !to_int(cols[4], time)) {
    return make_error("vision trades CSV row: id and time must be integers: '" +
                      std::string(line.substr(0, 80)) + "'");
  }
  t.timestamp = normalize_epoch_ms(time);
  Error err;
  if (!set_decimal(t.price, cols[1], "price", err) ||
      !set_decimal(t.quantity, cols[2], "qty", err)) {
    return err;
  }
  const std::string_view m = cols[5];
  if (m == "True" || m == "true") {
    t.is_buyer_maker = true;
  } else if (m != "False" && m != "false") {
    return make_error("vision trades CSV row: is_buyer_maker must be True or False: '" +
                      std::string(line.substr(0, 80)) + "'");
  }
  return t;
}

}  // namespace sf::records
