// GraphEngine in process: causality, gaps, cross edges on planted correlations, data quality.
#include "sf/graph/graph.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <random>
#include <set>

#include "sf/records/parser.h"
#include "sf/replay/dataset.h"
#include "sf/replay/testing/captures.h"

namespace sf::graph {
namespace {

namespace json = boost::json;
using records::Decimal;

const records::Interval k5m = *records::Interval::parse("5m");
const records::Interval k1m = *records::Interval::parse("1m");
constexpr int64_t kStart = 1717200000000;  // 2024-06-01

Decimal dec(double v) {
  return Decimal::parse(fmt::format("{:.8f}", v)).value();
}

records::Candle candle(const std::string& symbol, const records::Interval& iv, int64_t open_time,
                       double open, double close, double volume, int64_t n) {
  records::Candle c;
  c.symbol = symbol;
  c.interval = std::string(iv.name());
  c.open_time = open_time;
  c.close_time = iv.close_time(open_time);
  c.open = dec(open);
  c.close = dec(close);
  c.high = dec(std::max(open, close) * 1.001);
  c.low = dec(std::min(open, close) * 0.999);
  c.volume = dec(volume);
  c.number_of_trades = n;
  c.taker_buy_base_asset_volume = dec(volume * 0.5);
  return c;
}

// Closes from log returns.
std::vector<records::Candle> series(const std::string& symbol, const std::vector<double>& r,
                                    const records::Interval& iv = k5m) {
  std::vector<records::Candle> out;
  double price = 100;
  for (size_t i = 0; i < r.size(); ++i) {
    const double next = price * std::exp(r[i]);
    out.push_back(candle(symbol, iv, kStart + static_cast<int64_t>(i) * iv.fixed_ms(), price, next,
                         10 + static_cast<double>(i % 7), 50 + static_cast<int64_t>(i % 5)));
    price = next;
  }
  return out;
}

struct Built {
  std::map<std::string, json::object> docs;
  GraphCounts counts;
};

// Feeds candles (any symbols) and trades through the engine bar by bar, as the historical
// driver does: candles up to t, trades up to close(t), then build(t).
Built build(const std::vector<records::Candle>& candles,
            const std::vector<records::Trade>& trades = {}, GraphOptions o = {},
            const records::Interval& iv = k5m) {
  GraphEngine e(o, iv, "gnn_graph");
  Built b;
  auto sink = [&](store::Document d) { b.docs[d.key] = json::parse(d.json).as_object(); };
  std::vector<records::Candle> cs = candles;
  std::stable_sort(cs.begin(), cs.end(),
                   [](const auto& a, const auto& b) { return a.open_time < b.open_time; });
  size_t ci = 0, ti = 0;
  std::set<std::string> trade_symbols;
  for (const auto& t : trades) trade_symbols.insert(t.symbol);
  int64_t t = cs.front().open_time;
  const int64_t last = cs.back().open_time;
  for (; t <= last; t = iv.next_open(t)) {
    for (; ci < cs.size() && cs[ci].open_time <= t; ++ci) EXPECT_TRUE(e.add_candle(cs[ci]).ok());
    const int64_t close = iv.close_time(t);
    for (; ti < trades.size() && trades[ti].timestamp <= close; ++ti) {
      e.add_trade(trades[ti].symbol, tick_of(trades[ti]).value());
    }
    const bool more = ti < trades.size();
    e.build(
        t,
        [&](const std::string& s) {
          return TradeCoverage{trade_symbols.count(s) > 0, more};
        },
        sink);
  }
  e.finish(sink);
  b.counts = e.counts();
  return b;
}

std::vector<double> normal(int n, uint32_t seed, double sd = 0.002) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> d(0, sd);
  std::vector<double> out(n);
  for (auto& x : out) x = d(rng);
  return out;
}

TEST(GraphEngine, NodesFeaturesEdgesAndTargets) {
  const auto r = normal(400, 1);
  const auto b = build(series("BTCUSDT", r));
  ASSERT_EQ(b.docs.size(), 400u);
  EXPECT_EQ(b.counts.nodes, 400);
  const auto& n = b.docs.at(node_key("BTCUSDT", "5m", kStart + 300 * 300'000));
  EXPECT_EQ(n.at("kind").as_string(), "node");
  EXPECT_EQ(n.at("x").as_array().size(), feature_names().size());
  // ret_1 is the log return of the bar; y.r1 the next bar's, y.r3 the next three.
  EXPECT_NEAR(n.at("x").as_array()[0].to_number<double>(), r[300], 1e-6);
  EXPECT_NEAR(n.at("y").at("r1").to_number<double>(), r[301], 1e-6);
  EXPECT_NEAR(n.at("y").at("r3").to_number<double>(), r[301] + r[302] + r[303], 1e-6);
  // Temporal edges at the default lags (5m: 1, 2, 3, 6, 12, 24 and 288 = one day).
  std::set<int64_t> lags;
  for (const auto& e : n.at("in").as_array()) lags.insert(e.as_array()[2].as_int64());
  EXPECT_EQ(lags, (std::set<int64_t>{1, 2, 3, 6, 12, 24, 288}));
  // The last bars have no outcome yet.
  const auto& last = b.docs.at(node_key("BTCUSDT", "5m", kStart + 399 * 300'000));
  EXPECT_TRUE(last.at("y").at("r1").is_null());
  const auto& before = b.docs.at(node_key("BTCUSDT", "5m", kStart + 397 * 300'000));
  EXPECT_FALSE(before.at("y").at("r1").is_null());
  EXPECT_TRUE(before.at("y").at("r3").is_null());
}

TEST(GraphEngine, CausalFeaturesAndEdges) {
  auto r = normal(600, 2);
  const auto a = build(series("BTCUSDT", r));
  // Change everything after bar 400 (T = its close) and rebuild.
  for (size_t i = 401; i < r.size(); ++i) r[i] = -r[i] * 3 + 0.001;
  auto changed = series("BTCUSDT", r);
  for (size_t i = 401; i < changed.size(); ++i) {
    changed[i].volume = dec(1000 + static_cast<double>(i));
    changed[i].number_of_trades = 9999;
  }
  const auto b = build(changed);
  const int64_t T = k5m.close_time(kStart + 400 * 300'000);
  int compared = 0;
  for (const auto& [key, n] : a.docs) {
    if (n.at("kind") != "node") continue;
    const auto& m = b.docs.at(key);
    if (n.at("close_time").as_int64() <= T) {
      EXPECT_EQ(json::serialize(n.at("x")), json::serialize(m.at("x"))) << key;
      EXPECT_EQ(json::serialize(n.at("in")), json::serialize(m.at("in"))) << key;
      ++compared;
    }
    for (const auto& e : n.at("in").as_array()) {
      const auto& src = a.docs.at(std::string(e.as_array()[0].as_string()));
      EXPECT_LE(src.at("open_time").as_int64(), n.at("open_time").as_int64());
    }
  }
  EXPECT_EQ(compared, 401);
  // Labels are future returns: they do change before T.
  const auto key = node_key("BTCUSDT", "5m", kStart + 400 * 300'000);
  EXPECT_NE(json::serialize(a.docs.at(key).at("y")), json::serialize(b.docs.at(key).at("y")));
}

TEST(GraphEngine, HoleInTheCandlesGivesGapNodesAndNoEdgeAcrossIt) {
  auto cs = series("BTCUSDT", normal(200, 3));
  cs.erase(cs.begin() + 100, cs.begin() + 104);  // bars 100..103 missing
  GraphOptions o;
  o.lags = {1, 2, 3};
  const auto b = build(cs, {}, o);
  EXPECT_EQ(b.counts.gap_nodes, 4);
  for (int i = 100; i < 104; ++i) {
    const auto& g = b.docs.at(node_key("BTCUSDT", "5m", kStart + i * 300'000));
    EXPECT_TRUE(g.at("gap").as_bool());
    EXPECT_TRUE(g.at("in").as_array().empty());
    EXPECT_TRUE(g.at("c").is_null());
  }
  const int64_t hole_from = kStart + 100 * 300'000, hole_to = kStart + 103 * 300'000;
  int edges = 0;
  for (const auto& [key, n] : b.docs) {
    for (const auto& e : n.at("in").as_array()) {
      ++edges;
      const auto& src = b.docs.at(std::string(e.as_array()[0].as_string()));
      EXPECT_FALSE(src.at("gap").as_bool());
      const bool across =
          src.at("open_time").as_int64() < hole_from && n.at("open_time").as_int64() > hole_to;
      EXPECT_FALSE(across) << key << " <- " << e;
    }
  }
  EXPECT_GT(edges, 500);
  // No target across the hole either.
  EXPECT_TRUE(
      b.docs.at(node_key("BTCUSDT", "5m", kStart + 99 * 300'000)).at("y").at("r1").is_null());
}

TEST(GraphEngine, CrossEdgesFollowPlantedCorrelation) {
  const int n = 1500;
  const double rho = 0.8;
  const auto z1 = normal(n, 10), z2 = normal(n, 11), z3 = normal(n, 12);
  std::vector<double> a = z1, b(n), c = z3;
  for (int i = 0; i < n; ++i) b[i] = rho * z1[i] + std::sqrt(1 - rho * rho) * z2[i];
  std::vector<records::Candle> all;
  for (auto* s : {&a, &b, &c}) {
    const std::string sym = s == &a ? "AAAUSDT" : s == &b ? "BBBUSDT" : "CCCUSDT";
    auto cs = series(sym, *s);
    all.insert(all.end(), cs.begin(), cs.end());
  }
  GraphOptions o;
  o.lags = {1};
  const auto g = build(all, {}, o);
  int ab = 0;
  double sum = 0;
  for (const auto& [key, node] : g.docs) {
    if (node.at("kind") != "node") continue;
    const std::string target(node.at("symbol").as_string());
    for (const auto& e : node.at("in").as_array()) {
      if (e.as_array()[1] != "c") continue;
      const std::string src(e.as_array()[0].as_string());
      ASSERT_EQ(target.find("CCC"), std::string::npos) << key << " <- " << src;
      ASSERT_EQ(src.find("CCC"), std::string::npos) << key << " <- " << src;
      if (e.as_array()[2].as_int64() == 0) {
        ++ab;
        sum += e.as_array()[3].to_number<double>();
      }
    }
  }
  ASSERT_GT(ab, 2 * (n - 200));  // both directions, nearly every bar once the window is full
  EXPECT_NEAR(sum / ab, rho, 0.05);
}

// Candles built by the replay exchange from the real BTCUSDT trades, then the graph from both.
TEST(GraphEngine, RealTradesAgreeWithTheirCandles) {
  const auto* data = replay::testing::captures()->find("BTCUSDT");
  ASSERT_NE(data, nullptr);
  std::vector<records::Candle> cs;
  for (const auto& k : replay::klines_from_trades(data->trades, k1m)) cs.push_back(k.candle);
  const auto b = build(cs, data->trades, {}, k1m);
  EXPECT_EQ(b.counts.quality_mismatches, 0);
  // Every bar but the first (the capture starts inside it) and the last is checked.
  EXPECT_EQ(b.counts.bars_with_trades, static_cast<int64_t>(cs.size()) - 2);
  EXPECT_EQ(b.counts.trades_read, static_cast<int64_t>(data->trades.size()));
  const auto& mid = b.docs.at(node_key("BTCUSDT", "1m", cs[3].open_time));
  EXPECT_TRUE(mid.at("trades_complete").as_bool());
  EXPECT_EQ(mid.at("trades").as_int64(), cs[3].number_of_trades);
  const auto& x = mid.at("x").as_array();
  EXPECT_EQ(x.back().to_number<double>(), 0);  // has trade data
  EXPECT_NE(x[18].to_number<double>(), 0);     // order-flow imbalance from the trades

  // One trade removed from the middle: exactly one bar disagrees with its candle.
  auto trades = data->trades;
  trades.erase(trades.begin() + static_cast<long>(trades.size() / 2));
  EXPECT_EQ(build(cs, trades, {}, k1m).counts.quality_mismatches, 1);
}

TEST(GraphEngine, RefusesCandlesOfAnotherInterval) {
  GraphEngine e({}, k5m, "gnn_graph");
  EXPECT_FALSE(e.add_candle(candle("BTCUSDT", k1m, kStart, 1, 1, 1, 1)).ok());
  auto off_grid = candle("BTCUSDT", k5m, kStart + 60'000, 1, 1, 1, 1);
  EXPECT_FALSE(e.add_candle(off_grid).ok());
}

TEST(GraphEngine, ParsesStoredCandlesAndTrades) {
  auto c = parse_input(
      R"({"open_time":1717200000000,"open":67540.01,"high":67655,"low":67540,"close":67647.88,"volume":107.39824,"close_time":1717200299999,"quote_asset_volume":7260459.5479221,"number_of_trades":4390,"taker_buy_base_asset_volume":77.6757,"taker_buy_quote_asset_volume":5251430.8338553,"symbol":"BTCUSDT","interval":"5m","_key":"BTCUSDT:5m:1717200000000"})");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->kind, InputRecord::Kind::candle);
  EXPECT_EQ(c->candle.open.str(), "67540.01");
  EXPECT_EQ(c->candle.number_of_trades, 4390);
  EXPECT_EQ(c->key, "BTCUSDT:5m:1717200000000");
  auto t = parse_input(
      R"({"trade_id":3768765000,"price":61685.99,"quantity":0.00162,"timestamp":1723161540000,"is_buyer_maker":true,"symbol":"BTCUSDT","_key":"BTCUSDT:t:3768765000"})");
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->kind, InputRecord::Kind::trade);
  EXPECT_EQ(t->trade.quantity.str(), "0.00162");
  EXPECT_TRUE(t->trade.is_buyer_maker);
  // Exponent forms (ArangoDB re-serialises numbers) keep every digit.
  auto e = parse_input(
      R"({"open_time":1,"open":6.754001E4,"high":1.5e-7,"low":-2.5E1,"close":12E0,"volume":0,"symbol":"BTCUSDT","interval":"5m"})");
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->candle.open.str(), "67540.01");
  EXPECT_EQ(e->candle.high.str(), "0.00000015");
  EXPECT_EQ(e->candle.low.str(), "-25");
  EXPECT_EQ(e->candle.close.str(), "12");
  EXPECT_FALSE(parse_input(R"({"queue_id":"x"})").ok());
  EXPECT_FALSE(parse_input("[1,2]").ok());
  EXPECT_FALSE(parse_input(R"({"open_time":1,"open":"abc","symbol":"X"})").ok());
}

// A real multi-asset month: four USD-M futures symbols of June 2024 (data.binance.vision, 5m).
// Crypto majors move together at 5 minutes: every symbol gets same-bar cross edges, BTC and ETH
// most.
TEST(GraphEngine, RealFourSymbolMonthLinksTheMajors) {
  std::vector<records::Candle> all;
  for (const char* sym : {"BTCUSDT", "ETHUSDT", "DOGEUSDT", "XRPUSDT"}) {
    std::ifstream in(std::string(SF_DATA_DIR) + "/vision/futures-um/" + sym + "-5m-2024-06.csv");
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == 'o') continue;  // the header row
      all.push_back(records::parse_vision_kline_row(line, sym, "5m").value());
      ++n;
    }
    ASSERT_EQ(n, 8640) << sym;
  }
  const auto g = build(all);
  EXPECT_EQ(g.counts.nodes, 4 * 8640);
  EXPECT_EQ(g.counts.gap_nodes, 0);
  std::map<std::string, std::pair<int, double>> pairs;  // "TARGET<-SOURCE" -> (edges, sum corr)
  for (const auto& [key, n] : g.docs) {
    if (n.at("kind") != "node") continue;
    for (const auto& e : n.at("in").as_array()) {
      if (e.as_array()[1] != "c" || e.as_array()[2].as_int64() != 0) continue;
      const std::string src(e.as_array()[0].as_string());
      const std::string pair =
          std::string(n.at("symbol").as_string()) + "<-" + src.substr(2, src.find(':', 2) - 2);
      pairs[pair].first++;
      pairs[pair].second += e.as_array()[3].to_number<double>();
    }
  }
  for (const char* s : {"BTCUSDT", "ETHUSDT", "DOGEUSDT", "XRPUSDT"}) {
    int into = 0;
    for (const auto& [p, v] : pairs) into += p.rfind(std::string(s) + "<-", 0) == 0 ? v.first : 0;
    EXPECT_GT(into, 8000) << s << " gets few cross edges";
  }
  const auto& be = pairs["BTCUSDT<-ETHUSDT"];
  ASSERT_GT(be.first, 8000);
  EXPECT_GT(be.second / be.first, 0.6);
  for (const auto& [p, v] : pairs)
    std::printf("%s: %d edges, mean corr %.3f\n", p.c_str(), v.first, v.second / v.first);
}

}  // namespace
}  // namespace sf::graph
