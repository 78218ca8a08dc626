// arango-connector throughput: N generated 1m candles already in the embedded Kafka (spread over
// enough partitions to stay under the mock broker's ~5 MB per partition) -> the real
// arango-connector program -> SQLite, then a share of them into the ArangoDB fake over HTTP.
// Baseline in the same run: the same documents upserted straight into SQLite in-process (the
// store's own ceiling), so the ratio shows what Kafka + the program cost on top.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "bench_util.h"
#include "child_run.h"
#include "sf/kafka/mock_cluster.h"
#include "sf/process/child.h"
#include "sf/records/writer.h"
#include "sf/replay/dataset.h"
#include "sf/store/store.h"
#include "sf/store/testing/fake_arango.h"

namespace {

using Clock = std::chrono::steady_clock;

using Run = sf::bench::ChildRun;

Run run_connector(const std::map<std::string, std::string>& env, const std::string& log) {
  return sf::bench::run_child("arango-connector", env, log);
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 1'000'000;
  const int arango_n = argc > 2 ? std::atoi(argv[2]) : 200'000;
  const int partitions = 64;
  const auto dir =
      std::filesystem::temp_directory_path() / ("sf-connector-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);

  auto data = sf::replay::Dataset::generate_candles("BENCHUSDT", 1672531200000, n);
  std::vector<std::string> docs;
  docs.reserve(static_cast<size_t>(n));
  for (const auto& k : data->find("BENCHUSDT")->klines_1m) docs.push_back(sf::records::to_json(k));

  // Baseline: the store alone, same documents, batches of 5000, one transaction each.
  double store_rate = 0;
  {
    sf::store::SqliteOptions so;
    so.path = (dir / "baseline.db").string();
    auto st = sf::store::open_sqlite(so).value();
    const auto t0 = Clock::now();
    std::vector<sf::store::Document> batch;
    for (size_t i = 0; i < docs.size(); ++i) {
      batch.push_back(sf::store::make_document(docs[i], "x").value());
      if (batch.size() == 5000 || i + 1 == docs.size()) {
        (void)st->upsert("bench", batch);
        batch.clear();
      }
    }
    store_rate = n / std::chrono::duration<double>(Clock::now() - t0).count();
  }

  // A real loader topic holds one symbol in time order (key = symbol, one partition). The mock
  // broker keeps ~5 MB per partition, so the bench spreads the data over 64 partitions in
  // contiguous time blocks (one key per block): each partition is still in time order. With
  // BENCH_INTERLEAVED=1 consecutive candles go to different partitions instead (the worst case
  // for the store: every batch writes all over the key index).
  const bool interleaved = std::getenv("BENCH_INTERLEAVED") != nullptr;
  const int block = std::max(1, n / partitions);
  auto block_key = [&](int i) {
    return interleaved ? std::to_string(i % 997) : "block-" + std::to_string(i / block);
  };
  auto cluster = sf::kafka::MockCluster::start(1).value();
  (void)cluster->create_topic("queue-control", 1);
  (void)cluster->create_topic("queue-events", 1);
  (void)cluster->create_topic("bench-data", partitions);
  sf::kafka::ProducerOptions po;
  po.settings.bootstrap_servers = cluster->bootstrap_servers();
  auto producer = sf::kafka::Producer::create(po).value();
  for (int i = 0; i < n; ++i) {
    (void)producer->send("bench-data", block_key(i), docs[static_cast<size_t>(i)]);
  }
  (void)producer->send("queue-events", "wf-bench",
                       R"({"queue_id":"wf-bench","symbol":"BENCHUSDT","type":"api_candles_1m",)"
                       R"("status":"finished","message":"finished","records_written":0,)"
                       R"("finished":true,"producer":"loader-producer__bench","timestamp":1})");
  if (!producer->flush(std::chrono::seconds(300))) return 1;

  std::map<std::string, std::string> env = {
      {"QUEUE_ID", "wf-bench"},
      {"SYMBOL", "BENCHUSDT"},
      {"TYPE", "api_candles_1m"},
      {"TIME_RANGE", "2023-01-01:2023-01-01"},
      {"KAFKA_TOPIC", "bench-data"},
      {"TELEMETRY_PRODUCER_ID", "arango-connector__bench"},
      {"KAFKA_BOOTSTRAP_SERVERS", cluster->bootstrap_servers()},
      {"COLLECTION_NAME", "bench_candles"},
      {"STREAMFORGE_DB", (dir / "connector.db").string()},
      {"LOG_FORMAT", "json"}};
  if (std::getenv("BENCH_DEBUG")) env["DEBUG"] = "1";
  if (const char* p = std::getenv("BENCH_KAFKA_PROPERTIES")) env["KAFKA_PROPERTIES"] = p;
  const Run sqlite = run_connector(env, (dir / "sqlite.log").string());
  sf::store::SqliteOptions co;
  co.path = (dir / "connector.db").string();
  auto check = sf::store::open_sqlite(co).value();
  auto counted = check->count("bench_candles");
  const int64_t stored = counted ? *counted : -1;

  // The ArangoDB client against the fake: a share of the topic (the fake keeps documents as
  // parsed JSON objects in memory and answers on one thread).
  sf::store::testing::FakeArango fake("bench", "root", "pw");
  env["ARANGO_URL"] = fake.url();
  env["ARANGO_DB"] = "bench";
  env["ARANGO_PASSWORD"] = "pw";
  env["CONNECTOR_GROUP_ID"] = "bench-arango";
  env["TELEMETRY_PRODUCER_ID"] = "arango-connector__bench2";
  // Only `arango_n` records: a separate topic holding the first arango_n documents.
  (void)cluster->create_topic("bench-arango", std::getenv("ARANGO_PARTS")
                                                  ? std::atoi(std::getenv("ARANGO_PARTS"))
                                                  : partitions);
  for (int i = 0; i < arango_n && i < n; ++i) {
    (void)producer->send("bench-arango", block_key(i), docs[static_cast<size_t>(i)]);
  }
  (void)producer->send(
      "queue-events", "wf-bench-arango",
      R"({"queue_id":"wf-bench-arango","symbol":"BENCHUSDT","type":"api_candles_1m",)"
      R"("status":"finished","message":"finished","records_written":0,)"
      R"("finished":true,"producer":"loader-producer__bench","timestamp":1})");
  (void)producer->flush(std::chrono::seconds(300));
  env["QUEUE_ID"] = "wf-bench-arango";
  env["KAFKA_TOPIC"] = "bench-arango";
  const Run arango = run_connector(env, (dir / "arango.log").string());
  const size_t in_fake = fake.documents("bench_candles").size();

  const double sqlite_rate = n / sqlite.seconds;
  const double arango_rate = std::min(arango_n, n) / arango.seconds;
  std::printf("connector: %d 1m candles in %d partitions of the embedded Kafka\n", n, partitions);
  std::printf(
      "  exit codes %d (sqlite), %d (arango fake); %lld documents in SQLite, %zu in the fake\n",
      sqlite.code, arango.code, static_cast<long long>(stored), in_fake);
  std::printf("%-46s %14s\n", "figure", "value");
  std::printf("%-46s %14.0f\n", "store alone, upserts/s (baseline, same run)", store_rate);
  std::printf("%-46s %14.2f\n", "connector -> SQLite wall time (s)", sqlite.seconds);
  std::printf("%-46s %14.0f\n", "connector -> SQLite documents/s", sqlite_rate);
  std::printf("%-46s %14.3f\n", "ratio connector / store alone", sqlite_rate / store_rate);
  std::printf("%-46s %14.1f\n", "connector peak RSS (MiB, VmHWM)", sqlite.peak_kib / 1024.0);
  std::printf("%-46s %14.0f\n", "connector -> ArangoDB fake documents/s", arango_rate);
  std::printf("%-46s %14.3f\n", "ratio fake / SQLite (client + fake overhead)",
              arango_rate / sqlite_rate);
  std::printf("%-46s %14.1f\n", "connector peak RSS with ArangoDB (MiB)", arango.peak_kib / 1024.0);
  if (!std::getenv("KEEP_BENCH_DIR"))
    std::filesystem::remove_all(dir);
  else
    std::printf("kept %s\n", dir.c_str());
  return sqlite.code == 0 && arango.code == 0 && stored == n ? 0 : 1;
}
