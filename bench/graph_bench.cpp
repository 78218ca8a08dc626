// graph_bench: the graph-builder's costs, as a table (issue 14's aims beside each figure).
//
//   1. Trade -> bar aggregation in memory (TradeBar::add), trades/s.
//   2. End to end from SQLite: a month of 5m candles (the real seed month when shared/data is
//      there) plus one day of generated trades at BTCUSDT's rate (~1.5 M): the graph-builder
//      program's wall time, documents read/s, nodes/s and peak RSS, beside the store's plain read
//      rate (range_by_time pages over the same collections) measured in the same run.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "bench_util.h"
#include "sf/graph/bars.h"
#include "sf/graph/graph.h"
#include "sf/kafka/testing/embedded_kafka.h"
#include "sf/process/child.h"
#include "sf/records/parser.h"
#include "sf/records/writer.h"
#include "sf/store/store.h"

namespace {

using Clock = std::chrono::steady_clock;
double secs(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::vector<sf::records::Candle> month_of_candles() {
  std::vector<sf::records::Candle> out;
  std::ifstream in(std::string(SF_DATA_DIR) + "/vision/BTCUSDT-5m-2024-06.csv");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty())
      out.push_back(sf::records::parse_vision_kline_row(line, "BTCUSDT", "5m").value());
  }
  if (!out.empty()) return out;
  // No shared data: a generated month of the same shape.
  double price = 67000;
  std::mt19937_64 rng(1);
  std::normal_distribution<double> r(0, 0.002);
  for (int i = 0; i < 8640; ++i) {
    sf::records::Candle c;
    c.symbol = "BTCUSDT";
    c.interval = "5m";
    c.open_time = 1717200000000 + int64_t{i} * 300'000;
    c.close_time = c.open_time + 299'999;
    const double next = price * std::exp(r(rng));
    auto d = [](double v) { return sf::records::Decimal::parse(fmt::format("{:.2f}", v)).value(); };
    c.open = d(price);
    c.close = d(next);
    c.high = d(std::max(price, next) * 1.0005);
    c.low = d(std::min(price, next) * 0.9995);
    c.volume = d(100);
    c.number_of_trades = 5000;
    c.taker_buy_base_asset_volume = d(50);
    out.push_back(c);
    price = next;
  }
  return out;
}

// One day of trades at ~17 trades/s (1.5 M), prices walking around the candles' level.
std::vector<sf::records::Trade> day_of_trades(int64_t start_ms, int n) {
  std::vector<sf::records::Trade> out;
  out.reserve(n);
  std::mt19937_64 rng(2);
  std::normal_distribution<double> step(0, 0.5);
  std::exponential_distribution<double> size(50);
  double price = 67000;
  for (int i = 0; i < n; ++i) {
    sf::records::Trade t;
    t.symbol = "BTCUSDT";
    t.trade_id = 3'000'000'000 + i;
    t.timestamp = start_ms + int64_t{i} * 86'400'000 / n;
    price = std::max(1.0, price + step(rng));
    t.price = sf::records::Decimal::parse(fmt::format("{:.2f}", price)).value();
    t.quantity = sf::records::Decimal::parse(fmt::format("{:.5f}", size(rng) + 0.00001)).value();
    t.is_buyer_maker = (rng() & 1) != 0;
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const int trades_n = argc > 1 ? std::atoi(argv[1]) : 1'500'000;
  std::printf("graph_bench: %d generated trades\n\n", trades_n);
  const auto candles = month_of_candles();
  const auto trades = day_of_trades(candles.front().open_time, trades_n);

  // 1. Aggregation in memory.
  std::vector<sf::graph::TradeTick> ticks;
  for (const auto& t : trades) ticks.push_back(sf::graph::tick_of(t).value());
  double best = 0;
  int64_t checksum = 0;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = Clock::now();
    sf::graph::TradeBar bar;
    int64_t open = -1;
    for (const auto& t : ticks) {
      const int64_t b = t.timestamp / 300'000;
      if (b != open) {
        checksum += bar.count();
        bar = sf::graph::TradeBar{};
        open = b;
      }
      bar.add(t);
    }
    checksum += bar.count();
    best = std::max(best, static_cast<double>(ticks.size()) / secs(t0));
  }

  // 2. End to end from SQLite.
  const auto dir =
      std::filesystem::temp_directory_path() / ("sf-graph-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  sf::store::SqliteOptions so;
  so.path = (dir / "store.db").string();
  so.synchronous_full = false;
  auto store = sf::store::open_sqlite(so).value();
  auto put = [&](const std::string& c, const auto& records) {
    (void)store->ensure_collection(c);
    std::vector<sf::store::Document> docs;
    for (const auto& r : records) {
      docs.push_back(sf::store::make_document(sf::records::to_json(r), "").value());
      if (docs.size() == 20'000) {
        (void)store->upsert(c, docs);
        docs.clear();
      }
    }
    (void)store->upsert(c, docs);
  };
  put("candles", candles);
  put("trades", trades);
  const int64_t docs_total = static_cast<int64_t>(candles.size() + trades.size());

  // The store's plain read rate: the same pages the builder reads, nothing done with them.
  auto t0 = Clock::now();
  int64_t read = 0;
  for (const char* c : {"candles", "trades"}) {
    int64_t from = INT64_MIN;
    for (;;) {
      auto page = store->range_by_time(c, from, INT64_MAX, 5000).value();
      read += static_cast<int64_t>(page.size());
      if (page.size() < 5000) break;
      // Pages are disjoint here (one document per ms and key): move past the last time.
      auto rec = sf::graph::parse_input(page.back());
      (void)rec;
      from = rec->time() + 1;
    }
  }
  const double plain_s = secs(t0);

  sf::kafka::testing::EmbeddedKafka kafka;
  kafka.create_topic("queue-events", 1);
  kafka.create_topic("queue-control", 1);
  auto run_builder = [&](const std::string& inputs, const std::string& output, long& peak) {
    sf::process::SpawnOptions o;
    o.path = std::string(SF_BIN_DIR) + "/graph-builder";
    o.env = {{"QUEUE_ID", "wf-bench"},
             {"SYMBOL", "BTCUSDT"},
             {"TYPE", "gnn_graph"},
             {"TELEMETRY_PRODUCER_ID", "graph-builder__bench"},
             {"KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrap_servers()},
             {"COLLECTION_INPUTS", inputs},
             {"COLLECTION_OUTPUT", output},
             {"STREAMFORGE_DB", so.path},
             {"LOG_FORMAT", "text"}};
    o.log_file = (dir / (output + ".log")).string();
    auto child = sf::process::Child::spawn(o).value();
    for (;;) {
      peak = std::max(peak, sf::bench::vm_hwm_kib(child->pid()));
      if (auto s = child->exit_status()) return s->signaled ? 128 + s->signal : s->code;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  // The fixed cost of a run (process start, Kafka, telemetry, final flush): one candle.
  put("one_candle", std::vector<sf::records::Candle>{candles.front()});
  long tiny_peak = 0;
  t0 = Clock::now();
  (void)run_builder("one_candle", "tiny_graph", tiny_peak);
  const double fixed_s = secs(t0);
  long peak = 0;
  t0 = Clock::now();
  const int code = run_builder("candles,trades", "graph", peak);
  const double e2e_s = secs(t0);
  const int64_t nodes = static_cast<int64_t>(candles.size());

  std::printf("| measure | figure | aim |\n|---|---|---|\n");
  std::printf("| trade -> bar aggregation (in memory) | %.2f M trades/s | >= 5 M/s |\n",
              best / 1e6);
  std::printf("| store plain read (%lld documents) | %.2f s, %.0f k docs/s | baseline |\n",
              static_cast<long long>(read), plain_s, read / plain_s / 1e3);
  std::printf("| graph-builder end to end (exit %d) | %.2f s, %.0f k docs/s, %.0f k nodes/s | |\n",
              code, e2e_s, docs_total / e2e_s / 1e3, nodes / e2e_s / 1e3);
  std::printf("| end to end / plain read | %.2fx | <= 2x |\n", e2e_s / plain_s);
  std::printf("| (end to end - fixed %.2f s run cost) / plain read | %.2fx | |\n", fixed_s,
              (e2e_s - fixed_s) / plain_s);
  std::printf("| graph-builder peak RSS | %.1f MiB | <= 64 MiB |\n", peak / 1024.0);
  std::printf("(checksum %lld)\n", static_cast<long long>(checksum));
  if (std::getenv("GRAPH_BENCH_KEEP")) {
    std::printf("kept %s\n", dir.c_str());
  } else {
    std::filesystem::remove_all(dir);
  }
  return code == 0 ? 0 : 1;
}
