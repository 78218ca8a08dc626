// arango-connector throughput: N generated 1m candles already in the embedded Kafka (spread over
// enough partitions to stay under the mock broker's ~5 MB per partition) -> the real
// arango-connector program -> SQLite, twice: a topic produced in large batches (our producer's
// defaults, up to 10,000 messages a batch) and one produced in small batches (linger 0,
// BENCH_SMALL_BATCH messages a batch, 100 by default). Smaller batches measure the mock broker,
// not the connector: its Fetch handler walks a partition's batches from the first one to find an
// offset, so batches of 1 make every fetch O(offset) (200,000 candles: 5,400/s, the mock's thread
// at 97% of a core, the connector at 9%); a real broker has an offset index. Then a share into
// the ArangoDB fake.
// Baselines in the same run: a plain SQLite insert of the same documents (prepared
// INSERT OR REPLACE, keys and times extracted beforehand, 5,000 per transaction; without and with
// the store's index on t; SQLite's default page size, and the store's), and the store's own
// upsert (which also parses each document).
// BENCH_REPEAT rounds (3 by default): each round runs the plain insert in time order, then the
// connector on the large-batch topic, then on the small-batch topic (fresh databases, a fresh
// consumer group), and takes each ratio against its own round's baseline; the medians over the
// rounds are the figures to quote (a shared machine's busy spell then hits one round, not the
// verdict).
#include <unistd.h>

#include <sqlite3.h>
#include <algorithm>
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

// The final event a loader sends for `queue_id`: the connector then writes up to the topic's end.
void send_loader_finished(sf::kafka::Producer& p, const std::string& queue_id) {
  (void)p.send("queue-events", queue_id,
               R"({"queue_id":")" + queue_id +
                   R"(","symbol":"BENCHUSDT","type":"api_candles_1m","status":"finished",)"
                   R"("message":"finished","records_written":0,"finished":true,)"
                   R"("producer":"loader-producer__bench","timestamp":1})");
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

  // Baseline 1: plain SQLite, the store's table shape, nothing but the inserts timed; in time
  // order (1a), and (1b) in the order the connector meets the same documents: the 64 partitions
  // are contiguous time blocks, read a few at a time (B-tree inserts at that many places).
  std::vector<sf::store::Document> parsed;
  parsed.reserve(docs.size());
  for (const auto& d : docs) parsed.push_back(sf::store::make_document(d, "x").value());
  auto plain_insert = [&](const std::vector<const sf::store::Document*>& order,
                          const std::string& file, bool time_index = false, int page_size = 4096) {
    sqlite3* db = nullptr;
    sqlite3_open((dir / file).c_str(), &db);
    const std::string pragmas = "PRAGMA page_size=" + std::to_string(page_size) +
                                "; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
    sqlite3_exec(db, pragmas.c_str(), nullptr, nullptr, nullptr);
    sqlite3_exec(db, "CREATE TABLE t (_key TEXT PRIMARY KEY, t INTEGER, doc TEXT)", nullptr,
                 nullptr, nullptr);
    // (1c) with the store's index on (t, _key) as well (range reads need it): a third B-tree.
    if (time_index) sqlite3_exec(db, "CREATE INDEX ti ON t (t, _key)", nullptr, nullptr, nullptr);
    sqlite3_stmt* ins = nullptr;
    sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO t (_key, t, doc) VALUES (?1, ?2, ?3)", -1, &ins,
                       nullptr);
    const auto t0 = Clock::now();
    for (size_t i = 0; i < order.size(); ++i) {
      if (i % 5000 == 0) sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
      const auto& d = *order[i];
      sqlite3_bind_text(ins, 1, d.key.data(), static_cast<int>(d.key.size()), SQLITE_STATIC);
      sqlite3_bind_int64(ins, 2, d.time_ms);
      sqlite3_bind_text(ins, 3, d.json.data(), static_cast<int>(d.json.size()), SQLITE_STATIC);
      sqlite3_step(ins);
      sqlite3_reset(ins);
      if (i % 5000 == 4999 || i + 1 == order.size()) {
        sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
      }
    }
    const double rate = order.size() / std::chrono::duration<double>(Clock::now() - t0).count();
    sqlite3_finalize(ins);
    sqlite3_close(db);
    return rate;
  };
  std::vector<const sf::store::Document*> in_time, as_met;
  for (const auto& d : parsed) in_time.push_back(&d);
  {
    // The connector catches a backlog up CONNECTOR_CATCHUP_PARTITIONS (default 4) partitions at
    // a time, in partition order, which is not time order (a block's partition is its key's
    // hash): modelled as blocks in a shuffled order, `window` of them read round-robin in runs
    // of 100 (a fetch of the small-batch topic), the next block coming in as one ends.
    const char* w = std::getenv("CONNECTOR_CATCHUP_PARTITIONS");
    const int window = w == nullptr ? 4 : std::atoi(w) <= 0 ? partitions : std::atoi(w);
    const size_t block = std::max<size_t>(1, parsed.size() / partitions), run = 100;
    std::vector<size_t> at(partitions), end(partitions);
    for (int p = 0; p < partitions; ++p) {
      at[p] = p * block;
      end[p] = p + 1 == partitions ? parsed.size() : (p + 1) * block;
    }
    std::vector<int> reading;
    int next_block = 0;
    auto shuffled = [&](int q) { return (q * 37) % partitions; };
    while (as_met.size() < parsed.size()) {
      while (static_cast<int>(reading.size()) < window && next_block < partitions) {
        reading.push_back(shuffled(next_block++));
      }
      for (int p : reading) {
        for (size_t k = 0; k < run && at[p] < end[p]; ++k) as_met.push_back(&parsed[at[p]++]);
      }
      std::erase_if(reading, [&](int p) { return at[p] == end[p]; });
    }
  }
  const double plain_met_rate = plain_insert(as_met, "plain-met.db");
  const double plain_indexed_rate = plain_insert(as_met, "plain-indexed.db", true);
  // (1d) in time order with the page size the store gives a new file (SQLite's default is 4 KiB):
  // how much of the store's speed is that setting alone.
  const double plain_paged_rate =
      plain_insert(in_time, "plain-paged.db", false, sf::store::SqliteOptions{}.page_size);

  // Baseline 2: the store alone, same documents, batches of 5000, one transaction each.
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
  send_loader_finished(*producer, "wf-bench");
  if (!producer->flush(std::chrono::seconds(300))) return 1;
  const int small_batch =
      std::getenv("BENCH_SMALL_BATCH") ? std::atoi(std::getenv("BENCH_SMALL_BATCH")) : 100;
  {
    (void)cluster->create_topic("bench-small", partitions);
    sf::kafka::ProducerOptions so = po;
    so.properties = {{"linger.ms", "0"}, {"batch.num.messages", std::to_string(small_batch)}};
    auto small = sf::kafka::Producer::create(so).value();
    for (int i = 0; i < n; ++i) {
      (void)small->send("bench-small", block_key(i), docs[static_cast<size_t>(i)]);
    }
    send_loader_finished(*small, "wf-bench-small");
    if (!small->flush(std::chrono::seconds(600))) return 1;
  }

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
  for (const char* name :
       {"CONNECTOR_BATCH_SIZE", "CONNECTOR_BATCH_BYTES", "CONNECTOR_CATCHUP_PARTITIONS"}) {
    if (const char* v = std::getenv(name)) env[name] = v;
  }
  auto stored_in = [&](const std::string& file) -> int64_t {
    sf::store::SqliteOptions co;
    co.path = (dir / file).string();
    auto check = sf::store::open_sqlite(co).value();
    auto counted = check->count("bench_candles");
    return counted ? *counted : -1;
  };
  // Rounds: baseline, large batches, small batches, in turn (see the top of the file).
  const int rounds =
      std::max(1, std::getenv("BENCH_REPEAT") ? std::atoi(std::getenv("BENCH_REPEAT")) : 3);
  struct Round {
    double plain = 0;
    Run large, small;
    int64_t stored_large = 0, stored_small = 0;
  };
  std::vector<Round> done;
  for (int r = 0; r < rounds; ++r) {
    Round round;
    const std::string tag = std::to_string(r);
    round.plain = plain_insert(in_time, "plain-" + tag + ".db");
    std::filesystem::remove(dir / ("plain-" + tag + ".db"));
    auto large_env = env;
    large_env["STREAMFORGE_DB"] = (dir / ("large-" + tag + ".db")).string();
    large_env["CONNECTOR_GROUP_ID"] = "bench-large-" + tag;
    round.large = run_connector(large_env, (dir / ("large-" + tag + ".log")).string());
    round.stored_large = stored_in("large-" + tag + ".db");
    auto small_env = env;
    small_env["QUEUE_ID"] = "wf-bench-small";
    small_env["KAFKA_TOPIC"] = "bench-small";
    small_env["STREAMFORGE_DB"] = (dir / ("small-" + tag + ".db")).string();
    small_env["TELEMETRY_PRODUCER_ID"] = "arango-connector__bench-small";
    small_env["CONNECTOR_GROUP_ID"] = "bench-small-" + tag;
    round.small = run_connector(small_env, (dir / ("small-" + tag + ".log")).string());
    round.stored_small = stored_in("small-" + tag + ".db");
    for (const char* f : {"large-", "small-"}) {
      for (const char* ext : {".db", ".db-wal", ".db-shm"}) {
        std::filesystem::remove(dir / (f + tag + ext));
      }
    }
    done.push_back(round);
  }

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
  send_loader_finished(*producer, "wf-bench-arango");
  (void)producer->flush(std::chrono::seconds(300));
  env["QUEUE_ID"] = "wf-bench-arango";
  env["KAFKA_TOPIC"] = "bench-arango";
  const Run arango = run_connector(env, (dir / "arango.log").string());
  const size_t in_fake = fake.documents("bench_candles").size();

  // A run that failed has no rate (its exit code is printed above).
  auto rate = [](int docs, const Run& r) { return r.code == 0 ? docs / r.seconds : 0.0; };
  auto median = [&](auto figure) {
    std::vector<double> v;
    for (const auto& r : done) v.push_back(figure(r));
    std::sort(v.begin(), v.end());
    return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  };
  auto most = [&](auto figure) {
    double m = 0;
    for (const auto& r : done) m = std::max(m, figure(r));
    return m;
  };
  const double arango_rate = rate(std::min(arango_n, n), arango);
  bool all_ok = arango.code == 0;
  std::printf("connector: %d 1m candles in %d partitions of the embedded Kafka, %d rounds\n", n,
              partitions, rounds);
  std::printf("%-6s %10s | %10s %6s %6s %6s | %10s %6s %6s %6s | %s\n", "round", "plain/s",
              "large/s", "ratio", "us/doc", "MiB", "small/s", "ratio", "us/doc", "MiB",
              "exit codes, documents stored");
  for (size_t i = 0; i < done.size(); ++i) {
    const auto& r = done[i];
    const double lr = rate(n, r.large), sr = rate(n, r.small);
    std::printf(
        "%-6zu %10.0f | %10.0f %6.3f %6.2f %6.1f | %10.0f %6.3f %6.2f %6.1f | %d %d, %lld %lld\n",
        i + 1, r.plain, lr, lr / r.plain, r.large.cpu_seconds * 1e6 / n, r.large.peak_kib / 1024.0,
        sr, sr / r.plain, r.small.cpu_seconds * 1e6 / n, r.small.peak_kib / 1024.0, r.large.code,
        r.small.code, static_cast<long long>(r.stored_large),
        static_cast<long long>(r.stored_small));
    all_ok = all_ok && r.large.code == 0 && r.small.code == 0 && r.stored_large == n &&
             r.stored_small == n;
  }
  const double plain_rate = median([](const Round& r) { return r.plain; });
  const double sqlite_rate = median([&](const Round& r) { return rate(n, r.large); });
  const double small_rate = median([&](const Round& r) { return rate(n, r.small); });
  const double large_ratio = median([&](const Round& r) { return rate(n, r.large) / r.plain; });
  const double small_ratio = median([&](const Round& r) { return rate(n, r.small) / r.plain; });
  std::printf("  arango fake: exit code %d, %zu documents; small batches of %d messages\n",
              arango.code, in_fake, small_batch);
  std::printf("%-52s %14s\n", "figure (medians over the rounds; wall times include", "value");
  std::printf("%-52s %14s\n", "the process start)", "");
  std::printf("%-52s %14.0f\n", "plain SQLite insert, docs/s (baseline, same run)", plain_rate);
  std::printf("%-52s %14.0f\n", "plain insert in the connector's order, docs/s", plain_met_rate);
  std::printf("%-52s %14.0f\n", "plain insert, the store's page size, docs/s", plain_paged_rate);
  std::printf("%-52s %14.0f\n", "plain insert, its order, with the t index, docs/s",
              plain_indexed_rate);
  std::printf("%-52s %14.0f\n", "store alone, upserts/s (baseline, same run)", store_rate);
  std::printf("%-52s %14.0f\n", "connector -> SQLite documents/s", sqlite_rate);
  std::printf("%-52s %14.3f\n", "ratio connector / plain insert (its round's)", large_ratio);
  std::printf("%-52s %14.3f\n", "ratio connector / plain insert in its order",
              sqlite_rate / plain_met_rate);
  std::printf("%-52s %14.3f\n", "ratio connector / plain insert with the t index",
              sqlite_rate / plain_indexed_rate);
  std::printf("%-52s %14.3f\n", "ratio connector / plain insert at its page size",
              sqlite_rate / plain_paged_rate);
  std::printf("%-52s %14.3f\n", "ratio connector / store alone", sqlite_rate / store_rate);
  std::printf("%-52s %14.2f\n", "connector CPU per document (us, user + system)",
              median([&](const Round& r) { return r.large.cpu_seconds * 1e6 / n; }));
  std::printf("%-52s %14.1f\n", "connector peak RSS (MiB, VmHWM, the rounds' most)",
              most([](const Round& r) { return r.large.peak_kib / 1024.0; }));
  std::printf("%-52s %14.0f\n", "small batches: connector -> SQLite documents/s", small_rate);
  std::printf("%-52s %14.3f\n", "small batches: ratio / plain insert (its round's)", small_ratio);
  std::printf("%-52s %14.3f\n", "small batches: ratio / plain insert in its order",
              small_rate / plain_met_rate);
  std::printf("%-52s %14.3f\n", "small batches: ratio / plain insert at its page size",
              small_rate / plain_paged_rate);
  std::printf("%-52s %14.2f\n", "small batches: connector CPU per document (us)",
              median([&](const Round& r) { return r.small.cpu_seconds * 1e6 / n; }));
  std::printf("%-52s %14.1f\n", "small batches: connector peak RSS (MiB, most)",
              most([](const Round& r) { return r.small.peak_kib / 1024.0; }));
  std::printf("%-52s %14.0f\n", "connector -> ArangoDB fake documents/s", arango_rate);
  std::printf("%-52s %14.3f\n", "ratio fake / SQLite (client + fake overhead)",
              arango_rate / sqlite_rate);
  std::printf("%-52s %14.1f\n", "connector peak RSS with ArangoDB (MiB)", arango.peak_kib / 1024.0);
  if (!std::getenv("KEEP_BENCH_DIR"))
    std::filesystem::remove_all(dir);
  else
    std::printf("kept %s\n", dir.c_str());
  return all_ok ? 0 : 1;
}
