// Parse + write of one trade message and one kline message (ns/msg): our BinanceParser + writer,
// beside a straightforward nlohmann-json parse + dump of the same message, in the same run.
// Prints a table; the ratio column is what to compare between runs (the machines are shared).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sf/records/parser.h"
#include "sf/records/writer.h"

namespace {

// Real messages from shared/data/binance (hftbacktest BTCUSDT trade; cryptofeed ETHUSDT kline).
const std::string kTrade =
    R"({"stream":"btcusdt@trade","data":{"e":"trade","E":1723161601438,"s":"BTCUSDT","t":3735693016,"p":"61685.99000000","q":"0.00017000","T":1723161601437,"m":true,"M":true}})";
const std::string kKline =
    R"({"stream":"ethusdt@kline_1m","data":{"e":"kline","E":1617566591776,"s":"ETHUSDT","k":{"t":1617566580000,"T":1617566639999,"s":"ETHUSDT","i":"1m","f":346711017,"L":346711087,"o":"2063.88000000","c":"2064.73000000","h":"2065.00000000","l":"2063.88000000","v":"70.86425000","n":71,"x":false,"q":"146321.71560700","V":"46.98201000","Q":"97009.77617410","B":"0"}}})";

template <class F>
double ns_per_op(F&& f, int iterations) {
  std::vector<double> runs;
  for (int r = 0; r < 7; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations; ++i) f();
    const auto t1 = std::chrono::steady_clock::now();
    runs.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / iterations);
  }
  std::sort(runs.begin(), runs.end());
  return runs[runs.size() / 2];  // median of 7
}

size_t sink = 0;

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 200'000;
  sf::records::BinanceParser parser;
  std::string out;
  auto ours_trade = [&] {
    auto t = parser.ws_trade(kTrade);
    out.clear();
    sf::records::append_json(*t, out);
    sink += out.size();
  };
  auto ours_kline = [&] {
    auto c = parser.ws_kline(kKline);
    out.clear();
    sf::records::append_json(*c, out);
    sink += out.size();
  };
  auto nlohmann_roundtrip = [&](const std::string& msg) {
    auto j = nlohmann::json::parse(msg);
    sink += j["data"].dump().size();
  };
  const double t_ours = ns_per_op(ours_trade, n);
  const double t_base = ns_per_op([&] { nlohmann_roundtrip(kTrade); }, n);
  const double k_ours = ns_per_op(ours_kline, n);
  const double k_base = ns_per_op([&] { nlohmann_roundtrip(kKline); }, n);
  std::printf("codec: parse + write one message (median of 7 runs x %d)\n", n);
  std::printf("%-8s %14s %18s %16s\n", "message", "ours ns/msg", "nlohmann ns/msg",
              "ours/nlohmann");
  std::printf("%-8s %14.1f %18.1f %16.3f\n", "trade", t_ours, t_base, t_ours / t_base);
  std::printf("%-8s %14.1f %18.1f %16.3f\n", "kline", k_ours, k_base, k_ours / k_base);
  return sink == 0;  // keeps the work observable
}
