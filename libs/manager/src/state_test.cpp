// Telemetry applied idempotently, and the queue status derived from its jobs.
#include "sf/manager/state.h"

#include <gtest/gtest.h>

namespace sf::manager {
namespace {

TelemetryEvent ev(const std::string& status, int64_t written, double ts = 1722470400.0) {
  TelemetryEvent e;
  e.queue_id = "q";
  e.producer = "loader-producer__abc123";
  e.status = status;
  e.records_written = written;
  e.timestamp = ts;
  e.message = status;
  return e;
}

TEST(State, EventsNeverMoveAJobBackwardsAndDuplicatesChangeNothing) {
  JobState j;
  j.status = "launched";
  EXPECT_TRUE(apply_event(j, ev("started", 0)));
  EXPECT_TRUE(apply_event(j, ev("loading", 100)));
  EXPECT_FALSE(apply_event(j, ev("loading", 100)));  // duplicate
  EXPECT_FALSE(apply_event(j, ev("loading", 50)));   // late, older
  EXPECT_FALSE(apply_event(j, ev("started", 0)));    // out of order
  EXPECT_EQ(j.records_written, 100);
  EXPECT_TRUE(apply_event(j, ev("finished", 120, 1722470460.0)));
  EXPECT_EQ(j.status, "finished");
  EXPECT_EQ(j.finished_at, "2024-08-01T00:01:00.000Z");
  EXPECT_EQ(j.started_at, "2024-08-01T00:00:00.000Z");
  const JobState before = j;
  EXPECT_FALSE(apply_event(j, ev("loading", 500)));
  EXPECT_FALSE(apply_event(j, ev("error", 0)));
  EXPECT_FALSE(apply_event(j, ev("finished", 120)));
  EXPECT_EQ(j.status, before.status);
  EXPECT_EQ(j.records_written, 120);
}

TEST(State, ErrorsCarryTheirMessage) {
  JobState j;
  auto e = ev("error", 3);
  e.error_message = "Binance answered -1121 Invalid symbol";
  EXPECT_TRUE(apply_event(j, e));
  EXPECT_EQ(j.error_message, "Binance answered -1121 Invalid symbol");
}

TEST(State, QueueStatusFollowsItsJobs) {
  QueueState q;
  q.jobs.resize(2);
  q.jobs[0].plan.target = "loader-producer";
  q.jobs[1].plan.target = "arango-connector";
  q.derive_status("t");
  EXPECT_EQ(q.status, "pending");
  q.jobs[0].status = "loading";
  q.derive_status("t");
  EXPECT_EQ(q.status, "loading");
  q.jobs[0].status = "finished";
  q.jobs[1].status = "finished";
  q.jobs[1].records_written = 42;
  q.jobs[0].records_written = 43;
  q.derive_status("t1");
  EXPECT_EQ(q.status, "finished");
  EXPECT_EQ(q.finished_at, "t1");
  EXPECT_EQ(q.records_written(), 42);  // what reached the store
  QueueState s = q;
  s.finished_at.clear();
  s.jobs[1].status = "loading";
  s.stop_requested = true;
  s.derive_status("t");
  EXPECT_EQ(s.status, "stopping");
  s.jobs[1].status = "interrupted";
  s.derive_status("t");
  EXPECT_EQ(s.status, "interrupted");
  QueueState e = q;
  e.jobs[1].status = "error";
  e.jobs[1].error_message = "store down";
  e.derive_status("t");
  EXPECT_EQ(e.status, "error");
  EXPECT_NE(e.error_message.find("store down"), std::string::npos);
}

TEST(State, DocumentsRoundTrip) {
  QueueState q;
  q.id = "wf-historical-20240601-abcdef";
  q.symbol = "BTCUSDT";
  q.time_range = "2024-06-01:2024-06-30";
  q.form = "workflow";
  q.created_at_ms = 1722470400000;
  JobState j;
  j.plan.target = "arango-connector";
  j.plan.type = "api_trades";
  j.plan.completes = {"btc_trades_2024_06"};
  j.status = "loading";
  j.records_written = 7;
  j.error_message = "said \"no\"\n\tthen \x01 and \\ end";
  q.jobs.push_back(j);
  q.derive_status("t");
  const std::string doc = to_json(q);
  auto back = queue_from_json(doc);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(to_json(*back), doc);
  EXPECT_EQ(back->jobs[0].error_message, j.error_message);  // escaped and read back exactly
  EXPECT_NE(doc.find("\"start_time\":\"2024-06-01T00:00:00.000Z\""), std::string::npos);
  EXPECT_FALSE(parse_event("nope").has_value());
  EXPECT_FALSE(parse_event(R"({"command":"stop","queue_id":"q"})").has_value());
}

// Review #23: odd numbers in a stored document or in telemetry neither throw nor overflow.
TEST(State, OddNumbersAreReadWithoutAThrowOrAnOverflow) {
  const std::string stored =
      R"({"id":"q1","created_at":1.5,"stop_requested_at":1e300,"jobs":[{"target":"loader-producer",)"
      R"("status":"loading","records_written":-1e30,"pid":2.5,"last_loaded_timestamp":1e19,)"
      R"("progress":1e300,"dead_lettered":18446744073709551615}]})";
  auto q = queue_from_json(stored);
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->created_at_ms, 2);
  EXPECT_GT(q->stop_requested_at_ms, int64_t{9'000'000'000'000'000'000});
  EXPECT_LT(q->jobs[0].records_written, int64_t{-9'000'000'000'000'000'000});
  EXPECT_EQ(q->jobs[0].pid, 3);
  EXPECT_GT(q->jobs[0].dead_lettered, 0);
  auto e =
      parse_event(R"({"queue_id":"q1","producer":"p","status":"loading","records_written":1e300,)"
                  R"("last_loaded_timestamp":-1e300,"progress":1e300,"timestamp":1e300})");
  ASSERT_TRUE(e.has_value());
  EXPECT_GT(e->records_written, int64_t{9'000'000'000'000'000'000});
  EXPECT_LT(e->last_loaded_timestamp, int64_t{-9'000'000'000'000'000'000});
  JobState j;
  j.status = "loading";
  EXPECT_TRUE(apply_event(j, *e));
  EXPECT_EQ(j.progress_permille, 1000);
  EXPECT_FALSE(iso_utc(1e300).empty());
}

}  // namespace
}  // namespace sf::manager
