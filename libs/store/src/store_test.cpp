// The Store contract, run against both backends: SQLite on a temporary file and the ArangoDB client
// against FakeArango. Backend-specific failure paths are in arango_test.cpp and below.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "sf/store/store.h"
#include "sf/store/testing/fake_arango.h"
#include "sf/store/testing/full_disk.h"

namespace sf::store {
namespace {

std::string temp_db(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("sf-store-" + std::to_string(getpid()) + "-" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return (dir / "test.db").string();
}

Document candle(int64_t open_time, const std::string& close = "1.5") {
  const std::string key = "BTCUSDT:1m:" + std::to_string(open_time);
  auto d = make_document(R"({"open_time":)" + std::to_string(open_time) + R"(,"close":)" + close +
                             R"(,"symbol":"BTCUSDT","_key":")" + key + "\"}",
                         "unused");
  return std::move(d).value();
}

class StoreContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() != "arango") {
      SqliteOptions o;
      o.path = temp_db(::testing::UnitTest::GetInstance()->current_test_info()->name());
      // The connector's settings: checkpoints on their own thread (here at every page).
      o.background_checkpoint = GetParam() == "sqlite_background_checkpoint";
      if (o.background_checkpoint) o.wal_autocheckpoint_kib = 1;
      store_ = open_sqlite(o).value();
    } else {
      fake_ = std::make_unique<testing::FakeArango>("streamforge", "sf", "pw");
      ArangoOptions o;
      o.url = fake_->url();
      o.database = "streamforge";
      o.user = "sf";
      o.password = "pw";
      store_ = open_arango(o).value();
    }
  }
  std::unique_ptr<testing::FakeArango> fake_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreContract, UpsertGetCountAndIdempotentReplay) {
  ASSERT_TRUE(store_->ping().ok());
  ASSERT_TRUE(store_->ensure_collection("btc_candles_1m_2024_08").ok());
  std::vector<Document> batch;
  for (int i = 0; i < 50; ++i) batch.push_back(candle(1722470400000 + i * 60000));
  auto w = store_->upsert("btc_candles_1m_2024_08", batch);
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->written, 50);
  EXPECT_TRUE(w->errors.empty());
  // The same batch again, and one document changed: still 50 documents, the change kept.
  batch[3] = candle(1722470400000 + 3 * 60000, "2.25");
  ASSERT_TRUE(store_->upsert("btc_candles_1m_2024_08", batch).ok());
  EXPECT_EQ(store_->count("btc_candles_1m_2024_08").value(), 50);
  auto got = store_->get("btc_candles_1m_2024_08", "BTCUSDT:1m:1722470580000").value();
  ASSERT_TRUE(got.has_value());
  EXPECT_NE(got->find("\"close\":2.25"), std::string::npos) << *got;
  EXPECT_FALSE(store_->get("btc_candles_1m_2024_08", "BTCUSDT:1m:1").value().has_value());
  EXPECT_EQ(store_->count("no_such_collection").value(), 0);
}

TEST_P(StoreContract, RangeByTimeIsInclusiveOrderedAndLimited) {
  std::vector<Document> batch;
  for (int i = 9; i >= 0; --i) batch.push_back(candle(1000000000000 + i * 60000));
  ASSERT_TRUE(store_->upsert("c_range", batch).ok());
  auto r =
      store_->range_by_time("c_range", 1000000000000 + 2 * 60000, 1000000000000 + 5 * 60000, 100)
          .value();
  ASSERT_EQ(r.size(), 4u);
  EXPECT_NE(r.front().find("1000000120000"), std::string::npos);
  EXPECT_NE(r.back().find("1000000300000"), std::string::npos);
  EXPECT_EQ(store_->range_by_time("c_range", 0, INT64_MAX / 2, 3).value().size(), 3u);
  EXPECT_TRUE(store_->range_by_time("missing", 0, 1, 10).value().empty());
}

TEST_P(StoreContract, FindFiltersNewestFirstAndPages) {
  std::vector<Document> batch;
  for (int i = 0; i < 30; ++i) {
    const std::string status = i % 3 == 0 ? "running" : "finished";
    const std::string sym = i % 2 ? "BTCUSDT" : "ETHUSDT";
    batch.push_back(make_document(R"({"_key":"q)" + std::to_string(100 + i) + R"(","status":")" +
                                      status + R"(","symbol":")" + sym + R"(","created_at":)" +
                                      std::to_string(1700000000 + i) + "}",
                                  "x")
                        .value());
  }
  ASSERT_TRUE(store_->upsert("queue_state", batch).ok());
  auto all = store_->find("queue_state", {{}, 5, 0}).value();
  EXPECT_EQ(all.total, 30);
  ASSERT_EQ(all.documents.size(), 5u);
  EXPECT_NE(all.documents[0].find("\"q129\""), std::string::npos);  // newest first
  auto running = store_->find("queue_state", {{{"status", "running"}}, 100, 0}).value();
  EXPECT_EQ(running.total, 10);
  EXPECT_EQ(running.documents.size(), 10u);
  auto both =
      store_->find("queue_state", {{{"status", "running"}, {"symbol", "BTCUSDT"}}, 2, 1}).value();
  EXPECT_EQ(both.total, 5);  // i in {3, 9, 15, 21, 27}
  ASSERT_EQ(both.documents.size(), 2u);
  EXPECT_NE(both.documents[0].find("\"q121\""), std::string::npos) << both.documents[0];
  EXPECT_EQ(store_->find("queue_state", {{{"status", "nope"}}, 10, 0}).value().total, 0);
}

// Keyset paging (`after` the last page's last document): every document once, in the same order
// as one big page, ties in time broken by key, filters kept; no count when none is asked for.
TEST_P(StoreContract, KeysetPagingWalksEveryDocumentOnceInOrder) {
  std::vector<Document> batch;
  for (int i = 0; i < 30; ++i) {
    batch.push_back(make_document(R"({"_key":"q)" + std::to_string(100 + i) + R"(","status":")" +
                                      (i % 3 == 0 ? "running" : "finished") + R"(","created_at":)" +
                                      std::to_string(1700000000 + i / 4) + "}",  // 4 per time
                                  "x")
                        .value());
  }
  ASSERT_TRUE(store_->upsert("queue_state", batch).ok());
  auto key_of = [](const std::string& doc) { return doc.substr(doc.find("\"q") + 1, 4); };
  for (const std::map<std::string, std::string>& equals :
       {std::map<std::string, std::string>{}, {{"status", "finished"}}}) {
    std::vector<std::string> whole;
    const auto one_page = store_->find("queue_state", {equals, 100, 0}).value();
    for (const auto& d : one_page.documents) whole.push_back(key_of(d));
    ASSERT_EQ(whole.size(), equals.empty() ? 30u : 20u);
    std::vector<std::string> walked;
    Query q{equals, 4, 0};
    q.count = false;
    for (int pages = 0; pages < 20; ++pages) {
      auto p = store_->find("queue_state", q).value();
      EXPECT_EQ(p.total, 0);  // not counted
      for (const auto& d : p.documents) walked.push_back(key_of(d));
      if (p.documents.size() < 4) break;
      ASSERT_TRUE(p.last.has_value());
      EXPECT_EQ("q" + std::string(p.last->key).substr(1), p.last->key);
      q.after = p.last;
    }
    EXPECT_EQ(walked, whole);
  }
}

TEST_P(StoreContract, InvalidKeysAreReportedPerDocumentAndTheRestWritten) {
  std::vector<Document> batch{candle(1), candle(2)};
  Document bad = candle(3);
  bad.key = "has space";
  bad.json = R"({"_key":"has space","open_time":3})";
  batch.insert(batch.begin() + 1, bad);
  auto w = store_->upsert("c_bad", batch).value();
  EXPECT_EQ(w.written, 2);
  ASSERT_EQ(w.errors.size(), 1u);
  EXPECT_EQ(w.errors[0].index, 1u);
  EXPECT_FALSE(w.errors[0].message.empty());
  EXPECT_EQ(store_->count("c_bad").value(), 2);
}

TEST_P(StoreContract, BadCollectionNamesAreRefused) {
  EXPECT_FALSE(store_->ensure_collection("1abc").ok());
  EXPECT_FALSE(store_->ensure_collection("a b").ok());
  EXPECT_FALSE(store_->upsert("x\"; DROP TABLE y", {candle(1)}).ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContract,
                         ::testing::Values("sqlite", "sqlite_background_checkpoint", "arango"),
                         [](const auto& info) { return info.param; });

// make run's manager and visualizer open one new file at once: both must get a WAL store (SQLite
// answers BUSY to the second switch to WAL without waiting; CI saw "database is locked").
TEST(Sqlite, TwoProgramsOpeningANewFileAtOnceBothSucceed) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("sf-store-race-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  for (int round = 0; round < 30; ++round) {
    const std::string path = (dir / ("s" + std::to_string(round) + ".db")).string();
    std::atomic<int> ok{0};
    std::vector<std::thread> openers;
    for (int i = 0; i < 3; ++i) {
      openers.emplace_back([&] {
        SqliteOptions o;
        o.path = path;
        auto s = open_sqlite(o);
        if (s && (*s)->ensure_collection("c").ok())
          ++ok;
        else if (!s)
          ADD_FAILURE() << s.error().message;
      });
    }
    for (auto& t : openers) t.join();
    EXPECT_EQ(ok.load(), 3) << "round " << round;
  }
  std::filesystem::remove_all(dir);
}

TEST(Documents, KeyAndTimeAreReadAndMissingKeysDerived) {
  auto c = make_document(
      R"({"open_time":1722470400000,"open":1.0,"_key":"BTCUSDT:1m:1722470400000"})", "f");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->key, "BTCUSDT:1m:1722470400000");
  EXPECT_EQ(c->time_ms, 1722470400000);
  auto t = make_document(R"({"trade_id":5,"timestamp":1723161599999})", "topic:0:17").value();
  EXPECT_EQ(t.key, "topic:0:17");
  EXPECT_EQ(t.json, R"({"_key":"topic:0:17","trade_id":5,"timestamp":1723161599999})");
  EXPECT_EQ(t.time_ms, 1723161599999);
  // Telemetry-style seconds and vision-style microseconds become ms.
  EXPECT_EQ(make_document(R"({"timestamp":1722445567.89})", "k").value().time_ms, 1722445567890);
  EXPECT_EQ(make_document(R"({"open_time":1735689600000000})", "k").value().time_ms, 1735689600000);
  EXPECT_EQ(make_document("{}", "k").value().json, R"({"_key":"k"})");
}

TEST(Documents, BadInputIsAnErrorThatSaysWhat) {
  EXPECT_NE(make_document("not json", "k").error().message.find("JSON"), std::string::npos);
  EXPECT_FALSE(make_document("[1,2]", "k").ok());
  EXPECT_FALSE(make_document(R"({"a":1)", "k").ok());
  EXPECT_NE(make_document(R"({"_key":"a/b"})", "k").error().message.find("invalid _key"),
            std::string::npos);
  EXPECT_FALSE(make_document(R"({"_key":5})", "k").ok());
  EXPECT_FALSE(make_document(R"({"_key":")" + std::string(255, 'a') + "\"}", "k").ok());
}

TEST(Keys, ArangoRules) {
  EXPECT_TRUE(valid_key("BTCUSDT:t:123"));
  EXPECT_TRUE(valid_key("a_-:.@()+,=;$!*'%"));
  EXPECT_FALSE(valid_key(""));
  EXPECT_FALSE(valid_key("a/b"));
  EXPECT_FALSE(valid_key("ä"));
  EXPECT_TRUE(valid_key(std::string(254, 'k')));
  EXPECT_FALSE(valid_key(std::string(255, 'k')));
  // Every byte on its own: exactly ArangoDB's set.
  const std::string allowed =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-:.@()+,=;$!*'%";
  for (int c = 0; c < 256; ++c) {
    EXPECT_EQ(valid_key(std::string(1, static_cast<char>(c))),
              allowed.find(static_cast<char>(c)) != std::string::npos)
        << c;
  }
  EXPECT_TRUE(valid_collection_name("btc_candles_5m_2024_06"));
  EXPECT_FALSE(valid_collection_name("_system"));
  EXPECT_FALSE(valid_collection_name(std::string(65, 'a')));
}

TEST(Sqlite, SurvivesReopenAndUsesWal) {
  SqliteOptions o;
  o.path = temp_db("reopen");
  {
    auto s = open_sqlite(o).value();
    ASSERT_TRUE(s->upsert("c", {candle(1), candle(2)}).ok());
  }
  auto s = open_sqlite(o).value();
  EXPECT_EQ(s->count("c").value(), 2);
  EXPECT_TRUE(std::filesystem::exists(o.path + "-wal") || std::filesystem::exists(o.path));
  EXPECT_EQ(s->describe(), "sqlite:" + o.path);
}

int page_size_of(const std::string& path) {
  sqlite3* raw = nullptr;
  sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* q = nullptr;
  int size = -1;
  if (sqlite3_prepare_v2(raw, "PRAGMA page_size", -1, &q, nullptr) == SQLITE_OK &&
      sqlite3_step(q) == SQLITE_ROW) {
    size = sqlite3_column_int(q, 0);
  }
  sqlite3_finalize(q);
  sqlite3_close(raw);
  return size;
}

// A new file gets the store's page size (16 KiB); a file made with another (SQLite's 4 KiB, as
// before) keeps it and is read and written as it is.
TEST(Sqlite, NewFilesGetTheStorePageSizeAndOldFilesKeepTheirs) {
  SqliteOptions fresh;
  fresh.path = temp_db("pages-new");
  ASSERT_TRUE(open_sqlite(fresh).value()->upsert("c", {candle(1)}).ok());
  EXPECT_EQ(page_size_of(fresh.path), 16'384);

  SqliteOptions old;
  old.path = temp_db("pages-old");
  old.page_size = 4'096;
  std::vector<Document> first, second;
  for (int64_t i = 0; i < 300; ++i) first.push_back(candle(i * 60'000));
  for (int64_t i = 200; i < 500; ++i) second.push_back(candle(i * 60'000));
  ASSERT_TRUE(open_sqlite(old).value()->upsert("c", first).ok());
  SqliteOptions now;  // today's defaults on the old file
  now.path = old.path;
  now.background_checkpoint = true;
  auto s = open_sqlite(now).value();
  auto w = s->upsert("c", second);
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->written, 300);
  EXPECT_EQ(s->count("c").value(), 500);
  EXPECT_TRUE(s->get("c", "BTCUSDT:1m:0").value().has_value());
  EXPECT_EQ(page_size_of(old.path), 4'096);
}

// Review #18: in WAL mode a full disk usually shows at COMMIT, not at a statement. Either way the
// error is retryable (the connector rides it out within its budget), nothing of the batch is
// written, and once space is back the same batch goes in whole.
TEST(Sqlite, ADiskFullAtCommitIsRetryableAndWritesNothingOfTheBatch) {
  testing::FullDisk disk;
  SqliteOptions o;
  o.path = temp_db("full");
  auto s = open_sqlite(o).value();
  ASSERT_TRUE(s->upsert("c", {candle(1), candle(2)}).ok());
  std::vector<Document> batch;
  for (int64_t i = 3; i < 503; ++i) batch.push_back(candle(i * 60'000));
  disk.full = true;
  auto r = s->upsert("c", batch);
  ASSERT_FALSE(r.ok());
  EXPECT_GT(disk.refused_writes.load(), 0);
  EXPECT_TRUE(r.error().retryable) << r.error().message;
  EXPECT_NE(r.error().message.find("COMMIT"), std::string::npos)
      << "the full disk met the commit: " << r.error().message;
  disk.full = false;
  EXPECT_EQ(s->count("c").value(), 2) << "nothing of the failed batch";
  auto again = s->upsert("c", batch);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(s->count("c").value(), 502);
}

// Upserts go 100 documents to a statement: a document SQLite refuses (here a trigger's ABORT, as a
// user's own constraint would) fails its whole statement, which then goes one document at a time
// so that only that one is refused and named; an invalid key is skipped without a statement.
TEST(Sqlite, ADocumentRefusedInAMultiRowStatementIsNamedAndTheRestWritten) {
  SqliteOptions o;
  o.path = temp_db("refused");
  auto s = open_sqlite(o).value();
  ASSERT_TRUE(s->ensure_collection("c").ok());
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(o.path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(
          raw,
          "CREATE TRIGGER refuse BEFORE INSERT ON c WHEN NEW._key = 'BTCUSDT:1m:9000000' BEGIN "
          "SELECT RAISE(ABORT, 'open_time 9000000 is refused'); END",
          nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(raw);
  std::vector<Document> batch;
  for (int64_t i = 0; i < 250; ++i) batch.push_back(candle(i * 60'000));
  batch[30].key = "has space";  // in the first hundred
  // batch[150] (open_time 9,000,000) in the second hundred; the last 50 are fewer than a hundred.
  auto w = s->upsert("c", batch).value();
  EXPECT_EQ(w.written, 248);
  ASSERT_EQ(w.errors.size(), 2u);
  EXPECT_EQ(w.errors[0].index, 30u);
  EXPECT_EQ(w.errors[0].code, 1221);
  EXPECT_EQ(w.errors[1].index, 150u);
  EXPECT_EQ(w.errors[1].code, SQLITE_CONSTRAINT);
  EXPECT_NE(w.errors[1].message.find("open_time 9000000 is refused"), std::string::npos)
      << w.errors[1].message;
  EXPECT_EQ(s->count("c").value(), 248);
  for (size_t i : {0u, 29u, 31u, 149u, 151u, 199u, 200u, 249u}) {
    EXPECT_EQ(s->get("c", batch[i].key).value(), batch[i].json) << i;
  }
  EXPECT_FALSE(s->get("c", batch[150].key).value().has_value());
  // The same batch again (upserts): the same two refused, nothing doubled.
  w = s->upsert("c", batch).value();
  EXPECT_EQ(w.written, 248);
  EXPECT_EQ(w.errors.size(), 2u);
  EXPECT_EQ(s->count("c").value(), 248);
}

// Batches the way the connector meets a topic: each a run of 10 at each of 50 places (its
// partitions), every document ~450 bytes.
std::vector<Document> interleaved_batch(int b) {
  std::vector<Document> batch;
  const std::string pad(400, 'x');
  for (int place = 0; place < 50; ++place) {
    for (int k = 0; k < 10; ++k) {
      const int64_t t = place * 1'000'000'000LL + (b * 10 + k) * 60'000LL;
      batch.push_back(make_document(R"({"open_time":)" + std::to_string(t) + R"(,"pad":")" + pad +
                                        R"(","_key":"K:)" + std::to_string(t) + "\"}",
                                    "unused")
                          .value());
    }
  }
  return batch;
}

// SqliteOptions::background_checkpoint, as the connector uses it: a writer that commits all the
// time while a thread of the store copies the WAL into the database. The WAL stays bounded (~60 MB
// go through it here; without checkpoints it would hold them all), the pages reach the database
// file, and another connection reads every document.
TEST(Sqlite, BackgroundCheckpointsBoundTheWalAndLoseNothing) {
  SqliteOptions o;
  o.path = temp_db("background-checkpoint");
  o.background_checkpoint = true;
  o.wal_autocheckpoint_kib = 400;  // the writer's own at 3.2 MB
  uintmax_t largest_wal = 0;
  {
    auto s = open_sqlite(o).value();
    for (int b = 0; b < 60; ++b) {
      auto w = s->upsert("c", interleaved_batch(b));
      ASSERT_TRUE(w.ok()) << w.error().message;
      ASSERT_EQ(w->written, 500);
      largest_wal = std::max(largest_wal, std::filesystem::file_size(o.path + "-wal"));
    }
    EXPECT_GT(std::filesystem::file_size(o.path), 10u << 20) << "the pages reached the database";
  }
  EXPECT_LT(largest_wal, 8u << 20);
  SqliteOptions plain;
  plain.path = o.path;
  auto other = open_sqlite(plain).value();
  EXPECT_EQ(other->count("c").value(), 30'000);
  auto last = other->get("c", "K:" + std::to_string(49 * 1'000'000'000LL + 599 * 60'000LL));
  ASSERT_TRUE(last.ok() && last->has_value());
}

// A reader in a long read transaction keeps the frames it may read: the writer's own checkpoint
// cannot finish, so it is tried briefly and then only 8 intervals later (at every commit it
// waited the 10 s busy timeout: these batches would take minutes). Nothing is lost, and once the
// reader ends the WAL starts over again (its file stops growing).
TEST(Sqlite, ALongReaderHoldsTheWalWithoutStallingTheWriter) {
  SqliteOptions o;
  o.path = temp_db("background-checkpoint-reader");
  o.background_checkpoint = true;
  o.wal_autocheckpoint_kib = 400;
  auto s = open_sqlite(o).value();
  ASSERT_TRUE(s->upsert("c", interleaved_batch(0)).ok());
  sqlite3* reader = nullptr;
  ASSERT_EQ(sqlite3_open_v2(o.path.c_str(), &reader, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(reader, "BEGIN; SELECT COUNT(*) FROM c;", nullptr, nullptr, nullptr),
            SQLITE_OK);
  const auto began = std::chrono::steady_clock::now();
  for (int b = 1; b < 40; ++b) ASSERT_TRUE(s->upsert("c", interleaved_batch(b)).ok());
  const double held_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  const auto wal_while_held = std::filesystem::file_size(o.path + "-wal");
  EXPECT_GT(wal_while_held, 8u << 20) << "the reader kept the WAL from starting over";
  sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(reader);
  // The first commits after the reader are appended before the writer's next try (at most 8
  // intervals); from then on the WAL is reused from its start.
  for (int b = 40; b < 50; ++b) ASSERT_TRUE(s->upsert("c", interleaved_batch(b)).ok());
  const auto wal_after = std::filesystem::file_size(o.path + "-wal");
  for (int b = 50; b < 90; ++b) ASSERT_TRUE(s->upsert("c", interleaved_batch(b)).ok());
  EXPECT_EQ(std::filesystem::file_size(o.path + "-wal"), wal_after)
      << "the WAL started over once the reader ended";
  EXPECT_EQ(s->count("c").value(), 45'000);
  std::printf("[ 39 batches beside the reader in %.2f s ]\n", held_s);
}

// A full disk while the thread checkpoints: its copies fail and the frames stay in the WAL (which
// is what a reader reads); the writer meets the full disk at its own commit, as without the thread,
// and once space is back everything is there.
TEST(Sqlite, ADiskFullWhileCheckpointingInTheBackgroundLosesNothing) {
  testing::FullDisk disk;
  SqliteOptions o;
  o.path = temp_db("background-checkpoint-full");
  o.background_checkpoint = true;
  o.wal_autocheckpoint_kib = 200;
  auto s = open_sqlite(o).value();
  int written = 0, refused = 0;
  for (int b = 0; b < 20; ++b) {
    disk.full = b % 3 == 2;
    auto w = s->upsert("c", interleaved_batch(b));
    if (w.ok()) {
      written += static_cast<int>(w->written);
    } else {
      EXPECT_TRUE(w.error().retryable) << w.error().message;
      ++refused;
    }
  }
  disk.full = false;
  EXPECT_GT(refused, 0);
  EXPECT_EQ(s->count("c").value(), written);
  for (int b = 0; b < 20; ++b) ASSERT_TRUE(s->upsert("c", interleaved_batch(b)).ok());
  EXPECT_EQ(s->count("c").value(), 10'000);
}

std::set<std::string> threads_of_this_process() {
  std::set<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    out.insert(e.path().filename().string());
  }
  return out;
}

// The checkpoint thread blocks every signal: workers open their store before they block SIGTERM
// for their own handling, and a thread that left it open let SIGTERM kill the connector at once
// (no final event; ManagerTest.RestartKeepsEveryQueueAndResumesTheDispatcher caught it).
TEST(Sqlite, TheCheckpointThreadTakesNoSignal) {
  const auto before = threads_of_this_process();
  SqliteOptions o;
  o.path = temp_db("checkpoint-signals");
  o.background_checkpoint = true;
  // Opened from a thread that takes SIGTERM and SIGINT, as a worker's main thread does then.
  sigset_t open_to, mask_before;
  sigemptyset(&open_to);
  sigaddset(&open_to, SIGTERM);
  sigaddset(&open_to, SIGINT);
  pthread_sigmask(SIG_UNBLOCK, &open_to, &mask_before);
  auto s = open_sqlite(o).value();
  pthread_sigmask(SIG_SETMASK, &mask_before, nullptr);
  int checked = 0;
  for (const auto& tid : threads_of_this_process()) {
    if (before.count(tid)) continue;
    std::ifstream status("/proc/self/task/" + tid + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("SigBlk:", 0) != 0) continue;
      const uint64_t blocked = std::stoull(line.substr(7), nullptr, 16);
      EXPECT_TRUE(blocked & (uint64_t{1} << (SIGTERM - 1))) << "thread " << tid << ": " << line;
      EXPECT_TRUE(blocked & (uint64_t{1} << (SIGINT - 1))) << "thread " << tid << ": " << line;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 1) << "one checkpoint thread";
}

TEST(Sqlite, UnwritablePathIsAClearError) {
  SqliteOptions o;
  o.path = "/proc/no/such/dir/x.db";
  auto s = open_sqlite(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("STREAMFORGE_DB"), std::string::npos);
}

TEST(Settings, ArangoWhenUrlSetElseSqlite) {
  auto s = store_settings_from_env(config::map_env({{"STREAMFORGE_DB", "/tmp/x.db"}})).value();
  EXPECT_FALSE(s.arango);
  EXPECT_EQ(s.sqlite.path, "/tmp/x.db");
  auto a = store_settings_from_env(config::map_env({{"ARANGO_URL", "https://db:8529"},
                                                    {"ARANGO_DB", "market"},
                                                    {"ARANGO_PASSWORD", "pw"}}))
               .value();
  EXPECT_TRUE(a.arango);
  EXPECT_EQ(a.arango_options.database, "market");
  EXPECT_EQ(a.arango_options.user, "root");
  EXPECT_FALSE(store_settings_from_env(config::map_env({{"ARANGO_URL", "db:8529"}})).ok());
}

}  // namespace
}  // namespace sf::store
