#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "sf/kafka/client.h"
#include "sf/kafka/testing/embedded_kafka.h"

namespace sf::kafka {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<Producer> make_producer(const testing::EmbeddedKafka& k, Properties extra = {}) {
  ProducerOptions o;
  o.settings = k.settings();
  o.properties = std::move(extra);
  auto p = Producer::create(o);
  EXPECT_TRUE(p.ok()) << p.error().message;
  return std::move(p).value();
}

TEST(Kafka, RoundTripCountsOnlyAcknowledgedRecords) {
  testing::EmbeddedKafka kafka;
  kafka.create_topic("data", 3);
  auto producer = make_producer(kafka);
  constexpr int kN = 5000;
  std::vector<std::string> sent;
  for (int i = 0; i < kN; ++i) {
    sent.push_back(R"({"trade_id":)" + std::to_string(i) + R"(,"price":61685.99})");
    ASSERT_TRUE(producer->send("data", i % 2 ? "BTCUSDT" : "ETHUSDT", sent.back(), 1000 + i).ok());
  }
  ASSERT_TRUE(producer->flush(30s).ok());
  EXPECT_EQ(producer->delivered(), kN);
  EXPECT_EQ(producer->failed(), 0);
  EXPECT_EQ(producer->in_flight(), 0);
  EXPECT_EQ(producer->max_delivered_tag(), 1000 + kN - 1);

  auto got = kafka.read_topic("data", kN);
  ASSERT_EQ(got.size(), static_cast<size_t>(kN));
  std::multiset<std::string> a(sent.begin(), sent.end()), b;
  for (const auto& m : got) {
    b.insert(m.value);
    // key = symbol; all records of one key land in one partition, in order
    EXPECT_TRUE(m.key == "BTCUSDT" || m.key == "ETHUSDT");
  }
  EXPECT_EQ(a, b);
  std::map<std::string, std::set<int32_t>> partitions_of_key;
  for (const auto& m : got) partitions_of_key[m.key].insert(m.partition);
  for (const auto& [k, parts] : partitions_of_key) EXPECT_EQ(parts.size(), 1u) << k;
}

// Reports reach a listener a produce request's worth at a time, each record's once, with its
// value, offset and tag; records to more topics than the producer keeps handles for still go.
TEST(Kafka, DeliveryReportsComeInBatchesEachRecordOnce) {
  testing::EmbeddedKafka kafka;
  constexpr int kTopics = 20;  // past the producer's 16 topic handles: the rest go by name
  for (int t = 0; t < kTopics; ++t) kafka.create_topic("t" + std::to_string(t), 1);
  auto producer = make_producer(kafka, {{"linger.ms", "20"}});
  std::mutex mu;
  std::map<int64_t, int> seen;  // tag -> reports
  int calls = 0;
  bool values_match = true;
  const auto handle = producer->on_delivery([&](std::span<const DeliveryReport> batch) {
    std::lock_guard lock(mu);
    ++calls;
    for (const auto& r : batch) {
      ++seen[r.tag];
      values_match = values_match && r.ok && r.offset >= 0 && r.value == std::to_string(r.tag);
    }
  });
  constexpr int kN = 4000;
  for (int i = 0; i < kN; ++i) {
    ASSERT_TRUE(producer->send("t" + std::to_string(i % kTopics), "K", std::to_string(i), i).ok());
  }
  ASSERT_TRUE(producer->flush(30s).ok());
  producer->remove_on_delivery(handle);
  std::lock_guard lock(mu);
  EXPECT_EQ(seen.size(), static_cast<size_t>(kN));
  for (const auto& [tag, n] : seen) EXPECT_EQ(n, 1) << "tag " << tag;
  EXPECT_TRUE(values_match);
  EXPECT_LT(calls, kN / 4) << "reports came one by one";
  EXPECT_EQ(producer->delivered(), kN);
  for (int t = 0; t < kTopics; ++t) {
    EXPECT_EQ(kafka.read_topic("t" + std::to_string(t), kN / kTopics).size(),
              static_cast<size_t>(kN / kTopics));
  }
}

TEST(Kafka, BrokerOutageLosesNothing) {
  testing::EmbeddedKafka kafka;
  kafka.create_topic("data", 1);
  auto producer = make_producer(kafka);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(producer->send("data", "K", std::to_string(i)).ok());
  ASSERT_TRUE(producer->flush(10s).ok());
  ASSERT_TRUE(kafka.cluster().set_broker_down().ok());
  for (int i = 100; i < 200; ++i) ASSERT_TRUE(producer->send("data", "K", std::to_string(i)).ok());
  EXPECT_FALSE(producer->flush(1500ms).ok())
      << "nothing can be acknowledged while the broker is down";
  EXPECT_LT(producer->delivered(), 200);
  ASSERT_TRUE(kafka.cluster().set_broker_up().ok());
  ASSERT_TRUE(producer->flush(30s).ok());
  EXPECT_EQ(producer->delivered(), 200);
  auto got = kafka.read_topic("data", 200);
  ASSERT_EQ(got.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(got[i].value, std::to_string(i)) << "in order, once";
}

TEST(Kafka, FullQueueIsReportedNotDropped) {
  testing::EmbeddedKafka kafka;
  kafka.create_topic("data", 1);
  auto producer = make_producer(kafka, {{"queue.buffering.max.messages", "10"}});
  ASSERT_TRUE(kafka.cluster().set_broker_down().ok());
  Status last = ok_status();
  int accepted = 0;
  for (int i = 0; i < 50 && last.ok(); ++i) {
    last = producer->send("data", "K", "v", 0, 50ms);
    if (last.ok()) ++accepted;
  }
  ASSERT_FALSE(last.ok());
  EXPECT_TRUE(last.error().retryable);
  EXPECT_NE(last.error().message.find("queue full"), std::string::npos) << last.error().message;
  ASSERT_TRUE(kafka.cluster().set_broker_up().ok());
  ASSERT_TRUE(producer->flush(30s).ok());
  EXPECT_EQ(producer->delivered(), accepted);
}

// A run goes in whole and in order, each record with its tag; a full queue stops it at a record:
// `sent` says how many went, and the rest sent again later follow them without a gap or a
// duplicate. The same past the producer's cached topic handles (record by record then).
TEST(Kafka, ARunGoesInInOrderAndAFullQueueStopsItAtARecord) {
  testing::EmbeddedKafka kafka;
  constexpr int kHandles = 16;  // the producer's cached topic handles
  for (int t = 0; t < kHandles; ++t) kafka.create_topic("fill" + std::to_string(t), 1);
  kafka.create_topic("data", 3);
  kafka.create_topic("by-name", 1);
  auto producer = make_producer(kafka, {{"queue.buffering.max.messages", "10"}});
  std::mutex mu;
  std::map<std::string, int64_t> tag_of;  // value -> tag reported
  const auto handle = producer->on_delivery([&](std::span<const DeliveryReport> batch) {
    std::lock_guard lock(mu);
    for (const auto& r : batch) {
      if (r.ok) tag_of[std::string(r.value)] = r.tag;
    }
  });
  auto run_of = [](const std::string& prefix, int n, std::vector<std::string>& storage,
                   std::vector<std::string_view>& values, std::vector<int64_t>& tags) {
    for (int i = 0; i < n; ++i) storage.push_back(prefix + std::to_string(i));
    for (int i = 0; i < n; ++i) {
      values.push_back(storage[static_cast<size_t>(i)]);
      tags.push_back(1000 + i);
    }
  };
  // Every topic: 25 records in one run with the broker down, 10 fit the queue.
  for (const std::string topic : {"data", "by-name"}) {
    if (topic == "by-name") {  // the cached handles all taken: this topic goes by name
      for (int t = 0; t < kHandles; ++t) {
        ASSERT_TRUE(producer->send("fill" + std::to_string(t), "K", "x").ok());
      }
      ASSERT_TRUE(producer->flush(10s).ok());
    }
    std::vector<std::string> storage;
    std::vector<std::string_view> values;
    std::vector<int64_t> tags;
    run_of(topic + "-", 25, storage, values, tags);
    ASSERT_TRUE(kafka.cluster().set_broker_down().ok());
    size_t sent = 99;
    auto st = producer->send_run(topic, "K", values, tags, sent, 50ms);
    ASSERT_FALSE(st.ok()) << topic;
    EXPECT_TRUE(st.error().retryable);
    EXPECT_NE(st.error().message.find("queue full"), std::string::npos) << st.error().message;
    EXPECT_EQ(sent, 10u) << topic;
    ASSERT_TRUE(kafka.cluster().set_broker_up().ok());
    ASSERT_TRUE(producer->flush(30s).ok());
    const std::span<const std::string_view> rest_values(values.begin() + 10, values.end());
    const std::span<const int64_t> rest_tags(tags.begin() + 10, tags.end());
    ASSERT_TRUE(producer->send_run(topic, "K", rest_values, rest_tags, sent, 10s).ok()) << topic;
    EXPECT_EQ(sent, 15u);
    ASSERT_TRUE(producer->flush(30s).ok());
    auto got = kafka.read_topic(topic, 25);
    ASSERT_EQ(got.size(), 25u) << topic;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].value, storage[i]) << topic << " record " << i;
      EXPECT_EQ(got[i].key, "K");
      EXPECT_GT(got[i].timestamp_ms, 1'600'000'000'000) << "a CreateTime from the wall clock";
    }
    std::lock_guard lock(mu);
    for (size_t i = 0; i < storage.size(); ++i) {
      EXPECT_EQ(tag_of[storage[i]], 1000 + static_cast<int64_t>(i)) << storage[i];
    }
  }
  producer->remove_on_delivery(handle);
  EXPECT_EQ(producer->failed(), 0);
}

TEST(Kafka, BadPropertyIsNamed) {
  ProducerOptions o;
  o.settings.bootstrap_servers = "127.0.0.1:1";
  o.properties = {{"no.such.property", "1"}};
  auto p = Producer::create(o);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("no.such.property"), std::string::npos);

  o.properties = {{"linger.ms", "soon"}};
  auto q = Producer::create(o);
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.error().message.find("linger.ms=soon"), std::string::npos) << q.error().message;
}

TEST(Kafka, SecurityFollowsTheSettings) {
  config::KafkaSettings s;
  s.bootstrap_servers = "b:9093";
  s.security_protocol = "PLAINTEXT";
  auto plain = connection_properties(s);
  EXPECT_EQ(plain.at("security.protocol"), "PLAINTEXT");
  EXPECT_EQ(plain.count("sasl.username"), 0u);
  s.user = "user-producer-tls";
  s.password = config::Secret("pw");
  s.security_protocol = "SASL_SSL";
  s.sasl_mechanism = "SCRAM-SHA-512";
  s.ca_path = "/certs/ca.crt";
  s.extra = {{"linger.ms", "50"}, {"security.protocol", "SASL_PLAINTEXT"}};
  auto sasl = connection_properties(s);
  EXPECT_EQ(sasl.at("sasl.mechanisms"), "SCRAM-SHA-512");
  EXPECT_EQ(sasl.at("sasl.username"), "user-producer-tls");
  EXPECT_EQ(sasl.at("sasl.password"), "pw");
  EXPECT_EQ(sasl.at("ssl.ca.location"), "/certs/ca.crt");
  EXPECT_EQ(sasl.at("linger.ms"), "50");
  EXPECT_EQ(sasl.at("security.protocol"), "SASL_PLAINTEXT") << "extra properties override";
}

TEST(Kafka, AssignFromEndSeesOnlyWhatComesAfter) {
  testing::EmbeddedKafka kafka;
  kafka.create_topic("ctl", 2);
  auto producer = make_producer(kafka);
  ASSERT_TRUE(producer->send("ctl", "a", "before").ok());
  ASSERT_TRUE(producer->flush(10s).ok());
  ConsumerOptions o;
  o.settings = kafka.settings();
  auto c = Consumer::create(o);
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_TRUE((*c)->assign_from_end("ctl", 10s).ok());
  ASSERT_TRUE(producer->send("ctl", "a", "after").ok());
  ASSERT_TRUE(producer->flush(10s).ok());
  std::vector<std::string> seen;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (seen.empty() && std::chrono::steady_clock::now() < deadline) {
    auto m = (*c)->poll(100ms);
    ASSERT_TRUE(m.ok());
    if (*m) seen.push_back((*m)->value);
  }
  ASSERT_EQ(seen, std::vector<std::string>{"after"});
}

// Partitions added to an assignment and taken out of it: the others read on without repeating
// anything, a partition taken out gets nothing more, and added back at its next offset it gets
// exactly what came meanwhile.
TEST(Kafka, PartitionsAddedAndTakenOutLeaveTheOthersReading) {
  testing::EmbeddedKafka kafka;
  kafka.create_topic("inc", 2);
  auto producer = make_producer(kafka);
  auto send_round = [&](const std::string& round) {
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(producer->send("inc", "k" + std::to_string(i), round + std::to_string(i)).ok());
    }
    ASSERT_TRUE(producer->flush(10s).ok());
  };
  send_round("a");
  ConsumerOptions o;
  o.settings = kafka.settings();
  auto c = Consumer::create(o);
  ASSERT_TRUE(c.ok()) << c.error().message;
  // What arrives within `d`: values by partition, and the last offset of each.
  std::map<int32_t, std::vector<std::string>> seen;
  std::map<int32_t, int64_t> last;
  auto read_for = [&](std::chrono::milliseconds d) {
    seen.clear();
    const auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) {
      auto m = (*c)->poll(50ms);
      ASSERT_TRUE(m.ok()) << m.error().message;
      if (!*m) continue;
      seen[(*m)->partition].push_back((*m)->value);
      last[(*m)->partition] = (*m)->offset;
    }
  };
  ASSERT_TRUE((*c)->assign("inc", {{0, 0}}).ok());
  read_for(1500ms);
  ASSERT_EQ(seen.size(), 1u);
  const size_t in_0 = seen[0].size();
  ASSERT_GT(in_0, 0u);
  ASSERT_LT(in_0, 20u);  // both partitions hold some of the 20 keys

  ASSERT_TRUE((*c)->add_partitions("inc", {{1, 0}}).ok());
  read_for(1500ms);
  EXPECT_EQ(seen.count(0), 0u);  // partition 0 read on from where it was: nothing again
  EXPECT_EQ(seen[1].size(), 20 - in_0);

  ASSERT_TRUE((*c)->remove_partitions("inc", {0}).ok());
  send_round("b");
  read_for(1500ms);
  EXPECT_EQ(seen.count(0), 0u);  // taken out: nothing more
  EXPECT_EQ(seen[1].size(), 20 - in_0);

  ASSERT_TRUE((*c)->add_partitions("inc", {{0, last[0] + 1}}).ok());
  read_for(1500ms);
  EXPECT_EQ(seen.count(1), 0u);
  ASSERT_EQ(seen[0].size(), in_0);  // what came meanwhile, once
  for (const auto& v : seen[0]) EXPECT_EQ(v[0], 'b') << v;
}

// wake() ends a poll that waits for a record that never comes, and one wake ends one poll: the
// next waits again, and still returns a record that arrives.
TEST(Kafka, WakeEndsAWaitingPollOnce) {
  testing::EmbeddedKafka kafka;
  kafka.create_topic("ctl", 1);
  ConsumerOptions o;
  o.settings = kafka.settings();
  auto c = Consumer::create(o);
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_TRUE((*c)->assign_from_end("ctl", 10s).ok());
  std::atomic<bool> returned{false};
  std::optional<Result<std::optional<Message>>> got;
  std::thread waiter([&] {
    got = (*c)->poll(60s);
    returned = true;
  });
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(returned.load()) << "poll returned before wake()";
  const auto woken_at = std::chrono::steady_clock::now();
  (*c)->wake();
  waiter.join();
  // Well inside the poll's 60 s (a generous bound for a loaded machine: not a timing figure).
  EXPECT_LT(std::chrono::steady_clock::now() - woken_at, 20s);
  ASSERT_TRUE(got.has_value() && got->ok());
  EXPECT_FALSE(got->value().has_value());

  // Woken before it polls: the next poll returns at once; the one after waits for a record.
  (*c)->wake();
  const auto early_at = std::chrono::steady_clock::now();
  auto early = (*c)->poll(60s);
  EXPECT_LT(std::chrono::steady_clock::now() - early_at, 20s);
  ASSERT_TRUE(early.ok());
  EXPECT_FALSE(early->has_value());
  auto producer = make_producer(kafka);
  ASSERT_TRUE(producer->send("ctl", "a", "after").ok());
  ASSERT_TRUE(producer->flush(10s).ok());
  std::optional<std::string> seen;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!seen && std::chrono::steady_clock::now() < deadline) {
    auto m = (*c)->poll(1s);
    ASSERT_TRUE(m.ok());
    if (*m) seen = (*m)->value;
  }
  EXPECT_EQ(seen, std::optional<std::string>("after"));
}

// A consumer whose Fetch is refused for lack of Read on the topic gets an Error that says so
// (not retryable, kafka::not_authorized), then reads on once the refusal is gone.
TEST(Kafka, AFetchRefusedForLackOfReadIsNamedAndNotRetryable) {
  testing::EmbeddedKafka kafka;
  kafka.create_topic("data", 1);
  auto producer = make_producer(kafka);
  ASSERT_TRUE(producer->send("data", "a", "one").ok());
  ASSERT_TRUE(producer->flush(10s).ok());
  ASSERT_TRUE(kafka.cluster().fail_next_fetches(1, 1).ok());
  ConsumerOptions o;
  o.settings = kafka.settings();
  auto c = Consumer::create(o);
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_TRUE((*c)->assign("data", {{0, 0}}).ok());
  std::optional<Error> refused;
  std::vector<std::string> seen;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (seen.empty() && std::chrono::steady_clock::now() < deadline) {
    auto m = (*c)->poll(100ms);
    if (!m) {
      if (!refused) refused = m.error();
      continue;
    }
    if (*m) seen.push_back((*m)->value);
  }
  ASSERT_TRUE(refused.has_value()) << "the refused fetch was not reported";
  EXPECT_TRUE(not_authorized(*refused)) << refused->message;
  EXPECT_FALSE(refused->retryable);
  EXPECT_NE(refused->message.find("authorization"), std::string::npos) << refused->message;
  EXPECT_EQ(seen, std::vector<std::string>{"one"});
  EXPECT_FALSE(not_authorized(make_error("Kafka consume error on data: Broker: timed out", true)));
}

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A long-retained topic read from a point in time (review #17: the connector looks for its
// loader's final event in queue-events): the first message seen on each partition is the first
// one produced after that time, nothing older is read, and a time past the end starts at the end
// without missing what comes next.
TEST(Kafka, AssignFromTimeReadsOnlyWhatWasProducedSinceThen) {
  testing::EmbeddedKafka kafka;
  kafka.create_topic("events", 3);
  auto producer = make_producer(kafka);
  for (int i = 0; i < 3000; ++i) {
    ASSERT_TRUE(
        producer->send("events", "k" + std::to_string(i % 7), "old-" + std::to_string(i)).ok());
  }
  ASSERT_TRUE(producer->flush(30s).ok());
  std::this_thread::sleep_for(30ms);
  const int64_t since = unix_ms();
  std::this_thread::sleep_for(30ms);
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(
        producer->send("events", "k" + std::to_string(i % 7), "new-" + std::to_string(i)).ok());
  }
  ASSERT_TRUE(producer->flush(30s).ok());

  ConsumerOptions o;
  o.settings = kafka.settings();
  auto c = Consumer::create(o);
  ASSERT_TRUE(c.ok()) << c.error().message;
  for (int32_t p = 0; p < 3; ++p) {
    auto w = (*c)->watermarks("events", p, 10s);
    ASSERT_TRUE(w.ok());
    auto first = (*c)->offset_at_time("events", p, 0, 10s);
    ASSERT_TRUE(first.ok()) << first.error().message;
    EXPECT_EQ(*first, w->low) << "partition " << p;
    auto last = (*c)->offset_at_time("events", p, since + 3'600'000, 10s);
    ASSERT_TRUE(last.ok()) << last.error().message;
    EXPECT_EQ(*last, w->high) << "partition " << p;
  }

  ASSERT_TRUE((*c)->assign_from_time("events", since, 20s).ok());
  std::set<std::string> got;
  std::map<int32_t, int64_t> next_offset;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (got.size() < 200 && std::chrono::steady_clock::now() < deadline) {
    auto m = (*c)->poll(100ms);
    ASSERT_TRUE(m.ok()) << m.error().message;
    if (!*m) continue;
    ASSERT_EQ((*m)->value.rfind("new-", 0), 0u) << "read an old message: " << (*m)->value;
    if (auto it = next_offset.find((*m)->partition); it != next_offset.end()) {
      ASSERT_EQ((*m)->offset, it->second) << "a gap in partition " << (*m)->partition;
    }
    next_offset[(*m)->partition] = (*m)->offset + 1;
    got.insert((*m)->value);
  }
  EXPECT_EQ(got.size(), 200u) << "every message produced since then, once";

  ASSERT_TRUE((*c)->assign_from_time("events", unix_ms() + 3'600'000, 20s).ok());
  ASSERT_TRUE(producer->send("events", "k1", "after").ok());
  ASSERT_TRUE(producer->flush(30s).ok());
  std::string seen;
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (seen.empty() && std::chrono::steady_clock::now() < until) {
    auto m = (*c)->poll(100ms);
    ASSERT_TRUE(m.ok()) << m.error().message;
    if (*m) seen = (*m)->value;
  }
  EXPECT_EQ(seen, "after") << "a time past the end starts at the end, not after what comes next";
}

// A reader slower than the fetcher with a prefetch queue far smaller than the topic: librdkafka
// 2.0.2 stops fetching when the queue is full and Consumer::poll kicks it going again when the
// queue drains. Every message arrives once, in order per partition; the time polls spent with
// nothing to return is printed (it was about a second per queue-full before the kick), not
// asserted.
TEST(Kafka, ASlowReaderWithASmallQueueGetsEveryMessageOnceInOrder) {
  testing::EmbeddedKafka kafka;
  kafka.create_topic("bulk", 4);
  auto producer = make_producer(kafka);
  constexpr int kN = 20'000;
  for (int i = 0; i < kN; ++i) {
    ASSERT_TRUE(producer->send("bulk", "k" + std::to_string(i % 4), std::to_string(i)).ok());
  }
  ASSERT_TRUE(producer->flush(30s).ok());
  ConsumerOptions o;
  o.settings = kafka.settings();
  o.properties = {{"queued.min.messages", "400"}};
  auto c = Consumer::create(o);
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_TRUE((*c)->assign_from_beginning("bulk", 10s).ok());
  std::map<int32_t, int64_t> next_offset;
  std::map<std::string, int> last_of_key;
  int got = 0;
  std::chrono::steady_clock::duration idle{};
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (got < kN && std::chrono::steady_clock::now() < deadline) {
    const auto t0 = std::chrono::steady_clock::now();
    auto m = (*c)->poll(100ms);
    ASSERT_TRUE(m.ok()) << m.error().message;
    if (!*m) {
      idle += std::chrono::steady_clock::now() - t0;
      continue;
    }
    ASSERT_EQ((*m)->offset, next_offset[(*m)->partition]) << "partition " << (*m)->partition;
    next_offset[(*m)->partition] = (*m)->offset + 1;
    const int v = std::stoi((*m)->value);
    auto [it, fresh] = last_of_key.try_emplace((*m)->key, v);
    if (!fresh) {
      ASSERT_GT(v, it->second);
      it->second = v;
    }
    if (++got % 500 == 0) std::this_thread::sleep_for(1ms);  // the slow store
  }
  EXPECT_EQ(got, kN);
  auto m = (*c)->poll(200ms);
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->has_value()) << "nothing beyond the topic's messages";
  std::printf("  %d messages with a 400-message queue; polls idle for %.0f ms in all\n", got,
              std::chrono::duration<double, std::milli>(idle).count());
}

TEST(Kafka, GroupConsumptionResumesAfterCommit) {
  testing::EmbeddedKafka kafka;
  kafka.create_topic("data", 1);
  auto producer = make_producer(kafka);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(producer->send("data", "K", std::to_string(i)).ok());
  ASSERT_TRUE(producer->flush(10s).ok());
  ConsumerOptions o;
  o.settings = kafka.settings();
  o.group_id = "g-resume";
  auto read = [&](int n) {
    auto c = Consumer::create(o);
    EXPECT_TRUE((*c)->subscribe({"data"}).ok());
    std::vector<std::string> got;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (static_cast<int>(got.size()) < n && std::chrono::steady_clock::now() < deadline) {
      auto m = (*c)->poll(100ms);
      if (m.ok() && *m) {
        got.push_back((*m)->value);
        EXPECT_TRUE((*c)->commit(**m).ok());
      }
    }
    (*c)->close();
    return got;
  };
  auto first = read(4);
  ASSERT_EQ(first, (std::vector<std::string>{"0", "1", "2", "3"}));
  auto second = read(6);
  ASSERT_EQ(second, (std::vector<std::string>{"4", "5", "6", "7", "8", "9"}));
}

}  // namespace
}  // namespace sf::kafka
