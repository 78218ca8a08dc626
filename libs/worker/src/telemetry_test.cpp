#include "sf/worker/telemetry.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "sf/worker/control.h"

namespace sf::worker {
namespace {

TEST(Telemetry, EventHasTheSeedsFields) {
  WorkerIdentity id{"wf-bulk-load-20240801-a1b2c3", "BTCUSDT", "api_candles_1m",
                    "loader-producer__a1b2c3"};
  TelemetryEvent e{EventStatus::loading, "Loaded and published 15000 records", 15000,
                   1722445560000};
  e.extra["progress"] = 0.5;
  auto v = boost::json::parse(event_json(id, e, 1722445567890)).as_object();
  EXPECT_EQ(v.at("queue_id").as_string(), "wf-bulk-load-20240801-a1b2c3");
  EXPECT_EQ(v.at("symbol").as_string(), "BTCUSDT");
  EXPECT_EQ(v.at("type").as_string(), "api_candles_1m");
  EXPECT_EQ(v.at("status").as_string(), "loading");
  EXPECT_EQ(v.at("message").as_string(), "Loaded and published 15000 records");
  EXPECT_EQ(v.at("records_written").as_int64(), 15000);
  EXPECT_EQ(v.at("finished").as_bool(), false);
  EXPECT_EQ(v.at("producer").as_string(), "loader-producer__a1b2c3");
  EXPECT_DOUBLE_EQ(v.at("timestamp").as_double(), 1722445567.890);
  EXPECT_EQ(v.at("last_loaded_timestamp").as_int64(), 1722445560000);
  EXPECT_DOUBLE_EQ(v.at("progress").as_double(), 0.5);
  EXPECT_FALSE(v.contains("error_message"));

  TelemetryEvent err{EventStatus::error, "failed", 3};
  err.error_message = "Binance said \"Invalid symbol.\"";
  auto w = boost::json::parse(event_json(id, err, 1722445567000)).as_object();
  EXPECT_EQ(w.at("finished").as_bool(), true);
  EXPECT_EQ(w.at("error_message").as_string(), "Binance said \"Invalid symbol.\"");
  EXPECT_FALSE(w.contains("last_loaded_timestamp"));
}

TEST(Control, OnlyStopForOurQueue) {
  EXPECT_TRUE(is_stop_command(R"({"command":"stop","queue_id":"wf-1"})", "wf-1"));
  EXPECT_FALSE(is_stop_command(R"({"command":"stop","queue_id":"wf-2"})", "wf-1"));
  EXPECT_FALSE(is_stop_command(R"({"command":"start","queue_id":"wf-1"})", "wf-1"));
  EXPECT_FALSE(is_stop_command(R"({"command":"stop"})", "wf-1"));
  EXPECT_FALSE(is_stop_command("not json", "wf-1"));
  EXPECT_FALSE(is_stop_command(R"({"command":"stop","queue_id":1})", "wf-1"));
}

}  // namespace
}  // namespace sf::worker
