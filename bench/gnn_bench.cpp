// gnn_bench: the trainer's costs, as a table beside issue 15's aims.
//
//   1. One GATv2 layer forward + backward (4 heads x 32, edge_dim 3), C++ vs the Python reference
//      (libs/gnn/testing/gatv2_reference.py, plain PyTorch) with the same threads, on a
//      seed-month-sized graph (8,640 nodes, ~60k edges) and a 20-symbol month (~170k nodes, ~2M
//      edges). Ratio C++ / Python measured in the same run.
//   2. A whole gnn_train (the gnn-trainer program, default knobs, 200 epochs max) on the seed
//      month's graph built by graph-builder: wall time, peak RSS, and the model card's scores.
#include <fmt/format.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "bench_util.h"
#include "child_run.h"
#include "gatv2.h"
#include "sf/gnn/predictor.h"
#include "sf/gnn/trainer.h"
#include "sf/kafka/testing/embedded_kafka.h"
#include "sf/process/child.h"
#include "sf/records/parser.h"
#include "sf/records/writer.h"
#include "sf/store/store.h"

namespace {

using Clock = std::chrono::steady_clock;

double layer_seconds(int64_t nodes, int64_t edges, int reps) {
  torch::manual_seed(0);
  sf::gnn::GATv2Options o;
  o.in_channels = 128;
  o.out_channels = 32;
  o.heads = 4;
  o.edge_dim = 3;
  o.residual = true;
  sf::gnn::GATv2Conv layer(o);
  auto x = torch::randn({nodes, 128}).requires_grad_(true);
  auto ei = torch::randint(0, nodes, {2, edges}, torch::kInt64);
  auto ea = torch::randn({edges, 3});
  double best = 1e9;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = Clock::now();
    auto out = layer->forward(x, ei, ea);
    out.sum().backward();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}

double python_seconds(int64_t nodes, int64_t edges, int reps, int threads) {
  const std::string cmd = fmt::format(
      "cd {} && /usr/bin/python3 -c \"import time, torch; import gatv2_reference as g; "
      "torch.set_num_threads({}); torch.manual_seed(0); N, E = {}, {}; "
      "p = {{'lin_l.weight': torch.randn(128, 128), 'lin_l.bias': torch.randn(128), "
      "'lin_r.weight': torch.randn(128, 128), 'lin_r.bias': torch.randn(128), "
      "'att': torch.randn(1, 4, 32), 'lin_edge.weight': torch.randn(128, 3), "
      "'res.weight': torch.randn(128, 128), 'bias': torch.randn(128)}}; "
      "[v.requires_grad_(True) for v in p.values()]; "
      "x = torch.randn(N, 128, requires_grad=True); ei = torch.randint(0, N, (2, E)); "
      "ea = torch.randn(E, 3); o = dict(heads=4, out=32, concat=True, share=False, "
      "self_loops=True, fill_mean=True); best = 1e9\n"
      "for _ in range({}):\n"
      "  t = time.perf_counter(); out, _, _ = g.gatv2(p, '', x, ei, ea, o); out.sum().backward(); "
      "best = min(best, time.perf_counter() - t)\n"
      "print(best)\" 2>/dev/null",
      SF_GNN_TESTING_DIR, threads, nodes, edges, reps);
  FILE* f = popen(cmd.c_str(), "r");
  char buf[256] = {0};
  if (f && fgets(buf, sizeof buf, f)) {
    pclose(f);
    return std::atof(buf);
  }
  if (f) pclose(f);
  return 0;
}

using Run = sf::bench::ChildRun;
Run run(const std::string& program, const std::map<std::string, std::string>& env,
        const std::string& log) {
  return sf::bench::run_child(program, env, log);
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const bool big = argc > 2 ? std::atoi(argv[2]) != 0 : true;
  at::set_num_threads(threads);
  std::printf(
      "gnn_bench: %d threads\n\n| measure | C++ | Python reference | C++ / Python | aim |\n"
      "|---|---|---|---|---|\n",
      threads);
  struct Size {
    const char* name;
    int64_t nodes, edges;
    int reps;
  };
  std::vector<Size> sizes = {{"seed month (8,640 nodes, 60k edges)", 8640, 60'000, 5}};
  if (big) sizes.push_back({"20-symbol month (172,800 nodes, 2M edges)", 172'800, 2'000'000, 2});
  for (const auto& s : sizes) {
    const double c = layer_seconds(s.nodes, s.edges, s.reps);
    const double p = python_seconds(s.nodes, s.edges, s.reps, threads);
    std::printf("| GATv2 layer fwd+bwd, %s | %.1f ms | %.1f ms | %.2fx | <= 0.8x |\n", s.name,
                c * 1e3, p * 1e3, p > 0 ? c / p : 0.0);
  }

  // A whole gnn_train on the seed month's graph.
  const auto dir =
      std::filesystem::temp_directory_path() / ("sf-gnn-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string db = (dir / "store.db").string();
  {
    sf::store::SqliteOptions so;
    so.path = db;
    auto store = sf::store::open_sqlite(so).value();
    std::ifstream in(std::string(SF_DATA_DIR) + "/vision/BTCUSDT-5m-2024-06.csv");
    std::string line;
    std::vector<sf::store::Document> docs;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto c = sf::records::parse_vision_kline_row(line, "BTCUSDT", "5m").value();
      docs.push_back(sf::store::make_document(sf::records::to_json(c), "").value());
    }
    if (docs.empty()) {
      std::printf("\n(no seed month in %s: the whole-training figure needs it)\n", SF_DATA_DIR);
      return 0;
    }
    (void)store->ensure_collection("candles");
    (void)store->upsert("candles", docs);
  }
  sf::kafka::testing::EmbeddedKafka kafka;
  kafka.create_topic("queue-events", 1);
  kafka.create_topic("queue-control", 1);
  std::map<std::string, std::string> env = {{"QUEUE_ID", "wf-bench"},
                                            {"SYMBOL", "BTCUSDT"},
                                            {"TELEMETRY_PRODUCER_ID", "bench__1"},
                                            {"KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrap_servers()},
                                            {"STREAMFORGE_DB", db},
                                            {"LOG_FORMAT", "text"}};
  auto g = env;
  g["TYPE"] = "gnn_graph";
  g["COLLECTION_INPUTS"] = "candles";
  g["COLLECTION_OUTPUT"] = "graph";
  const Run built = run("graph-builder", g, (dir / "graph.log").string());
  auto t = env;
  t["TYPE"] = "gnn_train";
  t["GRAPH_COLLECTION"] = "graph";
  t["MODEL_OUTPUT"] = "model";
  t["GNN_THREADS"] = std::to_string(threads);
  const Run trained = run("gnn-trainer", t, (dir / "train.log").string());
  std::printf("\n| measure | figure | aim |\n|---|---|---|\n");
  std::printf("| graph-builder, seed month (exit %d) | %.2f s | |\n", built.code, built.seconds);
  std::printf(
      "| gnn_train, seed month, 200 epochs max (exit %d) | %.1f s, peak RSS %.0f MiB | <= 60 s |\n",
      trained.code, trained.seconds, trained.peak_kib / 1024.0);
  sf::store::SqliteOptions so;
  so.path = db;
  auto store = sf::store::open_sqlite(so).value();
  if (auto m = store->get("model", "model"); m && *m) {
    auto v = boost::json::parse(**m).as_object();
    const auto& met = v.at("metrics").as_object();
    auto acc = [&](const boost::json::value& s) {
      return s.at("accuracy").to_number<double>() * 100;
    };
    std::printf(
        "\nmodel card: epochs %lld (best %lld), test n %lld: GNN %.1f%%, majority %.1f%%, "
        "persistence %.1f%%, no-graph %.1f%%; vs best %+.1f points, 95%% CI [%+.1f, %+.1f], "
        "McNemar p %.3f\n%s\n",
        static_cast<long long>(v.at("training").at("epochs").as_int64()),
        static_cast<long long>(v.at("training").at("best_epoch").as_int64()),
        static_cast<long long>(met.at("test").at("n").as_int64()), acc(met.at("test")),
        acc(met.at("baselines").at("majority")), acc(met.at("baselines").at("persistence")),
        acc(met.at("baselines").at("no_graph")),
        met.at("vs_best_baseline").at("delta").to_number<double>() * 100,
        met.at("vs_best_baseline").at("ci95").as_array()[0].to_number<double>() * 100,
        met.at("vs_best_baseline").at("ci95").as_array()[1].to_number<double>() * 100,
        met.at("vs_best_baseline").at("p").to_number<double>(),
        std::string(v.at("summary").as_string()).c_str());
  }
  // A real-time tick as realtime_gnn_infer does it: the newest node, a 600-bar window read from the
  // store and parsed, one prediction with its attention.
  if (trained.code == 0) {
    auto predictor = sf::gnn::Predictor::from_store(*store, "model");
    if (predictor) {
      std::vector<double> tick_ms, predict_ms;
      // As realtime_gnn_infer runs a tick once it knows the newest bar: the window read from the
      // store, parsed, predicted.
      sf::store::Query q;
      q.equals["kind"] = "node";
      q.limit = 1;
      const int64_t t =
          boost::json::parse(store->find("graph", q)->documents.front()).at("open_time").as_int64();
      for (int i = 0; i < 100; ++i) {
        const auto t0 = Clock::now();
        auto docs = store->range_by_time("graph", t - 600 * 300'000, t, 100'000).value();
        docs.push_back(**store->get("graph", "meta"));
        auto g = sf::gnn::graph_from_documents(docs).value();
        const auto t1 = Clock::now();
        auto p = (*predictor)->predict(g, {g.nodes - 1});
        const auto t2 = Clock::now();
        if (!p) break;
        tick_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t0).count());
        predict_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
      }
      std::sort(tick_ms.begin(), tick_ms.end());
      std::sort(predict_ms.begin(), predict_ms.end());
      if (!tick_ms.empty()) {
        std::printf(
            "\n| real-time tick, 600-bar window (store read + parse + forward) | p50 %.1f ms, p99 "
            "%.1f "
            "ms | p99 <= 20 ms |\n",
            tick_ms[tick_ms.size() / 2], tick_ms[tick_ms.size() * 99 / 100]);
        std::printf("| of which the network's forward | p50 %.1f ms, p99 %.1f ms | |\n",
                    predict_ms[predict_ms.size() / 2], predict_ms[predict_ms.size() * 99 / 100]);
      }
    } else {
      std::printf("\n(no predictor: %s)\n", predictor.error().message.c_str());
    }
  }
  std::filesystem::remove_all(dir);
  return trained.code;
}
