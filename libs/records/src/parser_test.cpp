#include "sf/records/parser.h"

#include <gtest/gtest.h>

#include "sf/records/writer.h"

namespace sf::records {
namespace {

constexpr std::string_view kTrade =
    R"({"stream":"btcusdt@trade","data":{"e":"trade","E":1723161601438,"s":"BTCUSDT","t":3735693016,"p":"61685.99000000","q":"0.00017000","T":1723161601437,"m":true,"M":true}})";
constexpr std::string_view kKlineClosed =
    R"({"e":"kline","E":1617566640100,"s":"BTCUSDT","k":{"t":1617566580000,"T":1617566639999,"s":"BTCUSDT","i":"1m","f":745522670,"L":745523670,"o":"58000.01000000","c":"57999.99000000","h":"58010.00000000","l":"57990.00000000","v":"12.50000000","n":1001,"x":true,"q":"725000.00000000","V":"6.25000000","Q":"362500.00000000","B":"0"}})";

TEST(BinanceParser, WsTradeFromCombinedEnvelope) {
  BinanceParser p;
  auto t = p.ws_trade(kTrade);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->trade_id, 3735693016);
  EXPECT_EQ(t->price.str(), "61685.99");
  EXPECT_EQ(t->quantity.str(), "0.00017");
  EXPECT_EQ(t->timestamp, 1723161601437);
  EXPECT_TRUE(t->is_buyer_maker);
  EXPECT_EQ(t->symbol, "BTCUSDT");
  EXPECT_EQ(
      to_json(*t),
      R"({"trade_id":3735693016,"price":61685.99,"quantity":0.00017,"timestamp":1723161601437,)"
      R"("is_buyer_maker":true,"symbol":"BTCUSDT","_key":"BTCUSDT:t:3735693016"})");
}

TEST(BinanceParser, RawAndCombinedFramesGiveTheSameRecord) {
  BinanceParser p;
  std::string_view inner = kTrade.substr(kTrade.find("\"data\":") + 7);
  inner.remove_suffix(1);
  EXPECT_EQ(p.ws_trade(inner).value(), p.ws_trade(kTrade).value());
}

TEST(BinanceParser, WsKlineClosed) {
  BinanceParser p;
  auto c = p.ws_kline(kKlineClosed);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->closed);
  EXPECT_EQ(c->interval, "1m");
  EXPECT_EQ(
      to_json(*c),
      R"({"open_time":1617566580000,"open":58000.01,"high":58010,"low":57990,"close":57999.99,)"
      R"("volume":12.5,"close_time":1617566639999,"quote_asset_volume":725000,)"
      R"("number_of_trades":1001,"taker_buy_base_asset_volume":6.25,)"
      R"("taker_buy_quote_asset_volume":362500,"symbol":"BTCUSDT","interval":"1m",)"
      R"("_key":"BTCUSDT:1m:1617566580000"})");
  Candle live = *c;
  live.closed = false;
  EXPECT_NE(to_json(live).find(R"("closed":false,"_key")"), std::string::npos);
}

TEST(BinanceParser, OtherFramesAreRecognisedOrRejected) {
  BinanceParser p;
  auto shutdown = p.ws_message(R"({"e":"serverShutdown","E":1700000000000})");
  ASSERT_TRUE(shutdown.ok());
  EXPECT_EQ(std::get<ServerShutdown>(*shutdown).event_time, 1700000000000);
  auto ack = p.ws_message(R"({"result":null,"id":1})");
  ASSERT_TRUE(ack.ok());
  EXPECT_TRUE(std::holds_alternative<Ignored>(*ack));
  EXPECT_FALSE(p.ws_message("garbage\x01").ok());
  EXPECT_FALSE(p.ws_message(R"({"e":"trade","s":"BTCUSDT","t":1,"p":"1","q":"1","T":1})").ok())
      << "a trade without 'm' must be rejected, not defaulted";
  auto bad_price =
      p.ws_message(R"({"e":"trade","s":"X","t":1,"p":"1.2.3","q":"1","T":1,"m":true})");
  ASSERT_FALSE(bad_price.ok());
  EXPECT_NE(bad_price.error().message.find("'p'"), std::string::npos) << bad_price.error().message;
  EXPECT_FALSE(p.ws_trade(kKlineClosed).ok());
  EXPECT_FALSE(p.ws_message(std::string_view(kTrade).substr(0, 60)).ok()) << "truncated frame";
}

TEST(BinanceParser, FastPathAndGeneralPathAgreeOnOddShapes) {
  BinanceParser fast, general(BinanceParser::FastPath::off);
  const std::vector<std::string> frames = {
      std::string(kTrade),
      R"({ "e" : "trade", "E":1, "s":"X1", "t":5, "p":"1.50", "q":"2", "T":3, "m":false, "M":true })",
      R"({"e":"trade","s":"BTCUSDT","t":1,"p":"1","q":"1","T":1,"m":true,"x":[1,2]})",
      R"({"e":"trade","s":"BTCUSDT","t":1,"p":"1","q":"1","T":1,"m":true})",
      R"({"e":"trade","s":"BTCUSDT","t":1,"p":"1","q":"1","T":1,"m":true} trailing)",
      R"({"e":"trade","s":"BTCUSDT","t":1.5,"p":"1","q":"1","T":1,"m":true})",
      R"({"e":"trade","s":"btc usdt","t":1,"p":"1","q":"1","T":1,"m":true})",
      R"({"result":null,"id":1})",
      // Found by the fuzzer (tools/fuzz.sh): a key with an invalid UTF-8 byte was accepted by the
      // fast path and rejected by simdjson.
      "{\"stream\":\"x@kline_1m\",\"data\":{\"\xb5\":\"kline\",\"E\":1}}",
      "",
      "{",
      R"({"e":"kline","E":1,"s":"A1","k":{"t":0,"T":59999,"s":"A1","i":"1m","o":"1","c":"1","h":"1","l":"1","v":"0","n":0,"x":true,"q":"0","V":"0","Q":"0","B":"0"}})",
  };
  for (const auto& f : frames) {
    auto a = fast.ws_message(f);
    auto b = general.ws_message(f);
    ASSERT_EQ(a.ok(), b.ok()) << f;
    if (!a.ok()) continue;
    ASSERT_EQ(a->index(), b->index()) << f;
    if (auto* t = std::get_if<Trade>(&*a)) {
      EXPECT_EQ(*t, std::get<Trade>(*b)) << f;
    }
    if (auto* c = std::get_if<Candle>(&*a)) {
      EXPECT_EQ(*c, std::get<Candle>(*b)) << f;
    }
  }
}

TEST(BinanceParser, RestBodies) {
  BinanceParser p;
  auto klines = p.rest_klines(
      R"([[1634943780000,"60685.22000000","60729.84000000","60670.90000000","60719.27000000","21.63272000",1634943839999,"1313200.01340410",617,"12.28492000","745719.41022840","0"]])",
      "BTCUSDT", "1m", 1634943840000);
  ASSERT_TRUE(klines.ok()) << klines.error().message;
  ASSERT_EQ(klines->size(), 1u);
  EXPECT_EQ((*klines)[0].quote_asset_volume.str(), "1313200.0134041");
  EXPECT_TRUE((*klines)[0].closed);
  auto open =
      p.rest_klines(R"([[1634943780000,"1","1","1","1","1",1634943839999,"1",1,"1","1","0"]])",
                    "BTCUSDT", "1m", 1634943839999);
  EXPECT_FALSE((*open)[0].closed) << "a kline whose close time has not passed is still open";
  EXPECT_FALSE(p.rest_klines(R"([[1634943780000,"1"]])", "BTCUSDT", "1m", 0).ok());

  auto trades = p.rest_trades(
      R"([{"id":1111471896,"price":"60814.78000000","qty":"0.00034000","quoteQty":"20.67702520","time":1634943219887,"isBuyerMaker":true,"isBestMatch":true}])",
      "BTCUSDT");
  ASSERT_TRUE(trades.ok()) << trades.error().message;
  EXPECT_EQ((*trades)[0].trade_id, 1111471896);
  EXPECT_EQ((*trades)[0].price.str(), "60814.78");

  auto aggs = p.rest_agg_trades(
      R"([{"a":966492862,"p":"60759.60000000","q":"0.00841000","f":1111480471,"l":1111480472,"T":1634944096633,"m":false,"M":true}])");
  ASSERT_TRUE(aggs.ok()) << aggs.error().message;
  EXPECT_EQ((*aggs)[0].first_trade_id, 1111480471);
  EXPECT_EQ((*aggs)[0].last_trade_id, 1111480472);

  auto err = p.rest_error(R"({"code":-1121,"msg":"Invalid symbol."})");
  ASSERT_TRUE(err.ok());
  EXPECT_EQ(err->code, -1121);
  EXPECT_EQ(err->msg, "Invalid symbol.");
  EXPECT_FALSE(p.rest_error("[]").ok());
}

TEST(VisionCsv, MillisecondAndMicrosecondRows) {
  auto ms = parse_vision_kline_row(
      "1637971200000,0.00002853,0.00002854,0.00002851,0.00002854,36304.20000000,1637971259999,"
      "1.03547608,79,19523.00000000,0.55694227,0\n",
      "ADABTC", "1m");
  ASSERT_TRUE(ms.ok()) << ms.error().message;
  EXPECT_EQ(ms->open_time, 1637971200000);
  EXPECT_EQ(ms->close_time, 1637971259999);
  EXPECT_EQ(ms->volume.str(), "36304.2");
  auto us = parse_vision_kline_row(
      "1735689600000000,93576.00000000,93610.93000000,93537.50000000,93610.93000000,8.21827000,"
      "1735689659999999,768978.59808000,2245,6.11797000,572409.60401100,0\r\n",
      "BTCUSDT", "1m");
  ASSERT_TRUE(us.ok()) << us.error().message;
  EXPECT_EQ(us->open_time, 1735689600000);
  EXPECT_EQ(us->close_time, 1735689659999);
  EXPECT_FALSE(parse_vision_kline_row("1,2,3", "X", "1m").ok());
  EXPECT_FALSE(parse_vision_kline_row("a,1,1,1,1,1,1,1,1,1,1,0", "X", "1m").ok());
}

}  // namespace
}  // namespace sf::records
