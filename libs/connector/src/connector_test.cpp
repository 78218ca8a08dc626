// arango-connector end to end: the real program (a child process) on the embedded Kafka, into
// SQLite files and into FakeArango; loader-producer against the replay exchange for real data.
#include "sf/connector/connector.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "sf/kafka/testing/embedded_kafka.h"
#include "sf/process/child.h"
#include "sf/replay/server.h"
#include "sf/replay/testing/captures.h"
#include "sf/store/testing/fake_arango.h"

namespace sf::connector {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using Env = std::map<std::string, std::string>;

std::string temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("sf-connector-" + std::to_string(getpid()) + "-" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

std::string candle_json(int64_t open_time, int i) {
  return R"({"open_time":)" + std::to_string(open_time) + R"(,"open":1.)" + std::to_string(i) +
         R"(,"close":2.5,"volume":10,"symbol":"BTCUSDT","interval":"1m","_key":"BTCUSDT:1m:)" +
         std::to_string(open_time) + "\"}";
}

class ConnectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kafka_.create_topic("queue-control", 1);
    kafka_.create_topic("queue-events", 1);
    dir_ = temp_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    producer_ = kafka::Producer::create({kafka_.settings(), "test-producer", {}}).value();
  }

  Env env(const std::string& queue, const std::string& topic,
          const std::string& type = "api_candles_1m") {
    return {{"QUEUE_ID", queue},
            {"SYMBOL", "BTCUSDT"},
            {"TYPE", type},
            {"TIME_RANGE", "2024-08-01:2024-08-01"},
            {"KAFKA_TOPIC", topic},
            {"TELEMETRY_PRODUCER_ID", "arango-connector__c0ffee"},
            {"KAFKA_BOOTSTRAP_SERVERS", kafka_.bootstrap_servers()},
            {"TELEMETRY_INTERVAL", "1"},
            {"COLLECTION_NAME", "btc_candles_1m_2024_08"},
            {"STREAMFORGE_DB", dir_ + "/store.db"},
            {"LOG_FORMAT", "text"}};
  }

  std::unique_ptr<process::Child> start(const std::string& program, const Env& e,
                                        const std::string& log_name) {
    process::SpawnOptions o;
    o.path = std::string(SF_BIN_DIR) + "/" + program;
    o.env = e;
    o.log_file = dir_ + "/" + log_name + ".log";
    return process::Child::spawn(o).value();
  }

  void produce(const std::string& topic, const std::string& key, const std::string& value) {
    ASSERT_TRUE(producer_->send(topic, key, value).ok());
  }
  void flush() { ASSERT_TRUE(producer_->flush(30s).ok()); }

  // The loader's final event, as loader-producer sends it.
  void loader_ended(const std::string& queue, const std::string& status,
                    const std::string& type = "api_candles_1m") {
    json::object ev{{"queue_id", queue},
                    {"symbol", "BTCUSDT"},
                    {"type", type},
                    {"status", status},
                    {"message", status},
                    {"records_written", 0},
                    {"finished", status == "finished"},
                    {"producer", "loader-producer__123456"},
                    {"timestamp", 1722470400.0}};
    if (status == "error") ev["error_message"] = "Binance said no";
    produce("queue-events", queue, json::serialize(ev));
    flush();
  }

  std::vector<json::object> events(const std::string& queue, const std::string& producer) {
    std::vector<json::object> out;
    for (auto& m : kafka_.read_topic("queue-events", -1, 10s)) {
      auto v = json::parse(m.value).as_object();
      if (v.at("queue_id").as_string() == queue && v.at("producer").as_string() == producer) {
        out.push_back(v);
      }
    }
    return out;
  }

  std::unique_ptr<store::Store> open_store() {
    store::SqliteOptions o;
    o.path = dir_ + "/store.db";
    return store::open_sqlite(o).value();
  }

  std::string log(const std::string& name) {
    std::ifstream in(dir_ + "/" + name + ".log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  kafka::testing::EmbeddedKafka kafka_;
  std::string dir_;
  std::unique_ptr<kafka::Producer> producer_;
};

TEST_F(ConnectorTest, RealCandlesFromTheLoaderLandInSqliteAndItFinishesAfterTheLoader) {
  auto server = replay::ReplayServer::start(replay::testing::captures(), {}).value();
  const std::string queue = "wf-bulk-load-20211127-a1b2c3";
  const std::string topic = queue + "-api_candles_1m";
  kafka_.create_topic(topic, 1);
  Env loader = env(queue, topic);
  loader["SYMBOL"] = "ADABTC";
  loader["TIME_RANGE"] = "2021-11-27:2021-11-28";
  loader["TELEMETRY_PRODUCER_ID"] = "loader-producer__123456";
  loader["BINANCE_API_URL"] = server->rest_url();
  Env sink = env(queue, topic);
  sink["SYMBOL"] = "ADABTC";
  sink["TIME_RANGE"] = "2021-11-27:2021-11-28";
  sink["COLLECTION_NAME"] = "ada_candles_1m_2021_11";
  // The connector first: it waits for the topic's data and for its loader's end.
  auto c = start("arango-connector", sink, "connector");
  auto l = start("loader-producer", loader, "loader");
  auto ls = l->wait(60s);
  ASSERT_TRUE(ls.has_value());
  ASSERT_EQ(ls->code, 0) << log("loader");
  auto cs = c->wait(60s);
  ASSERT_TRUE(cs.has_value()) << log("connector");
  EXPECT_EQ(cs->code, 0) << log("connector");

  auto records = kafka_.read_topic(topic, -1, 10s);
  ASSERT_EQ(records.size(), 2880u);
  auto st = open_store();
  EXPECT_EQ(st->count("ada_candles_1m_2021_11").value(), 2880);
  // Every document is its Kafka record, digit for digit.
  for (const auto& m : records) {
    const auto key = json::parse(m.value).as_object().at("_key").as_string();
    auto doc = st->get("ada_candles_1m_2021_11", std::string(key)).value();
    ASSERT_TRUE(doc.has_value()) << key;
    EXPECT_EQ(*doc, m.value);
  }
  auto ev = events(queue, "arango-connector__c0ffee");
  ASSERT_GE(ev.size(), 2u);
  EXPECT_EQ(ev.front().at("status").as_string(), "started");
  EXPECT_EQ(ev.back().at("status").as_string(), "finished");
  EXPECT_EQ(ev.back().at("records_written").as_int64(), 2880);
  EXPECT_EQ(ev.back().at("last_loaded_timestamp").as_int64(),
            json::parse(records.back().value).as_object().at("open_time").as_int64());
}

TEST_F(ConnectorTest, KilledMidRunAndRestartedHoldsExactlyTheTopic) {
  const std::string queue = "wf-kill-20240801-000001";
  const std::string topic = queue + "-data";
  kafka_.create_topic(topic, 4);
  constexpr int kRecords = 20'000;
  std::map<std::string, std::string> expected;
  for (int i = 0; i < kRecords; ++i) {
    const int64_t t = 1722470400000 + int64_t{i} * 60000;
    const std::string v = candle_json(t, i);
    expected["BTCUSDT:1m:" + std::to_string(t)] = v;
    produce(topic, std::to_string(i), v);  // spread over the 4 partitions
  }
  flush();
  loader_ended(queue, "finished");
  Env e = env(queue, topic);
  e["CONNECTOR_BATCH_SIZE"] = "200";
  e["CONNECTOR_LINGER_MS"] = "0";
  auto first = start("arango-connector", e, "first");
  auto st = open_store();
  int64_t seen = 0;
  for (int i = 0; i < 3000 && seen < 1000; ++i) {
    std::this_thread::sleep_for(5ms);
    auto n = st->count("btc_candles_1m_2024_08");
    if (n) seen = *n;
  }
  ASSERT_GE(seen, 1000);
  first->signal(SIGKILL);
  auto killed = first->wait(10s);
  ASSERT_TRUE(killed.has_value());
  ASSERT_TRUE(killed->signaled);
  const int64_t before_restart = st->count("btc_candles_1m_2024_08").value();
  ASSERT_LT(before_restart, kRecords) << "the connector finished before the kill; nothing tested";

  auto second = start("arango-connector", e, "second");
  auto s2 = second->wait(60s);
  ASSERT_TRUE(s2.has_value());
  EXPECT_EQ(s2->code, 0) << log("second");
  EXPECT_EQ(st->count("btc_candles_1m_2024_08").value(), kRecords);
  auto docs = st->range_by_time("btc_candles_1m_2024_08", 0, INT64_MAX, kRecords + 10).value();
  ASSERT_EQ(docs.size(), static_cast<size_t>(kRecords));
  for (const auto& d : docs) {
    const std::string key(json::parse(d).as_object().at("_key").as_string());
    EXPECT_EQ(d, expected.at(key));
  }
  // The second run resumed from the committed offsets: it wrote less than the whole topic.
  auto ev = events(queue, "arango-connector__c0ffee");
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back().at("status").as_string(), "finished");
  const int64_t second_written = ev.back().at("records_written").as_int64();
  EXPECT_LE(second_written, kRecords - before_restart + 200 * 4);
  EXPECT_GT(second_written, 0);
}

TEST_F(ConnectorTest, ReplayingTheWholeTopicChangesNothing) {
  const std::string queue = "wf-replay-20240801-000002";
  const std::string topic = queue + "-data";
  kafka_.create_topic(topic, 2);
  for (int i = 0; i < 3000; ++i) produce(topic, "k", candle_json(1722470400000 + i * 60000LL, i));
  flush();
  loader_ended(queue, "finished");
  Env e = env(queue, topic);
  auto first = start("arango-connector", e, "first");
  ASSERT_EQ(first->wait(60s).value().code, 0) << log("first");
  auto st = open_store();
  auto before = st->range_by_time("btc_candles_1m_2024_08", 0, INT64_MAX, 10'000).value();
  ASSERT_EQ(before.size(), 3000u);
  // A new consumer group reads the topic from its start again, twice.
  for (const char* group : {"replay-1", "replay-2"}) {
    e["CONNECTOR_GROUP_ID"] = group;
    auto again = start("arango-connector", e, group);
    ASSERT_EQ(again->wait(60s).value().code, 0) << log(group);
  }
  EXPECT_EQ(st->range_by_time("btc_candles_1m_2024_08", 0, INT64_MAX, 10'000).value(), before);
  auto ev = events(queue, "arango-connector__c0ffee");
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back().at("records_written").as_int64(), 3000);  // re-written, not duplicated
}

TEST_F(ConnectorTest, BadMessagesGoToTheDeadLetterTopicCountedAndNamed) {
  const std::string queue = "wf-bad-20240801-000003";
  const std::string topic = queue + "-data";
  kafka_.create_topic(topic, 1);
  kafka_.create_topic(topic + "-dlq", 1);
  produce(topic, "k", candle_json(1722470400000, 0));
  produce(topic, "k", "not json at all");
  produce(topic, "k", R"({"_key":"has space","open_time":1})");
  produce(topic, "k", "[1,2,3]");
  produce(topic, "k", R"({"trade_id":7,"timestamp":1722470400123})");  // no _key: derived
  produce(topic, "k", candle_json(1722470460000, 1));
  flush();
  loader_ended(queue, "finished");
  auto c = start("arango-connector", env(queue, topic), "connector");
  ASSERT_EQ(c->wait(60s).value().code, 0) << log("connector");
  auto st = open_store();
  EXPECT_EQ(st->count("btc_candles_1m_2024_08").value(), 3);
  auto derived = st->get("btc_candles_1m_2024_08", topic + ":0:4").value();
  ASSERT_TRUE(derived.has_value());
  EXPECT_NE(derived->find("\"trade_id\":7"), std::string::npos);

  auto dlq = kafka_.read_topic(topic + "-dlq", 3, 10s);
  ASSERT_EQ(dlq.size(), 3u);
  std::set<int64_t> offsets;
  for (const auto& m : dlq) {
    auto o = json::parse(m.value).as_object();
    offsets.insert(o.at("offset").as_int64());
    EXPECT_EQ(o.at("topic").as_string(), topic);
    EXPECT_FALSE(o.at("error").as_string().empty());
  }
  EXPECT_EQ(offsets, (std::set<int64_t>{1, 2, 3}));
  EXPECT_EQ(json::parse(dlq[0].value).as_object().at("value").as_string(), "not json at all");
  auto ev = events(queue, "arango-connector__c0ffee");
  EXPECT_EQ(ev.back().at("status").as_string(), "finished");
  EXPECT_EQ(ev.back().at("records_written").as_int64(), 3);
  EXPECT_EQ(ev.back().at("dead_lettered").to_number<double>(), 3.0);
  EXPECT_NE(log("connector").find("dead-lettered"), std::string::npos);
}

TEST_F(ConnectorTest, DataExpiredBeforeItWasReadIsAnErrorNamingTheOffsets) {
  const std::string queue = "wf-lost-20240801-000004";
  const std::string topic = queue + "-data";
  kafka_.create_topic(topic, 1);
  // Well past the embedded broker's ~5 MB per partition (after lz4: the padding must not
  // compress): the oldest batches are dropped.
  std::mt19937 rng(7);
  std::string pad(400, 'x');
  for (int i = 0; i < 30'000; ++i) {
    for (char& ch : pad) ch = static_cast<char>('a' + rng() % 26);
    produce(topic, "k",
            R"({"_key":"k)" + std::to_string(i) + R"(","open_time":1,"pad":")" + pad + "\"}");
  }
  flush();
  auto reader = kafka::Consumer::create({kafka_.settings(), "probe", "", {}}).value();
  const auto w = reader->watermarks(topic, 0, 10s).value();
  ASSERT_GT(w.low, 0) << "the embedded broker kept everything; this test needs it to drop";
  loader_ended(queue, "finished");
  auto c = start("arango-connector", env(queue, topic), "connector");
  auto s = c->wait(60s);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->code, 1);
  auto ev = events(queue, "arango-connector__c0ffee");
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back().at("status").as_string(), "error");
  const std::string why(ev.back().at("error_message").as_string());
  EXPECT_NE(why.find("data lost"), std::string::npos) << why;
  EXPECT_NE(why.find("offsets 0.." + std::to_string(w.low - 1)), std::string::npos) << why;
  EXPECT_EQ(open_store()->count("btc_candles_1m_2024_08").value(), 0);
}

TEST_F(ConnectorTest, IntoArangoAndAStoreDownPastTheBudgetCommitsNothing) {
  store::testing::FakeArango arango("market", "sf", "pw");
  const std::string queue = "wf-arango-20240801-000005";
  const std::string topic = queue + "-data";
  kafka_.create_topic(topic, 1);
  for (int i = 0; i < 500; ++i) produce(topic, "k", candle_json(1722470400000 + i * 60000LL, i));
  flush();
  loader_ended(queue, "finished");
  Env e = env(queue, topic);
  e["ARANGO_URL"] = arango.url();
  e["ARANGO_DB"] = "market";
  e["ARANGO_USER"] = "sf";
  e["ARANGO_PASSWORD"] = "pw";
  e["STORE_RETRY_BUDGET_MS"] = "1500";
  arango.fail_next(1'000'000, 503);
  auto down = start("arango-connector", e, "down");
  auto ds = down->wait(60s);
  ASSERT_TRUE(ds.has_value());
  EXPECT_EQ(ds->code, 1) << log("down");
  auto ev = events(queue, "arango-connector__c0ffee");
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back().at("status").as_string(), "error");
  EXPECT_NE(std::string(ev.back().at("error_message").as_string()).find("stayed unavailable"),
            std::string::npos);
  EXPECT_EQ(log("down").find("pw\""), std::string::npos);  // the password never logged
  auto group =
      kafka::Consumer::create(
          {kafka_.settings(), "probe", "arango-connector-" + queue + "-api_candles_1m", {}})
          .value();
  EXPECT_EQ(group->committed(topic, 1, 10s).value()[0], kafka::kNoOffset);

  arango.fail_next(0);
  auto up = start("arango-connector", e, "up");
  ASSERT_EQ(up->wait(60s).value().code, 0) << log("up");
  EXPECT_EQ(arango.documents("btc_candles_1m_2024_08").size(), 500u);
}

TEST_F(ConnectorTest, LiveTypeRunsUntilStoppedAndWritesWhatItRead) {
  const std::string queue = "wf-live-20240801-000006";
  const std::string topic = queue + "-ws_trades";
  kafka_.create_topic(topic, 1);
  Env e = env(queue, topic, "ws_trades");
  e.erase("TIME_RANGE");
  e["COLLECTION_NAME"] = "btc_trades_2024_08_01";
  auto c = start("arango-connector", e, "connector");
  for (int i = 0; i < 100; ++i) {
    produce(topic, "BTCUSDT",
            R"({"trade_id":)" + std::to_string(i) + R"(,"price":1,"timestamp":1722470400)" +
                std::to_string(100 + i) + R"(,"_key":"BTCUSDT:t:)" + std::to_string(i) + "\"}");
  }
  flush();
  auto st = open_store();
  for (int i = 0; i < 1000 && st->count("btc_trades_2024_08_01").value() < 100; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(st->count("btc_trades_2024_08_01").value(), 100);
  EXPECT_FALSE(c->exit_status().has_value());  // no end of its own
  produce("queue-control", queue, R"({"command":"stop","queue_id":")" + queue + "\"}");
  flush();
  auto s = c->wait(30s);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->code, 0) << log("connector");
  auto ev = events(queue, "arango-connector__c0ffee");
  EXPECT_EQ(ev.back().at("status").as_string(), "interrupted");
  EXPECT_EQ(ev.back().at("records_written").as_int64(), 100);
}

TEST_F(ConnectorTest, ItsLoaderFailingEndsItInErrorAfterWritingWhatThereWas) {
  const std::string queue = "wf-fail-20240801-000007";
  const std::string topic = queue + "-data";
  kafka_.create_topic(topic, 1);
  for (int i = 0; i < 10; ++i) produce(topic, "k", candle_json(1722470400000 + i * 60000LL, i));
  flush();
  loader_ended(queue, "error");
  auto c = start("arango-connector", env(queue, topic), "connector");
  EXPECT_EQ(c->wait(60s).value().code, 1);
  EXPECT_EQ(open_store()->count("btc_candles_1m_2024_08").value(), 10);
  auto ev = events(queue, "arango-connector__c0ffee");
  EXPECT_EQ(ev.back().at("status").as_string(), "error");
  EXPECT_NE(std::string(ev.back().at("error_message").as_string()).find("Binance said no"),
            std::string::npos);
}

// queue-events is read from shortly before the queue's creation (QUEUE_CREATED_AT), not from
// its start (review #17): a final event for the same id from before then (an earlier queue of
// that name, a replayed topic) is not this loader's end; the one after is.
TEST_F(ConnectorTest, EventsFromBeforeTheQueueWasCreatedAreNotRead) {
  const std::string queue = "wf-again-20240801-000009";
  const std::string topic = queue + "-data";
  kafka_.create_topic(topic, 1);
  for (int i = 0; i < 10; ++i) produce(topic, "k", candle_json(1722470400000 + i * 60000LL, i));
  for (int i = 0; i < 500; ++i)
    loader_ended("wf-other-20240801-" + std::to_string(100000 + i), "finished");
  loader_ended(queue, "error");  // from before this queue
  const int64_t old_event = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
  std::this_thread::sleep_for(2500ms);
  loader_ended(queue, "finished");  // this queue's loader
  Env e = env(queue, topic);
  // Created 1 s after the old event; the connector reads from 5 min before creation.
  e["QUEUE_CREATED_AT"] = std::to_string(old_event + 1000 + 5 * 60 * 1000);
  auto c = start("arango-connector", e, "connector");
  auto cs = c->wait(60s);
  ASSERT_TRUE(cs.has_value()) << log("connector");
  EXPECT_EQ(cs->code, 0) << log("connector");
  EXPECT_EQ(open_store()->count("btc_candles_1m_2024_08").value(), 10);
  auto ev = events(queue, "arango-connector__c0ffee");
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back().at("status").as_string(), "finished");
  EXPECT_NE(log("connector").find("reading queue-events from its first event since"),
            std::string::npos)
      << log("connector");
  // Without the creation time it reads from the start and takes the earlier error for its own.
  e.erase("QUEUE_CREATED_AT");
  e["COLLECTION_NAME"] = "btc_candles_1m_2024_08_b";
  auto again = start("arango-connector", e, "connector-b");
  auto as = again->wait(60s);
  ASSERT_TRUE(as.has_value()) << log("connector-b");
  EXPECT_EQ(as->code, 1) << log("connector-b");
}

// Large documents end a batch at CONNECTOR_BATCH_BYTES, long before CONNECTOR_BATCH_SIZE: the
// memory of the batches in flight (and an ArangoDB request) stays bounded whatever their size.
TEST_F(ConnectorTest, LargeDocumentsEndABatchAtItsByteBound) {
  const std::string queue = "wf-bytes-20240801-000009";
  const std::string topic = queue + "-data";
  kafka_.create_topic(topic, 1);
  const std::string pad(2000, 'x');
  std::vector<std::string> docs;
  for (int i = 0; i < 300; ++i) {
    auto d = candle_json(1722470400000 + i * 60000LL, i);
    d.insert(1, R"("pad":")" + pad + "\",");
    docs.push_back(d);
    produce(topic, "k", d);
  }
  flush();
  loader_ended(queue, "finished");
  Env e = env(queue, topic);
  e["CONNECTOR_BATCH_BYTES"] = "20000";
  e["DEBUG"] = "1";
  auto c = start("arango-connector", e, "bytes");
  ASSERT_EQ(c->wait(60s).value().code, 0) << log("bytes");
  // A batch ends with the document that reaches the bound: at most ceil(20000 / size) of them.
  const size_t most = (20000 + docs[0].size() - 1) / docs[0].size();
  const std::string text = log("bytes");
  size_t batches = 0, total = 0;
  for (size_t at = text.find("batch of "); at != std::string::npos;
       at = text.find("batch of ", at + 1)) {
    const size_t n = std::stoul(text.substr(at + 9));
    EXPECT_LE(n, most) << text;
    total += n;
    ++batches;
  }
  EXPECT_EQ(total, 300u) << text;
  EXPECT_GE(batches, 300u / most);
  auto st = open_store();
  ASSERT_EQ(st->count("btc_candles_1m_2024_08").value(), 300);
  for (const auto& d : docs) {
    const auto key = json::parse(d).as_object().at("_key").as_string();
    EXPECT_EQ(st->get("btc_candles_1m_2024_08", std::string(key)).value(), d);
  }
}

// The store's rows in the order they were inserted (its table is a rowid table): the `_key`s.
std::vector<std::string> keys_in_insert_order(const std::string& db, const std::string& table) {
  sqlite3* h = nullptr;
  std::vector<std::string> out;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* q = nullptr;
    const std::string sql = "SELECT _key FROM \"" + table + "\" ORDER BY rowid";
    if (sqlite3_prepare_v2(h, sql.c_str(), -1, &q, nullptr) == SQLITE_OK) {
      while (sqlite3_step(q) == SQLITE_ROW) {
        out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(q, 0)));
      }
    }
    sqlite3_finalize(q);
  }
  sqlite3_close(h);
  return out;
}

// A backlog of 6 keys, each a stretch of time of its own, in 6 partitions (by key: a partition
// holds one or more whole stretches), produced in batches of 10 (a fetch brings 10 messages of
// each partition): read one partition at a time, the store gets each stretch as one run; read
// together, they interleave. Documents produced once the
// connector runs (into every partition, the catch-up's end or not) are written all the same.
TEST_F(ConnectorTest, ABacklogInManyPartitionsIsReadAFewPartitionsAtATime) {
  const std::string queue = "wf-catchup-20240801-000010";
  const std::string topic = queue + "-data";
  kafka_.create_topic(topic, 6);
  auto small =
      kafka::Producer::create(
          {kafka_.settings(), "small-batches", {{"linger.ms", "0"}, {"batch.num.messages", "10"}}})
          .value();
  const int per_partition = 400;
  for (int p = 0; p < 6; ++p) {
    for (int i = 0; i < per_partition; ++i) {
      const int64_t t = 1722470400000 + (p * per_partition + i) * 60000LL;
      ASSERT_TRUE(small->send(topic, "block-" + std::to_string(p), candle_json(t, i)).ok());
    }
  }
  ASSERT_TRUE(small->flush(30s).ok());
  // The stretch of each document, by its time.
  auto stretch_of = [&](const std::string& key) {
    const int64_t t = std::stoll(key.substr(key.rfind(':') + 1));
    return static_cast<int>((t - 1722470400000) / 60000 / per_partition);
  };
  auto runs = [&](const std::string& db) {
    auto keys = keys_in_insert_order(db, "btc_candles_1m_2024_08");
    int runs = 0, last = -1;
    for (const auto& k : keys) {
      const int b = stretch_of(k);
      if (b != last) ++runs;
      last = b;
    }
    return std::pair<size_t, int>(keys.size(), runs);
  };

  Env e = env(queue, topic);
  e["CONNECTOR_CATCHUP_PARTITIONS"] = "1";
  e["CONNECTOR_BATCH_SIZE"] = "500";
  auto one = start("arango-connector", e, "one-at-a-time");
  // More documents into every partition while it runs (after its start: no backlog of its).
  std::this_thread::sleep_for(500ms);
  for (int p = 0; p < 6; ++p) {
    const int64_t t = 1722470400000 + (6 * per_partition + p) * 60000LL;
    ASSERT_TRUE(small->send(topic, "block-" + std::to_string(p), candle_json(t, p)).ok());
  }
  ASSERT_TRUE(small->flush(30s).ok());
  loader_ended(queue, "finished");
  ASSERT_EQ(one->wait(60s).value().code, 0) << log("one-at-a-time");
  const auto [written, one_runs] = runs(dir_ + "/store.db");
  EXPECT_EQ(written, 6u * per_partition + 6);
  // Each stretch one run; the 6 later documents at most 6 more.
  EXPECT_LE(one_runs, 6 + 6) << log("one-at-a-time");
  EXPECT_NE(log("one-at-a-time").find("reading it 1 partition(s) at a time"), std::string::npos);

  // The same topic read with every partition together: the runs interleave (what the catch-up
  // avoids; if this failed, the test above would prove nothing).
  e["CONNECTOR_CATCHUP_PARTITIONS"] = "0";
  e["STREAMFORGE_DB"] = dir_ + "/together.db";
  e["CONNECTOR_GROUP_ID"] = "together";
  auto together = start("arango-connector", e, "together");
  ASSERT_EQ(together->wait(60s).value().code, 0) << log("together");
  const auto [written_together, together_runs] = runs(dir_ + "/together.db");
  EXPECT_EQ(written_together, 6u * per_partition + 6);
  EXPECT_GT(together_runs, 30);
}

TEST_F(ConnectorTest, BadConfigExitsTwoWithALineNamingTheVariable) {
  for (auto [var, value] :
       std::vector<std::pair<std::string, std::string>>{{"COLLECTION_NAME", ""},
                                                        {"COLLECTION_NAME", "9bad name"},
                                                        {"CONNECTOR_BATCH_SIZE", "0"},
                                                        {"CONNECTOR_BATCH_BYTES", "1k"},
                                                        {"CONNECTOR_CATCHUP_PARTITIONS", "-1"},
                                                        {"ARANGO_URL", "db:8529"}}) {
    Env e = env("wf-cfg-20240801-000008", "t");
    if (value.empty()) {
      e.erase(var);
    } else {
      e[var] = value;
    }
    auto c = start("arango-connector", e, "cfg");
    auto s = c->wait(20s);
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->code, 2) << var;
    EXPECT_NE(log("cfg").find(var), std::string::npos) << log("cfg");
  }
}

}  // namespace
}  // namespace sf::connector
