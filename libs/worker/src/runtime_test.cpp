#include "sf/worker/runtime.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <thread>

#include "sf/kafka/testing/embedded_kafka.h"
#include "sf/log/log.h"

extern char** environ;

namespace sf::worker {
namespace {

using namespace std::chrono_literals;

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kafka_.create_topic("queue-control", 1);
    kafka_.create_topic("queue-events", 1);
    kafka_.create_topic("data", 1);
    cfg_.queue_id = "wf-test-20240801-abcdef";
    cfg_.symbol = "BTCUSDT";
    cfg_.type = "api_trades";
    cfg_.kind = config::DataKind::api_trades;
    cfg_.kafka_topic = "data";
    cfg_.producer_id = "loader-producer__abcdef";
    cfg_.kafka = kafka_.settings();
    cfg_.telemetry_interval = 100ms;
  }

  std::vector<boost::json::object> events(int at_least) {
    std::vector<boost::json::object> out;
    for (const auto& m : kafka_.read_topic("queue-events", at_least, 20s)) {
      out.push_back(boost::json::parse(m.value).as_object());
    }
    // read_topic stops at `at_least`; read again for the rest now that everything was flushed.
    auto all = kafka_.read_topic("queue-events", -1, 5s);
    out.clear();
    for (const auto& m : all) out.push_back(boost::json::parse(m.value).as_object());
    return out;
  }

  void send_stop(const std::string& queue_id) {
    kafka::ProducerOptions o;
    o.settings = kafka_.settings();
    auto p = kafka::Producer::create(o);
    ASSERT_TRUE(p.ok());
    ASSERT_TRUE((*p)->send("queue-control", queue_id,
                           R"({"command":"stop","queue_id":")" + queue_id + "\"}")
                    .ok());
    ASSERT_TRUE((*p)->flush(10s).ok());
  }

  kafka::testing::EmbeddedKafka kafka_;
  config::WorkerConfig cfg_;
  RuntimeOptions opts_{SystemClock::shared(), 30'000ms, false};
};

TEST_F(RuntimeTest, FinishedAfterEveryRecordIsAcknowledged) {
  int code = run_worker(
      cfg_,
      [](WorkerContext& ctx) -> Status {
        ctx.progress.expected = 500;
        for (int i = 0; i < 500; ++i) {
          if (auto st = ctx.producer.send("data", "BTCUSDT", "r" + std::to_string(i), 1000 + i);
              !st) {
            return st;
          }
          ctx.progress.done = i + 1;
          if (i % 100 == 0) std::this_thread::sleep_for(50ms);  // let a few heartbeats happen
        }
        return ok_status();
      },
      opts_);
  EXPECT_EQ(code, 0);
  auto ev = events(3);
  ASSERT_GE(ev.size(), 3u);
  EXPECT_EQ(ev.front().at("status").as_string(), "started");
  EXPECT_EQ(ev.back().at("status").as_string(), "finished");
  EXPECT_EQ(ev.back().at("records_written").as_int64(), 500);
  EXPECT_EQ(ev.back().at("last_loaded_timestamp").as_int64(), 1499);
  EXPECT_TRUE(ev.back().at("finished").as_bool());
  int loading = 0, finals = 0;
  for (const auto& e : ev) {
    if (e.at("status").as_string() == "loading") ++loading;
    const auto s = e.at("status").as_string();
    if (s == "finished" || s == "interrupted" || s == "error") ++finals;
  }
  EXPECT_GE(loading, 1) << "a loading event every TELEMETRY_INTERVAL";
  EXPECT_EQ(finals, 1) << "exactly one final event";
  EXPECT_EQ(kafka_.read_topic("data", 500).size(), 500u);
}

TEST_F(RuntimeTest, StopOnTheControlTopicGivesInterrupted) {
  std::atomic<int> sent{0};
  std::thread stopper([&] {
    while (sent.load() < 50) std::this_thread::sleep_for(5ms);
    send_stop("wf-other-queue");  // not ours: ignored
    send_stop(cfg_.queue_id);
  });
  int code = run_worker(
      cfg_,
      [&](WorkerContext& ctx) -> Status {
        while (!ctx.stop.stop_requested()) {
          if (auto st = ctx.producer.send("data", "BTCUSDT", "x", 1); !st) return st;
          ++sent;
          ctx.stop.wait_for(1ms);
        }
        return ok_status();
      },
      opts_);
  stopper.join();
  EXPECT_EQ(code, 0);
  auto ev = events(2);
  ASSERT_GE(ev.size(), 2u);
  EXPECT_EQ(ev.back().at("status").as_string(), "interrupted");
  EXPECT_EQ(ev.back().at("records_written").as_int64(), sent.load())
      << "everything read was delivered";
  EXPECT_EQ(static_cast<int>(kafka_.read_topic("data", sent.load()).size()), sent.load());
}

TEST_F(RuntimeTest, BodyErrorGivesErrorEventAndExitOne) {
  int code = run_worker(
      cfg_,
      [](WorkerContext&) -> Status { return make_error("Binance answered -1121 Invalid symbol."); },
      opts_);
  EXPECT_EQ(code, 1);
  auto ev = events(2);
  ASSERT_GE(ev.size(), 2u);
  EXPECT_EQ(ev.back().at("status").as_string(), "error");
  EXPECT_EQ(ev.back().at("error_message").as_string(), "Binance answered -1121 Invalid symbol.");
}

// The whole program: SIGTERM mid-run gives `interrupted` and exit 0; a stop command as well.
class WorkerProcessTest : public RuntimeTest {
 protected:
  pid_t spawn(const std::string& queue_id) {
    std::vector<std::string> env = {"QUEUE_ID=" + queue_id,
                                    "SYMBOL=BTCUSDT",
                                    "TYPE=ws_trades",
                                    "KAFKA_TOPIC=data",
                                    "TELEMETRY_PRODUCER_ID=loader-ws-trades__abcdef",
                                    "KAFKA_BOOTSTRAP_SERVERS=" + kafka_.bootstrap_servers(),
                                    "TELEMETRY_INTERVAL=0.2",
                                    "LOG_FORMAT=json"};
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string path = std::string(SF_BIN_DIR) + "/tests/sf-test-worker";
    char* argv[] = {path.data(), nullptr};
    pid_t pid = 0;
    EXPECT_EQ(posix_spawn(&pid, path.c_str(), nullptr, nullptr, argv, envp.data()), 0);
    return pid;
  }

  int wait_exit(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  void wait_for_records(int n) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (static_cast<int>(kafka_.read_topic("data", n, 1s).size()) < n &&
           std::chrono::steady_clock::now() < deadline) {
    }
  }
};

TEST_F(WorkerProcessTest, SigtermGivesInterruptedAndExitZero) {
  pid_t pid = spawn("wf-sigterm-20240801-abcdef");
  wait_for_records(20);
  kill(pid, SIGTERM);
  EXPECT_EQ(wait_exit(pid), 0);
  auto ev = events(2);
  ASSERT_GE(ev.size(), 2u);
  EXPECT_EQ(ev.front().at("status").as_string(), "started");
  EXPECT_EQ(ev.back().at("status").as_string(), "interrupted");
  EXPECT_NE(ev.back().at("message").as_string().find("SIGTERM"), std::string::npos);
  const auto written = ev.back().at("records_written").as_int64();
  EXPECT_EQ(static_cast<int64_t>(kafka_.read_topic("data", -1, 5s).size()), written);
}

TEST_F(WorkerProcessTest, StopCommandGivesInterruptedAndExitZero) {
  const std::string qid = "wf-stopcmd-20240801-abcdef";
  pid_t pid = spawn(qid);
  wait_for_records(20);
  send_stop(qid);
  EXPECT_EQ(wait_exit(pid), 0);
  auto ev = events(2);
  ASSERT_GE(ev.size(), 2u);
  EXPECT_EQ(ev.back().at("status").as_string(), "interrupted");
  EXPECT_NE(ev.back().at("message").as_string().find("stop command"), std::string::npos);
}

TEST_F(WorkerProcessTest, BadConfigExitsTwoWithOneLine) {
  std::string path = std::string(SF_BIN_DIR) + "/tests/sf-test-worker";
  std::string cmd = "env -i QUEUE_ID=q SYMBOL=btc " + path + " 2>&1; echo \"exit=$?\"";
  FILE* f = popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, f)) out += buf;
  pclose(f);
  EXPECT_EQ(out,
            "config error: SYMBOL='btc' is invalid: expected a Binance symbol of 2-20 "
            "characters A-Z 0-9 (upper case), e.g. BTCUSDT\nexit=2\n");
}

}  // namespace
}  // namespace sf::worker
