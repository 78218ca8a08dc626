#include "sf/viz/data.h"

#include <boost/json.hpp>
#include <cmath>
#include <deque>
#include <map>
#include <set>

#include "sf/graph/graph.h"
#include "sf/graph/indicators.h"
#include "sf/records/interval.h"

namespace sf::viz {
namespace {

namespace json = boost::json;

struct Bar {
  int64_t t = 0;
  std::string o, h, l, c, v;  // decimal text as stored
  double hd = 0, ld = 0, cd = 0, vd = 0;
};

std::string envelope(const std::string& message, const json::value& data) {
  json::object o{{"status", "success"}, {"message", message}, {"data", data}};
  return json::serialize(o);
}

std::string text_of(const json::value& v) {
  if (v.is_double() || v.is_int64() || v.is_uint64()) return json::serialize(v);
  if (v.is_string()) return std::string(v.as_string());
  return "";
}

// Candles from a candle collection, or from the nodes of a graph collection.
Result<std::vector<Bar>> read_bars(store::Store& s, const std::string& collection,
                                   const std::string& symbol, const Range& r) {
  std::vector<std::string> docs;
  const bool whole = r.from_ms == 0 && r.to_ms == INT64_MAX;
  if (whole) {
    // The newest `limit` of this symbol: the store's find is newest first.
    for (const char* kind : {"", "node"}) {
      store::Query q;
      q.equals["symbol"] = symbol;
      if (*kind) q.equals["kind"] = kind;
      q.limit = r.limit;
      auto page = s.find(collection, q);
      if (!page) return page.error();
      if (page->documents.empty()) continue;
      docs.assign(page->documents.rbegin(), page->documents.rend());
      // A graph collection also holds metrics and predictions of the symbol: take its nodes.
      if (!*kind && docs.front().find("\"kind\"") != std::string::npos) continue;
      break;
    }
  } else {
    std::deque<std::string> last;
    int64_t from = r.from_ms;
    for (;;) {
      auto page = s.range_by_time(collection, from, r.to_ms, 5000);
      if (!page) return page.error();
      for (auto& d : *page) {
        last.push_back(std::move(d));
        if (static_cast<int64_t>(last.size()) > r.limit * 4 + 5000) last.pop_front();
      }
      if (page->size() < 5000) break;
      auto v = json::parse(last.back());
      const auto* t = v.as_object().if_contains("open_time");
      if (!t || !t->is_int64()) break;
      from = t->as_int64() + 1;
    }
    docs.assign(last.begin(), last.end());
  }
  std::vector<Bar> out;
  for (const auto& d : docs) {
    auto rec = graph::parse_input(d);
    if (rec && rec->kind == graph::InputRecord::Kind::candle) {
      if (rec->candle.symbol != symbol) continue;
      const auto& c = rec->candle;
      Bar b{c.open_time, c.open.str(), c.high.str(), c.low.str(), c.close.str(), c.volume.str()};
      b.hd = std::strtod(b.h.c_str(), nullptr);
      b.ld = std::strtod(b.l.c_str(), nullptr);
      b.cd = std::strtod(b.c.c_str(), nullptr);
      b.vd = std::strtod(b.v.c_str(), nullptr);
      out.push_back(std::move(b));
      continue;
    }
    json::error_code ec;
    auto v = json::parse(d, ec);
    if (ec || !v.is_object()) continue;
    const auto& o = v.as_object();
    if (o.if_contains("kind") == nullptr || o.at("kind") != "node" ||
        o.at("symbol") != json::value(symbol))
      continue;
    if (o.at("gap").as_bool()) continue;
    Bar b{o.at("open_time").as_int64(), text_of(o.at("o")), text_of(o.at("h")),
          text_of(o.at("l")),           text_of(o.at("c")), text_of(o.at("v"))};
    b.hd = o.at("h").to_number<double>();
    b.ld = o.at("l").to_number<double>();
    b.cd = o.at("c").to_number<double>();
    b.vd = o.at("v").to_number<double>();
    out.push_back(std::move(b));
  }
  if (static_cast<int64_t>(out.size()) > r.limit) out.erase(out.begin(), out.end() - r.limit);
  return out;
}

json::value num_or_null(double v) {
  return std::isfinite(v) ? json::value(v) : json::value(nullptr);
}

}  // namespace

std::string error_json(const std::string& message) {
  json::object o{{"status", "error"}, {"message", message}, {"data", json::object{}}};
  return json::serialize(o);
}

Result<std::string> candles_json(store::Store& s, const std::string& collection,
                                 const std::string& symbol, const Range& r) {
  auto bars = read_bars(s, collection, symbol, r);
  if (!bars) return bars.error();
  // Written by hand: the decimals go out digit for digit, and 10,000 candles stay fast.
  std::string data = "[";
  for (size_t i = 0; i < bars->size(); ++i) {
    const auto& b = (*bars)[i];
    if (i) data += ',';
    data += "{\"time\":" + std::to_string(b.t / 1000) + ",\"open_time\":" + std::to_string(b.t) +
            ",\"open\":" + b.o + ",\"high\":" + b.h + ",\"low\":" + b.l + ",\"close\":" + b.c +
            ",\"volume\":" + b.v + "}";
  }
  data += "]";
  return "{\"status\":\"success\",\"message\":\"" + std::to_string(bars->size()) + " candles of " +
         symbol + " in " + collection + "\",\"data\":" + data + "}";
}

Result<std::string> indicators_json(store::Store& s, const std::string& collection,
                                    const std::string& symbol, const Range& r) {
  auto bars = read_bars(s, collection, symbol, r);
  if (!bars) return bars.error();
  std::vector<double> h, l, c, v;
  std::vector<long long> t;
  for (const auto& b : *bars) {
    h.push_back(b.hd);
    l.push_back(b.ld);
    c.push_back(b.cd);
    v.push_back(b.vd);
    t.push_back(b.t);
  }
  const auto rsi = graph::rsi(c, 14), sma = graph::sma(c, 20), ema = graph::ema(c, 20);
  const auto bb = graph::bollinger(c, 20, 2.0);
  const auto vw = graph::vwap(h, l, c, v, t);
  json::array rows;
  for (size_t i = 0; i < c.size(); ++i) {
    rows.push_back(json::object{{"time", t[i] / 1000},
                                {"open_time", t[i]},
                                {"close", c[i]},
                                {"rsi14", num_or_null(rsi[i])},
                                {"sma20", num_or_null(sma[i])},
                                {"ema20", num_or_null(ema[i])},
                                {"bb_upper", num_or_null(bb.upper[i])},
                                {"bb_lower", num_or_null(bb.lower[i])},
                                {"vwap", num_or_null(vw[i])}});
  }
  return envelope(std::to_string(c.size()) + " bars of " + symbol, rows);
}

Result<std::string> rsi_json(store::Store& s, const std::string& collection,
                             const std::string& symbol, const Range& r) {
  auto bars = read_bars(s, collection, symbol, r);
  if (!bars) return bars.error();
  std::vector<double> c;
  for (const auto& b : *bars) c.push_back(b.cd);
  const auto rsi = graph::rsi(c, 14);
  json::array rows;
  for (size_t i = 0; i < c.size(); ++i) {
    rows.push_back(json::object{{"open_time", (*bars)[i].t}, {"rsi", num_or_null(rsi[i])}});
  }
  return envelope("RSI-14 (Wilder) of " + symbol, rows);
}

Result<std::string> heatmap_json(store::Store& s, const std::string& collection,
                                 const std::string& symbol, const Range& r, int64_t bucket_ms,
                                 int bins) {
  if (bucket_ms <= 0 || bins <= 0 || bins > 500) {
    return make_error("bucket_ms must be > 0 and bins between 1 and 500");
  }
  struct Tr {
    int64_t t;
    double p, q;
    bool buy;
  };
  std::vector<Tr> trades;
  int64_t from = r.from_ms;
  const int64_t cap = 2'000'000;
  std::set<std::string> at_edge;  // keys of the page's last millisecond, read again next page
  while (static_cast<int64_t>(trades.size()) < cap) {
    auto page = s.range_by_time(collection, from, r.to_ms, 5000);
    if (!page) return page.error();
    int64_t last = from;
    std::set<std::string> edge;
    size_t fresh = 0;
    for (const auto& d : *page) {
      auto rec = graph::parse_input(d);
      if (!rec || rec->kind != graph::InputRecord::Kind::trade) continue;
      if (rec->trade.timestamp == from && at_edge.count(rec->key)) continue;
      ++fresh;
      if (rec->trade.timestamp > last) {
        last = rec->trade.timestamp;
        edge.clear();
      }
      if (rec->trade.timestamp == last) edge.insert(rec->key);
      if (rec->trade.symbol != symbol) continue;
      trades.push_back({rec->trade.timestamp, std::strtod(rec->trade.price.str().c_str(), nullptr),
                        std::strtod(rec->trade.quantity.str().c_str(), nullptr),
                        !rec->trade.is_buyer_maker});
    }
    if (page->size() < 5000 || fresh == 0) break;
    if (last != from) at_edge.clear();
    at_edge.insert(edge.begin(), edge.end());
    from = last;
  }
  if (trades.empty()) return make_error("no trades of " + symbol + " in " + collection);
  double lo = trades[0].p, hi = trades[0].p;
  for (const auto& t : trades) {
    lo = std::min(lo, t.p);
    hi = std::max(hi, t.p);
  }
  const double width = hi > lo ? (hi - lo) / bins : 1;
  std::map<int64_t, std::vector<std::array<double, 2>>> cells;
  for (const auto& t : trades) {
    auto& row = cells[t.t / bucket_ms * bucket_ms];
    if (row.empty()) row.assign(bins, {0, 0});
    const int b = std::min(bins - 1, static_cast<int>((t.p - lo) / width));
    row[b][t.buy ? 0 : 1] += t.q;
  }
  json::array buckets;
  for (const auto& [t, row] : cells) {
    json::array buy, sell;
    for (const auto& c : row) {
      buy.push_back(c[0]);
      sell.push_back(c[1]);
    }
    buckets.push_back(json::object{{"time_ms", t}, {"buy", buy}, {"sell", sell}});
  }
  json::object data{{"price_low", lo},
                    {"price_high", hi},
                    {"bins", bins},
                    {"bucket_ms", bucket_ms},
                    {"trades", static_cast<int64_t>(trades.size())},
                    {"buckets", buckets}};
  return envelope(std::to_string(trades.size()) + " trades of " + symbol, data);
}

Result<std::string> graph_json(store::Store& s, const std::string& collection,
                               const std::string& symbol, int64_t bars) {
  auto meta = s.get(collection, "meta");
  if (!meta) return meta.error();
  if (!*meta) return make_error("collection " + collection + " is not a graph (no meta document)");
  store::Query q;
  q.equals["kind"] = "node";
  if (!symbol.empty()) q.equals["symbol"] = symbol;
  q.limit = 1;
  auto newest = s.find(collection, q);
  if (!newest) return newest.error();
  json::array nodes, edges;
  if (!newest->documents.empty()) {
    const auto mo = json::parse(**meta).as_object();
    const auto iv = records::Interval::parse(std::string(mo.at("interval").as_string()));
    const int64_t last = json::parse(newest->documents.front()).at("open_time").as_int64();
    const int64_t from = last - (bars - 1) * (iv ? iv->fixed_ms() : 60'000);
    auto docs = s.range_by_time(collection, from, last, 100'000);
    if (!docs) return docs.error();
    std::set<std::string> keys;
    std::vector<json::object> kept;
    for (const auto& d : *docs) {
      auto o = json::parse(d).as_object();
      if (o.at("kind") != "node" || (!symbol.empty() && o.at("symbol") != json::value(symbol)))
        continue;
      keys.insert(std::string(o.at("_key").as_string()));
      kept.push_back(std::move(o));
    }
    for (auto& o : kept) {
      const std::string key(o.at("_key").as_string());
      for (const auto& e : o.at("in").as_array()) {
        const auto& a = e.as_array();
        const std::string src(a[0].as_string());
        if (!keys.count(src)) continue;
        edges.push_back(json::object{
            {"source", src}, {"target", key}, {"type", a[1]}, {"lag", a[2]}, {"corr", a[3]}});
      }
      json::object n{
          {"key", key},         {"symbol", o.at("symbol")}, {"open_time", o.at("open_time")},
          {"close", o.at("c")}, {"gap", o.at("gap")},       {"x", o.at("x")},
          {"y", o.at("y")}};
      nodes.push_back(std::move(n));
    }
    json::object data{{"meta", mo}, {"nodes", nodes}, {"edges", edges}};
    return envelope(
        std::to_string(nodes.size()) + " nodes, " + std::to_string(edges.size()) + " edges", data);
  }
  return envelope("no nodes yet",
                  json::object{{"meta", json::parse(**meta)}, {"nodes", nodes}, {"edges", edges}});
}

Result<std::string> model_json(store::Store& s, const std::string& collection) {
  auto card = s.get(collection, "model");
  if (!card) return card.error();
  if (!*card) return make_error("collection " + collection + " holds no model card");
  auto o = json::parse(**card).as_object();
  // The loss curve stays; the weights' bytes are in other documents anyway.
  return envelope("model card of " + collection, o);
}

Result<std::string> predictions_json(store::Store& s, const std::string& collection,
                                     const std::string& symbol, int64_t limit) {
  store::Query q;
  q.equals["kind"] = "prediction";
  if (!symbol.empty()) q.equals["symbol"] = symbol;
  q.limit = limit;
  auto page = s.find(collection, q);
  if (!page) return page.error();
  json::array rows;
  for (auto it = page->documents.rbegin(); it != page->documents.rend(); ++it)
    rows.push_back(json::parse(*it));
  store::Query m;
  m.equals["kind"] = "inference_metrics";
  auto live = s.find(collection, m);
  json::array metrics;
  if (live) {
    for (const auto& d : live->documents) metrics.push_back(json::parse(d));
  }
  return envelope(
      std::to_string(rows.size()) + " of " + std::to_string(page->total) + " predictions",
      json::object{{"predictions", rows}, {"live", metrics}, {"total", page->total}});
}

}  // namespace sf::viz
