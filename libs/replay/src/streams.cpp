#include "sf/replay/streams.h"

#include <cctype>

namespace sf::replay {

namespace {

std::string dec(const records::Decimal& d) {
  return "\"" + binance_decimal(d) + "\"";
}

std::string agg_event_json(const records::AggTrade& a) {
  std::string out = "{\"e\":\"aggTrade\",\"E\":" + std::to_string(a.timestamp) + ",\"s\":\"" +
                    a.symbol + "\",\"a\":" + std::to_string(a.agg_id) + ",\"p\":" + dec(a.price) +
                    ",\"q\":" + dec(a.quantity) + ",\"f\":" + std::to_string(a.first_trade_id) +
                    ",\"l\":" + std::to_string(a.last_trade_id) +
                    ",\"T\":" + std::to_string(a.timestamp) +
                    ",\"m\":" + (a.is_buyer_maker ? "true" : "false") + ",\"M\":true}";
  return out;
}

}  // namespace

std::string trade_event_json(const records::Trade& t) {
  return "{\"e\":\"trade\",\"E\":" + std::to_string(t.timestamp) + ",\"s\":\"" + t.symbol +
         "\",\"t\":" + std::to_string(t.trade_id) + ",\"p\":" + dec(t.price) +
         ",\"q\":" + dec(t.quantity) + ",\"T\":" + std::to_string(t.timestamp) +
         ",\"m\":" + (t.is_buyer_maker ? "true" : "false") + ",\"M\":true}";
}

std::string kline_event_json(const Kline& k, bool closed, int64_t event_time) {
  const auto& c = k.candle;
  return "{\"e\":\"kline\",\"E\":" + std::to_string(event_time) + ",\"s\":\"" + c.symbol +
         "\",\"k\":{\"t\":" + std::to_string(c.open_time) +
         ",\"T\":" + std::to_string(c.close_time) + ",\"s\":\"" + c.symbol + "\",\"i\":\"" +
         c.interval + "\",\"f\":" + std::to_string(k.first_trade_id) +
         ",\"L\":" + std::to_string(k.last_trade_id) + ",\"o\":" + dec(c.open) +
         ",\"c\":" + dec(c.close) + ",\"h\":" + dec(c.high) + ",\"l\":" + dec(c.low) +
         ",\"v\":" + dec(c.volume) + ",\"n\":" + std::to_string(c.number_of_trades) +
         ",\"x\":" + (closed ? "true" : "false") + ",\"q\":" + dec(c.quote_asset_volume) +
         ",\"V\":" + dec(c.taker_buy_base_asset_volume) +
         ",\"Q\":" + dec(c.taker_buy_quote_asset_volume) + ",\"B\":\"0\"}}";
}

Result<std::shared_ptr<const StreamMessages>> build_stream(const Dataset& data,
                                                           std::string_view name) {
  const size_t at = name.find('@');
  if (at == std::string_view::npos || at == 0) {
    return make_error("stream name must be <symbol>@<kind>, got '" + std::string(name) + "'");
  }
  std::string symbol(name.substr(0, at));
  for (char& ch : symbol) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  const std::string_view kind = name.substr(at + 1);
  const SymbolData* d = data.find(symbol);
  if (d == nullptr) return make_error("unknown symbol in stream '" + std::string(name) + "'");
  auto out = std::make_shared<StreamMessages>();

  if (kind == "trade") {
    out->reserve(d->trades.size());
    for (const auto& t : d->trades) out->push_back({t.timestamp, trade_event_json(t)});
  } else if (kind == "aggTrade") {
    for (const auto& a : d->agg_trades()) out->push_back({a.timestamp, agg_event_json(a)});
  } else if (kind.rfind("kline_", 0) == 0) {
    auto interval = records::Interval::parse(kind.substr(6));
    if (!interval) return make_error("unknown interval in stream '" + std::string(name) + "'");
    if (d->trades.empty()) {
      for (const auto& k : d->klines(*interval)) {
        out->push_back(
            {k.candle.close_time + 1, kline_event_json(k, true, k.candle.close_time + 1)});
      }
    } else {
      KlineBuilder b(*interval);
      int64_t last_update = 0;
      for (const auto& t : d->trades) {
        const size_t closed_before = b.closed().size();
        const bool opened = b.add(t);
        if (b.closed().size() > closed_before) {
          const Kline& done = b.closed().back();
          const int64_t e = std::max(done.candle.close_time + 1, last_update);
          out->push_back({e, kline_event_json(done, true, e)});
        }
        if (opened || t.timestamp - last_update >= 2000) {
          last_update = t.timestamp;
          out->push_back({t.timestamp, kline_event_json(b.current(), false, t.timestamp)});
        }
      }
      if (b.has_current()) {
        b.close();
        const Kline& done = b.closed().back();
        out->push_back(
            {done.candle.close_time + 1, kline_event_json(done, true, done.candle.close_time + 1)});
      }
    }
  } else {
    return make_error("unsupported stream kind '" + std::string(kind) +
                      "': this replay serves trade, aggTrade and kline_<interval>");
  }
  return std::shared_ptr<const StreamMessages>(std::move(out));
}

}  // namespace sf::replay
