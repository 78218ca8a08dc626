#include "sf/protocol/protocol.h"

#include <gtest/gtest.h>

#include <limits>

namespace sf::protocol {
namespace {

const Identity kId{"wf-bulk-load-20240801-a1b2c3", "BTCUSDT", "api_candles_1m",
                   "loader-producer__a1b2c3"};

TEST(Protocol, WhatAWorkerWritesIsWhatTheManagerAndTheConnectorRead) {
  Report r{EventStatus::loading, "Loaded and published 15000 records", 15000, 1722445560000};
  r.extra["progress"] = 0.5;
  r.extra["dead_lettered"] = 2;
  r.extra["nodes"] = 12;
  auto e = parse_event(event_json(kId, r, 1722445567890));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->queue_id, kId.queue_id);
  EXPECT_EQ(e->symbol, "BTCUSDT");
  EXPECT_EQ(e->type, "api_candles_1m");
  EXPECT_EQ(e->producer, kId.producer_id);
  EXPECT_EQ(e->status, "loading");
  EXPECT_EQ(e->message, r.message);
  EXPECT_EQ(e->records_written, 15000);
  EXPECT_EQ(e->last_loaded_timestamp, 1722445560000);
  EXPECT_DOUBLE_EQ(e->timestamp, 1722445567.890);
  EXPECT_DOUBLE_EQ(e->progress, 0.5);
  EXPECT_EQ(e->dead_lettered, 2);
  // The known fields are fields, the others metrics (`finished` is a bool: neither).
  EXPECT_EQ(e->metrics, (std::map<std::string, double>{{"nodes", 12}}));

  for (auto s : {EventStatus::started, EventStatus::finished, EventStatus::interrupted,
                 EventStatus::error}) {
    Report f{s, "m", 3};
    f.error_message = "Binance said \"Invalid symbol.\"";
    auto g = parse_event(event_json(kId, f, 1722445567000));
    ASSERT_TRUE(g.has_value());
    EXPECT_EQ(g->status, to_string(s));
    EXPECT_EQ(is_final(g->status), s != EventStatus::started);
    EXPECT_EQ(g->error_message, s == EventStatus::error ? f.error_message : "");
  }
}

TEST(Protocol, StatusesInTheirOrder) {
  const char* order[] = {"pending", "launched", "started", "loading"};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(status_rank(order[i]), i) << order[i];
  for (const char* s : {"finished", "interrupted", "error"}) {
    EXPECT_EQ(status_rank(s), 4);
    EXPECT_TRUE(is_final(s));
  }
  EXPECT_EQ(status_rank("done"), -1);
  EXPECT_FALSE(is_final("loading"));
}

TEST(Protocol, WhatIsNotAnEventIsNone) {
  EXPECT_FALSE(parse_event("nope"));
  EXPECT_FALSE(parse_event("[1,2]"));
  EXPECT_FALSE(parse_event(stop_command("q")));
  EXPECT_FALSE(parse_event(R"({"queue_id":"q","producer":"p"})"));
  // pending and launched are the manager's word, never a worker's.
  EXPECT_FALSE(parse_event(R"({"queue_id":"q","producer":"p","status":"launched"})"));
  EXPECT_FALSE(parse_event(R"({"queue_id":"q","status":"loading"})"));
  // Hostile numbers are clamped, not undefined.
  auto e =
      parse_event(R"({"queue_id":"q","producer":"p","status":"loading","records_written":1e300,)"
                  R"("last_loaded_timestamp":-1e300,"dead_lettered":"x"})");
  ASSERT_TRUE(e);
  EXPECT_GT(e->records_written, int64_t{9'000'000'000'000'000'000});
  EXPECT_LT(e->last_loaded_timestamp, -int64_t{9'000'000'000'000'000'000});
  EXPECT_EQ(e->dead_lettered, -1);
  EXPECT_EQ(whole(std::numeric_limits<double>::quiet_NaN(), 7), 7);
  EXPECT_EQ(whole(2.5, 0), 3);
}

TEST(Protocol, MetricsAreBoundedInNumberAndNameLength) {
  std::string text = R"({"queue_id":"q","producer":"p","status":"loading")";
  for (int i = 0; i < 100; ++i)
    text += ",\"m" + std::to_string(100 + i) + "\":" + std::to_string(i);
  text += ",\"" + std::string(41, 'x') + "\":1}";
  auto e = parse_event(text);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->metrics.size(), kMaxMetrics);
  EXPECT_FALSE(e->metrics.count(std::string(41, 'x')));
}

TEST(Protocol, TheStopCommandNamesItsQueue) {
  EXPECT_EQ(stop_target(stop_command("wf-1")), "wf-1");
  EXPECT_EQ(stop_target(stop_command("a \"quoted\" id")), "a \"quoted\" id");
  EXPECT_FALSE(stop_target(R"({"command":"start","queue_id":"wf-1"})"));
  EXPECT_FALSE(stop_target(R"({"command":"stop"})"));
  EXPECT_FALSE(stop_target(R"({"command":"stop","queue_id":1})"));
  EXPECT_FALSE(stop_target("not json"));
}

TEST(Protocol, AWorkersSecretsStayOutOfItsEvents) {
  Report r{EventStatus::error, "cannot connect to https://user:hunter2@arango:8529"};
  r.error_message = "sasl.password=hunter2 refused";
  const std::string text = event_json(kId, r, 1);
  EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
}

}  // namespace
}  // namespace sf::protocol
