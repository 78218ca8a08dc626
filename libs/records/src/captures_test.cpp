// Every trade, aggTrade and kline message of the real captures in shared/data/binance, parsed and
// written, checked field by field against an independent reading of the same text (nlohmann-json as
// the oracle, decimals trimmed by a separate routine), so a digit lost anywhere fails the test.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "sf/records/parser.h"
#include "sf/records/writer.h"

namespace sf::records {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kData = SF_DATA_DIR;

std::string trim(std::string s) {
  if (s.find('.') == std::string::npos) return s;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

std::string expected_trade(const json& d) {
  std::ostringstream o;
  o << "{\"trade_id\":" << d["t"].get<int64_t>() << ",\"price\":" << trim(d["p"])
    << ",\"quantity\":" << trim(d["q"]) << ",\"timestamp\":" << d["T"].get<int64_t>()
    << ",\"is_buyer_maker\":" << (d["m"].get<bool>() ? "true" : "false") << ",\"symbol\":\""
    << d["s"].get<std::string>() << "\",\"_key\":\"" << d["s"].get<std::string>()
    << ":t:" << d["t"].get<int64_t>() << "\"}";
  return o.str();
}

std::string expected_candle(const json& k, bool closed) {
  std::ostringstream o;
  o << "{\"open_time\":" << k["t"].get<int64_t>() << ",\"open\":" << trim(k["o"])
    << ",\"high\":" << trim(k["h"]) << ",\"low\":" << trim(k["l"]) << ",\"close\":" << trim(k["c"])
    << ",\"volume\":" << trim(k["v"]) << ",\"close_time\":" << k["T"].get<int64_t>()
    << ",\"quote_asset_volume\":" << trim(k["q"])
    << ",\"number_of_trades\":" << k["n"].get<int64_t>()
    << ",\"taker_buy_base_asset_volume\":" << trim(k["V"])
    << ",\"taker_buy_quote_asset_volume\":" << trim(k["Q"]) << ",\"symbol\":\""
    << k["s"].get<std::string>() << "\",\"interval\":\"" << k["i"].get<std::string>() << "\""
    << (closed ? "" : ",\"closed\":false") << ",\"_key\":\"" << k["s"].get<std::string>() << ":"
    << k["i"].get<std::string>() << ":" << k["t"].get<int64_t>() << "\"}";
  return o.str();
}

struct Counts {
  int trades = 0, klines = 0, agg = 0;
};

void check_message(BinanceParser& p, const std::string& text, Counts& n, const std::string& where) {
  json j = json::parse(text);
  const json& d = j.contains("data") ? j["data"] : j;
  const std::string e = d["e"];
  auto msg = p.ws_message(text);
  ASSERT_TRUE(msg.ok()) << where << ": " << msg.error().message;
  static BinanceParser general(BinanceParser::FastPath::off);
  auto slow = general.ws_message(text);
  ASSERT_TRUE(slow.ok()) << where << ": " << slow.error().message;
  ASSERT_EQ(slow->index(), msg->index()) << where;
  if (auto* t = std::get_if<Trade>(&*msg)) {
    EXPECT_EQ(*t, std::get<Trade>(*slow)) << where;
  }
  if (auto* c = std::get_if<Candle>(&*msg)) {
    EXPECT_EQ(*c, std::get<Candle>(*slow)) << where;
  }
  if (auto* a = std::get_if<AggTrade>(&*msg)) {
    EXPECT_EQ(*a, std::get<AggTrade>(*slow)) << where;
  }
  if (e == "trade") {
    ASSERT_TRUE(std::holds_alternative<Trade>(*msg)) << where;
    EXPECT_EQ(to_json(std::get<Trade>(*msg)), expected_trade(d)) << where;
    ++n.trades;
  } else if (e == "kline") {
    ASSERT_TRUE(std::holds_alternative<Candle>(*msg)) << where;
    const auto& c = std::get<Candle>(*msg);
    EXPECT_EQ(c.closed, d["k"]["x"].get<bool>()) << where;
    EXPECT_EQ(to_json(c), expected_candle(d["k"], c.closed)) << where;
    ++n.klines;
  } else if (e == "aggTrade") {
    ASSERT_TRUE(std::holds_alternative<AggTrade>(*msg)) << where;
    const auto& a = std::get<AggTrade>(*msg);
    EXPECT_EQ(a.agg_id, d["a"].get<int64_t>()) << where;
    EXPECT_EQ(a.first_trade_id, d["f"].get<int64_t>()) << where;
    EXPECT_EQ(a.last_trade_id, d["l"].get<int64_t>()) << where;
    EXPECT_EQ(a.price.str(), trim(d["p"])) << where;
    EXPECT_EQ(a.quantity.str(), trim(d["q"])) << where;
    EXPECT_EQ(a.timestamp, d["T"].get<int64_t>()) << where;
    EXPECT_EQ(a.is_buyer_maker, d["m"].get<bool>()) << where;
    ++n.agg;
  } else {
    FAIL() << where << ": unexpected event " << e;
  }
}

TEST(Captures, EveryWebSocketMessage) {
  if (!fs::exists(kData / "ws")) GTEST_SKIP() << "no captures at " << kData;
  BinanceParser p;
  Counts n;
  int files = 0;
  for (const auto& entry : fs::directory_iterator(kData / "ws")) {
    const auto path = entry.path();
    std::ifstream in(path);
    if (path.extension() == ".json") {  // one pretty-printed message
      std::stringstream ss;
      ss << in.rdbuf();
      check_message(p, ss.str(), n, path.filename().string());
    } else {
      std::string line;
      int lineno = 0;
      while (std::getline(in, line)) {
        ++lineno;
        if (line.empty()) continue;
        check_message(p, line, n, path.filename().string() + ":" + std::to_string(lineno));
        if (HasFatalFailure()) return;
      }
    }
    ++files;
  }
  EXPECT_EQ(files, 19);
  // Line counts of SOURCES.md: 9,757 + 10,147 + 6,106 + 8,409 + 21,313 + 1 trades.
  EXPECT_EQ(n.trades, 9757 + 10147 + 6106 + 8409 + 21313 + 1);
  EXPECT_EQ(n.klines, 118 + 17 + 20 + 5 + 67);
  EXPECT_EQ(n.agg, 1910 + 1240 + 28 + 24 + 188 + 574 + 91 + 1);
}

TEST(Captures, RestSamples) {
  if (!fs::exists(kData / "rest")) GTEST_SKIP() << "no captures at " << kData;
  auto read = [](const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  BinanceParser p;
  {
    const std::string body = read(kData / "rest/api_v3_klines_BTCUSDT_1m_2021-10-22_nautilus.json");
    auto rows = p.rest_klines(body, "BTCUSDT", "1m", 1634944320000);
    ASSERT_TRUE(rows.ok()) << rows.error().message;
    json j = json::parse(body);
    ASSERT_EQ(rows->size(), j.size());
    ASSERT_EQ(rows->size(), 10u);
    for (size_t i = 0; i < j.size(); ++i) {
      const json& r = j[i];
      json k = {{"t", r[0]},  {"o", r[1]},      {"h", r[2]}, {"l", r[3]}, {"c", r[4]},
                {"v", r[5]},  {"T", r[6]},      {"q", r[7]}, {"n", r[8]}, {"V", r[9]},
                {"Q", r[10]}, {"s", "BTCUSDT"}, {"i", "1m"}};
      EXPECT_EQ(to_json((*rows)[i]), expected_candle(k, (*rows)[i].closed)) << i;
    }
    EXPECT_TRUE((*rows)[8].closed);
    EXPECT_FALSE((*rows)[9].closed) << "the last kline was still open when captured";
  }
  for (const char* name : {"rest/api_v3_trades_BTCUSDT_2021-10-22_nautilus.json",
                           "rest/api_v3_historicalTrades_BTCUSDT_2021-10-22_nautilus.json"}) {
    const std::string body = read(kData / name);
    auto rows = p.rest_trades(body, "BTCUSDT");
    ASSERT_TRUE(rows.ok()) << rows.error().message;
    json j = json::parse(body);
    ASSERT_EQ(rows->size(), 10u);
    for (size_t i = 0; i < j.size(); ++i) {
      json d = {{"t", j[i]["id"]},   {"p", j[i]["price"]},        {"q", j[i]["qty"]},
                {"T", j[i]["time"]}, {"m", j[i]["isBuyerMaker"]}, {"s", "BTCUSDT"}};
      EXPECT_EQ(to_json((*rows)[i]), expected_trade(d)) << name << " " << i;
    }
  }
  {
    const std::string body = read(kData / "rest/api_v3_aggTrades_BTCUSDT_2021-10-22_nautilus.json");
    auto rows = p.rest_agg_trades(body);
    ASSERT_TRUE(rows.ok()) << rows.error().message;
    json j = json::parse(body);
    ASSERT_EQ(rows->size(), 10u);
    for (size_t i = 0; i < j.size(); ++i) {
      EXPECT_EQ((*rows)[i].agg_id, j[i]["a"].get<int64_t>());
      EXPECT_EQ((*rows)[i].price.str(), trim(j[i]["p"]));
      EXPECT_EQ((*rows)[i].quantity.str(), trim(j[i]["q"]));
      EXPECT_EQ((*rows)[i].first_trade_id, j[i]["f"].get<int64_t>());
      EXPECT_EQ((*rows)[i].last_trade_id, j[i]["l"].get<int64_t>());
      EXPECT_EQ((*rows)[i].timestamp, j[i]["T"].get<int64_t>());
      EXPECT_EQ((*rows)[i].is_buyer_maker, j[i]["m"].get<bool>());
    }
  }
}

TEST(Captures, VisionCsvDays) {
  if (!fs::exists(kData / "vision")) GTEST_SKIP() << "no captures at " << kData;
  int rows = 0;
  int64_t expected_open = 1637971200000;
  for (const char* name : {"vision/ADABTC-1m-2021-11-27.csv", "vision/ADABTC-1m-2021-11-28.csv"}) {
    std::ifstream in(kData / name);
    std::string line;
    while (std::getline(in, line)) {
      auto c = parse_vision_kline_row(line, "ADABTC", "1m");
      ASSERT_TRUE(c.ok()) << name << ": " << c.error().message;
      std::vector<std::string> col;
      std::stringstream ss(line);
      for (std::string cell; std::getline(ss, cell, ',');) col.push_back(cell);
      ASSERT_EQ(col.size(), 12u);
      json k = {{"t", std::stoll(col[0])},
                {"o", col[1]},
                {"h", col[2]},
                {"l", col[3]},
                {"c", col[4]},
                {"v", col[5]},
                {"T", std::stoll(col[6])},
                {"q", col[7]},
                {"n", std::stoll(col[8])},
                {"V", col[9]},
                {"Q", col[10]},
                {"s", "ADABTC"},
                {"i", "1m"}};
      EXPECT_EQ(to_json(*c), expected_candle(k, true));
      EXPECT_EQ(c->open_time, expected_open);
      expected_open += 60'000;
      ++rows;
    }
  }
  EXPECT_EQ(rows, 2880);
}

}  // namespace
}  // namespace sf::records

namespace sf::records {
namespace {

TEST(VisionTrades, RowsInMillisecondsAndMicrosecondsParseTheSame) {
  // The real 2017 file's first row, and the same trade as a 2025 file (microseconds) would say it.
  auto ms = parse_vision_trade_row(
      "0,4261.48000000,0.10000000,426.14800000,1502942428322,True,True", "BTCUSDT");
  auto us = parse_vision_trade_row(
      "0,4261.48000000,0.10000000,426.14800000,1502942428322000,True,True\r\n", "BTCUSDT");
  ASSERT_TRUE(ms.ok()) << ms.error().message;
  ASSERT_TRUE(us.ok()) << us.error().message;
  EXPECT_EQ(*ms, *us);
  EXPECT_EQ(ms->timestamp, 1502942428322);
  EXPECT_TRUE(ms->is_buyer_maker);
  EXPECT_EQ(ms->price.str(), "4261.48");
  EXPECT_FALSE(parse_vision_trade_row("1,4261.48,0.1,1,1502942432285,maybe,True", "X").ok());
  EXPECT_FALSE(parse_vision_trade_row("x,1,1,1,1,True,True", "X").ok());
  EXPECT_FALSE(parse_vision_trade_row("1,2,3", "X").ok());
  EXPECT_TRUE(is_vision_header("id,price,qty,quote_qty,time,is_buyer_maker,is_best_match"));
  EXPECT_FALSE(is_vision_header("0,4261.48000000"));
  // Every row of the real file parses, ids contiguous.
  std::ifstream in(std::string(SF_DATA_DIR) + "/vision/BTCUSDT-trades-2017-08-17.csv");
  int64_t next = 0;
  for (std::string line; std::getline(in, line);) {
    auto t = parse_vision_trade_row(line, "BTCUSDT");
    ASSERT_TRUE(t.ok()) << t.error().message;
    ASSERT_EQ(t->trade_id, next++);
  }
  EXPECT_GT(next, 1000);
}

}  // namespace
}  // namespace sf::records
