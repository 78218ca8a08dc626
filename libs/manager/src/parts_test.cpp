// The core's parts on their own: the job environment (a pure function), the scheduler with a fake
// launcher, and the supervisor on a ManualClock (no sleeping), over a real SQLite store.
#include <gtest/gtest.h>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "dispatcher.h"
#include "job_env.h"
#include "queue_book.h"
#include "scheduler.h"
#include "sf/core/testing/manual_clock.h"
#include "sf/manager/testing/fake_launcher.h"
#include "sf/process/child.h"
#include "sf/protocol/protocol.h"
#include "supervisor.h"

namespace sf::manager {
namespace {

using std::chrono::milliseconds;
using testing::FakeLauncher;

JobPlan job(std::string name, std::string target, std::vector<std::string> waits,
            std::vector<std::string> completes) {
  JobPlan j;
  j.job_name = std::move(name);
  j.target = std::move(target);
  j.type = "api_candles_1m";
  j.producer_id = j.job_name + "__p";
  j.waits_for = std::move(waits);
  j.completes = std::move(completes);
  return j;
}

QueueState queue(std::string id, std::vector<JobPlan> plans) {
  QueueState q;
  q.id = std::move(id);
  q.symbol = "BTCUSDT";
  q.created_at_ms = 1;
  for (auto& p : plans) {
    JobState j;
    j.plan = std::move(p);
    q.jobs.push_back(std::move(j));
  }
  return q;
}

// loader -> connector (completes "candles") -> graph-builder (waits for it, completes "graph")
// -> trainer (waits for "graph").
QueueState chain(std::string id) {
  return queue(std::move(id), {job("load", "loader-producer", {}, {}),
                               job("sink", "arango-connector", {}, {"candles"}),
                               job("graph", "graph-builder", {"candles"}, {"graph"}),
                               job("train", "gnn-trainer", {"graph"}, {})});
}

LaunchSpec no_env(const QueueState&, const JobState& j) {
  LaunchSpec s;
  s.job_name = j.plan.job_name;
  s.target = j.plan.target;
  return s;
}

TEST(JobEnv, EachJobGetsItsVariablesAndSecretsOnlyByReference) {
  ManagerConfig cfg;
  cfg.worker_bootstrap = "kafka:9092";
  cfg.kafka_user_producer = "producer";
  cfg.kafka_password_producer = {"kafka-producer", "password", "p-secret-1"};
  cfg.kafka_user_consumer = "consumer";
  cfg.kafka_password_consumer = {"kafka-consumer", "password", "c-secret-2"};
  cfg.store.arango = true;
  cfg.store.arango_options.url = "http://arango:8529";
  cfg.store.arango_options.database = "streamforge";
  cfg.store.arango_options.user = "root";
  cfg.arango_password = {"arangodb", "password", "a-secret-3"};
  cfg.worker_env = {{"LOG_FORMAT", "text"}, {"BINANCE_PARALLEL_PAGES", "8"}};
  cfg.worker_secrets = {{"BINANCE_API_KEY", {"binance", "api-key", "b-secret-4"}}};
  QueueState q = chain("wf-x");
  q.time_range = "2024-08-01:2024-08-02";
  q.created_at_ms = 1722470400123;
  q.jobs[0].plan.kafka_topic = "wf-x-candles";
  q.jobs[0].plan.interval = "1m";
  q.jobs[1].plan.collection = "btc_candles";
  q.jobs[2].plan.collection = "btc_graph";
  q.jobs[2].plan.collection_inputs = {"btc_candles", "eth_candles"};
  q.jobs[3].plan.interval = "1m";
  q.jobs[3].plan.model_output = "/models/x.pt";

  const auto loader = launch_spec(cfg, q, q.jobs[0]);
  EXPECT_EQ(loader.target, "loader-producer");
  EXPECT_EQ(loader.env.at("QUEUE_ID"), "wf-x");
  EXPECT_EQ(loader.env.at("SYMBOL"), "BTCUSDT");
  EXPECT_EQ(loader.env.at("TIME_RANGE"), "2024-08-01:2024-08-02");
  EXPECT_EQ(loader.env.at("KAFKA_TOPIC"), "wf-x-candles");
  EXPECT_EQ(loader.env.at("KAFKA_BOOTSTRAP_SERVERS"), "kafka:9092");
  EXPECT_EQ(loader.env.at("TELEMETRY_PRODUCER_ID"), "load__p");
  EXPECT_EQ(loader.env.at("INTERVAL"), "1m");
  EXPECT_EQ(loader.env.at("QUEUE_CREATED_AT"), "1722470400123");
  EXPECT_EQ(loader.env.at("KAFKA_USER_PRODUCER"), "producer");
  EXPECT_EQ(loader.env.at("LOG_FORMAT"), "text");  // WORKER_ENV wins over the default
  EXPECT_EQ(loader.env.at("BINANCE_PARALLEL_PAGES"), "8");
  EXPECT_FALSE(loader.env.count("KAFKA_USER_CONSUMER"));
  EXPECT_FALSE(loader.env.count("ARANGO_URL"));  // a loader never touches the store
  EXPECT_EQ(loader.secrets.at("KAFKA_PASSWORD_PRODUCER").secret, "kafka-producer");
  EXPECT_EQ(loader.secrets.at("BINANCE_API_KEY").key, "api-key");
  EXPECT_FALSE(loader.secrets.count("ARANGO_PASSWORD"));

  const auto sink = launch_spec(cfg, q, q.jobs[1]);
  EXPECT_EQ(sink.env.at("COLLECTION_NAME"), "btc_candles");
  EXPECT_EQ(sink.env.at("KAFKA_TOPIC"), "wf-x-api_candles_1m");  // no topic named: the default
  EXPECT_EQ(sink.env.at("ARANGO_URL"), "http://arango:8529");
  EXPECT_EQ(sink.env.at("KAFKA_USER_CONSUMER"), "consumer");
  EXPECT_EQ(sink.secrets.at("ARANGO_PASSWORD").secret, "arangodb");
  EXPECT_EQ(sink.secrets.at("KAFKA_PASSWORD_CONSUMER").secret, "kafka-consumer");
  EXPECT_FALSE(sink.secrets.count("KAFKA_PASSWORD_PRODUCER"));

  const auto graph = launch_spec(cfg, q, q.jobs[2]);
  EXPECT_EQ(graph.env.at("COLLECTION_OUTPUT"), "btc_graph");
  EXPECT_EQ(graph.env.at("COLLECTION_INPUTS"), "btc_candles,eth_candles");
  EXPECT_FALSE(graph.env.count("COLLECTION_NAME"));

  const auto trainer = launch_spec(cfg, q, q.jobs[3]);
  EXPECT_FALSE(trainer.env.count("INTERVAL"));  // the trainer's interval is inference's
  EXPECT_EQ(trainer.env.at("MODEL_OUTPUT"), "/models/x.pt");

  // No secret's value is ever a plain variable.
  for (const auto& spec : {loader, sink, graph, trainer}) {
    for (const auto& [k, v] : spec.env) {
      EXPECT_EQ(v.find("-secret-"), std::string::npos) << spec.job_name << " " << k;
    }
  }
  EXPECT_EQ(sink.env.at("ARANGO_USER"), "root") << "no worker user configured: the manager's";

  // Review #24: a user of their own for jobs, the password by reference to its own secret.
  cfg.worker_arango_user = "streamforge-worker";
  cfg.worker_arango_password = {"arangodb-worker", "password", "w-secret-5"};
  for (const auto& job : {q.jobs[1], q.jobs[2], q.jobs[3]}) {
    const auto spec = launch_spec(cfg, q, job);
    EXPECT_EQ(spec.env.at("ARANGO_USER"), "streamforge-worker") << job.plan.target;
    EXPECT_EQ(spec.secrets.at("ARANGO_PASSWORD").secret, "arangodb-worker");
    EXPECT_EQ(spec.secrets.at("ARANGO_PASSWORD").value, "w-secret-5");
    for (const auto& [k, v] : spec.env) EXPECT_EQ(v.find("-secret-"), std::string::npos) << k;
  }
  cfg.store.arango = false;
  cfg.store.sqlite.path = "/data/streamforge.db";
  const auto local = launch_spec(cfg, q, q.jobs[1]);
  EXPECT_EQ(local.env.at("STREAMFORGE_DB"), "/data/streamforge.db");
  EXPECT_FALSE(local.secrets.count("ARANGO_PASSWORD"));
  EXPECT_EQ(launch_spec(ManagerConfig{}, q, q.jobs[0]).env.at("LOG_FORMAT"), "json");
}

struct SchedulerTest : ::testing::Test {
  FakeLauncher launcher;
  Metrics metrics;
  std::shared_ptr<sf::testing::ManualClock> clock = std::make_shared<sf::testing::ManualClock>();
  Scheduler scheduler{launcher, metrics, no_env, clock};
};

TEST_F(SchedulerTest, AJobStartsOnceItsInputsAreCompleteAndFailsWhenTheyNeverWillBe) {
  QueueState q = chain("wf-a");
  EXPECT_TRUE(scheduler.schedule(q));
  EXPECT_EQ(launcher.launched_names(), (std::vector<std::string>{"load", "sink"}));
  EXPECT_EQ(q.jobs[0].status, "launched");
  EXPECT_EQ(q.jobs[0].log, "fake/load");
  EXPECT_EQ(q.jobs[2].status, "pending");
  EXPECT_FALSE(scheduler.schedule(q));  // nothing new is ready

  q.jobs[1].status = "finished";
  EXPECT_TRUE(scheduler.schedule(q));
  EXPECT_EQ(q.jobs[2].status, "launched");
  EXPECT_EQ(q.jobs[3].status, "pending");

  q.jobs[2].status = "error";  // the graph was never completed: the trainer cannot run
  EXPECT_TRUE(scheduler.schedule(q));
  EXPECT_EQ(q.jobs[3].status, "error");
  EXPECT_TRUE(q.jobs[3].ended_by_manager);
  EXPECT_EQ(q.jobs[3].error_message, "its input graph was not completed (graph ended error)");
  EXPECT_EQ(launcher.launched.size(), 3u);
  EXPECT_EQ(metrics.value("streamforge_jobs_started_total", {{"target", "graph-builder"}}), 1);
  EXPECT_EQ(metrics.value("streamforge_jobs_failed_total", {{"target", "gnn-trainer"}}), 1);

  // The graph-builder said finished after all (review #15): the trainer gets its turn.
  q.jobs[2].status = "finished";
  scheduler.input_finished_late(q);
  EXPECT_EQ(q.jobs[3].status, "launched");
  EXPECT_TRUE(q.jobs[3].error_message.empty());
}

TEST_F(SchedulerTest, ARefusedLaunchIsAnErrorAndAStoppedQueueStartsNothing) {
  launcher.refused_targets = {"arango-connector"};
  QueueState q = chain("wf-b");
  scheduler.schedule(q);
  EXPECT_EQ(q.jobs[0].status, "launched");
  EXPECT_EQ(q.jobs[1].status, "error");
  EXPECT_EQ(q.jobs[1].error_message,
            "could not launch: the fake launcher refuses arango-connector");
  EXPECT_FALSE(q.jobs[1].finished_at.empty());
  scheduler.schedule(q);  // the connector's failure fails the graph, and that the trainer
  EXPECT_EQ(q.jobs[2].status, "error");
  scheduler.schedule(q);
  EXPECT_EQ(q.jobs[3].status, "error");

  QueueState s = chain("wf-c");
  s.stop_requested = true;
  EXPECT_FALSE(scheduler.schedule(s));
  EXPECT_EQ(s.jobs[0].status, "pending");
  // A late final event does not revive the jobs of a queue being stopped.
  s.jobs[2].status = "error";
  s.jobs[2].ended_by_manager = true;
  scheduler.input_finished_late(s);
  EXPECT_EQ(s.jobs[2].status, "error");
  EXPECT_EQ(launcher.launched.size(), 1u);
}

struct SupervisorTest : ::testing::Test {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("sf-supervisor-" + std::to_string(::getpid()) + "-" +
                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::shared_ptr<store::Store> store;
  FakeLauncher launcher;
  std::shared_ptr<Metrics> metrics = std::make_shared<Metrics>();
  std::shared_ptr<sf::testing::ManualClock> clock = std::make_shared<sf::testing::ManualClock>();
  std::unique_ptr<QueueBook> book;
  std::unique_ptr<Scheduler> scheduler;
  std::unique_ptr<Supervisor> supervisor;
  ManagerConfig cfg;
  std::unique_ptr<Dispatcher> dispatcher;

  void SetUp() override {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    open();
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  // The parts as a manager holds them (a restart: open() again over the same store).
  void open(size_t retained_ended = 1000) {
    dispatcher.reset();
    supervisor.reset();
    scheduler.reset();
    book.reset();
    store.reset();
    store::SqliteOptions so;
    so.path = (dir / "state.db").string();
    store = store::open_sqlite(so).value();
    book = std::make_unique<QueueBook>(store, metrics, clock, retained_ended);
    ASSERT_TRUE(book->load().ok());
    scheduler = std::make_unique<Scheduler>(launcher, *metrics, no_env, clock);
    supervisor =
        std::make_unique<Supervisor>(*book, *scheduler, launcher, clock,
                                     SupervisorTimes{milliseconds(3'000), milliseconds(30'000)});
    dispatcher = std::make_unique<Dispatcher>(cfg, *book, *scheduler, *supervisor, *metrics);
  }

  void start(QueueState q) {
    std::lock_guard lock(book->mu);
    auto& s = book->add(std::move(q));
    scheduler->schedule(s);
    book->persist(s);
  }
  std::string status(const std::string& id, size_t job) {
    std::lock_guard lock(book->mu);
    return book->resident(id)->jobs.at(job).status;
  }
  const JobState& job_of(const std::string& id, size_t j) {
    std::lock_guard lock(book->mu);
    return book->resident(id)->jobs.at(j);
  }
  std::string stored(const std::string& id) {
    return store->get(kQueueCollection, id).value().value();
  }
  void event(const std::string& queue_id, const std::string& producer, protocol::EventStatus s) {
    std::lock_guard lock(book->mu);
    dispatcher->apply(protocol::event_json({queue_id, "BTCUSDT", "api_candles_1m", producer},
                                           {s, "said so", 5}, clock->now_ms()));
    book->flush();
  }
};

TEST_F(SupervisorTest, AJobThatDiesWithoutAFinalEventIsAnErrorOnlyAfterItsGrace) {
  start(queue("q1",
              {job("load", "loader-producer", {}, {}), job("dead", "loader-producer", {}, {})}));
  launcher.ends.push_back({"load", false, "exit code 0"});
  launcher.ends.push_back({"dead", true, "exit code 1: boom"});
  supervisor->tick();
  EXPECT_EQ(supervisor->awaiting_verdict(), 2u);
  // load's final event arrives through Kafka within the grace: no verdict needed.
  event("q1", "load__p", protocol::EventStatus::finished);
  EXPECT_EQ(supervisor->awaiting_verdict(), 1u);
  clock->advance(milliseconds(2'999));
  supervisor->tick();
  EXPECT_EQ(status("q1", 1), "launched");
  clock->advance(milliseconds(1));
  supervisor->tick();
  EXPECT_EQ(status("q1", 0), "finished");
  EXPECT_EQ(status("q1", 1), "error");
  EXPECT_EQ(job_of("q1", 1).error_message, "ended without a final event: exit code 1: boom");
  EXPECT_TRUE(job_of("q1", 1).ended_by_manager);
  EXPECT_NE(stored("q1").find("ended without a final event"), std::string::npos);
  EXPECT_EQ(metrics->value("streamforge_jobs_finished_total",
                           {{"target", "loader-producer"}, {"status", "error"}}),
            1);
  // Its late final event still counts (review #15).
  event("q1", "dead__p", protocol::EventStatus::finished);
  EXPECT_EQ(status("q1", 1), "finished");
  EXPECT_NE(stored("q1").find("\"status\":\"finished\""), std::string::npos);
}

TEST_F(SupervisorTest, AStopPastItsGraceEndsWhatStillRunsAndTheQueueIsInterrupted) {
  start(queue("q2", {job("live", "loader-producer", {}, {})}));
  {
    std::lock_guard lock(book->mu);
    auto* q = book->resident("q2");
    q->stop_requested = true;
    q->stop_requested_at_ms = clock->now_ms();
    book->persist(*q);
  }
  clock->advance(milliseconds(29'999));
  supervisor->tick();
  EXPECT_TRUE(launcher.killed.empty());
  clock->advance(milliseconds(1));
  supervisor->tick();
  EXPECT_EQ(launcher.killed, std::vector<std::string>{"live"});
  supervisor->tick();
  EXPECT_EQ(launcher.killed.size(), 1u);  // once, not at every tick
  // It exits; no final event comes: interrupted (the stop asked for it), not error.
  launcher.ends.push_back({"live", true, "killed by SIGKILL"});
  supervisor->tick();
  clock->advance(milliseconds(3'000));
  supervisor->tick();
  EXPECT_EQ(status("q2", 0), "interrupted");
  EXPECT_EQ(job_of("q2", 0).message, "ended by the stop (killed by SIGKILL)");
  std::lock_guard lock(book->mu);
  EXPECT_EQ(book->resident("q2")->status, "interrupted");
  EXPECT_TRUE(book->active().empty());
}

TEST_F(SupervisorTest, ARestartedManagerGivesJobsThatAreGoneTenSecondsForTheirFinalEvent) {
  start(
      queue("q3", {job("gone", "loader-producer", {}, {}), job("alive", "loader-producer", {}, {}),
                   job("unknown", "loader-producer", {}, {})}));
  open();  // the manager restarts over the same store
  launcher.alive_jobs = {{"gone", false}, {"alive", true}};
  supervisor->recover();
  EXPECT_EQ(supervisor->awaiting_verdict(), 1u);
  clock->advance(milliseconds(9'999));
  supervisor->tick();
  EXPECT_EQ(status("q3", 0), "launched");
  clock->advance(milliseconds(1));
  supervisor->tick();
  EXPECT_EQ(status("q3", 0), "error");
  EXPECT_EQ(job_of("q3", 0).error_message,
            "ended without a final event: it was not running when the manager restarted");
  EXPECT_EQ(status("q3", 1), "launched");  // still running: left alone
  EXPECT_EQ(status("q3", 2), "launched");  // the launcher cannot tell: left alone
}

TEST_F(SupervisorTest, AQueueThatLeftMemoryKeepsItsNamesTakenAndItsLateEventsAreIgnored) {
  auto plan_named = [](const std::string& queue_id, const std::string& producer) {
    Plan p;
    p.queue_id = queue_id;
    JobPlan j =
        job("sf-" + queue_id.substr(queue_id.size() - 6) + "-loader", "loader-producer", {}, {});
    j.producer_id = producer;
    p.jobs.push_back(j);
    return p;
  };
  open(0);  // keep no ended queue whole
  QueueState q =
      queue("wf-historical-20240801-abc123", {job("sf-abc123-loader", "loader-producer", {}, {})});
  q.jobs[0].plan.producer_id = "loader-producer__def456";
  start(std::move(q));
  event("wf-historical-20240801-abc123", "loader-producer__def456",
        protocol::EventStatus::finished);
  for (int restart = 0; restart < 2; ++restart) {
    std::unique_lock lock(book->mu);
    ASSERT_EQ(book->resident("wf-historical-20240801-abc123"), nullptr) << restart;
    ASSERT_NE(book->status_of("wf-historical-20240801-abc123"), nullptr);
    EXPECT_EQ(*book->status_of("wf-historical-20240801-abc123"), "finished");
    // Its name indexes are gone, its names are not free: same queue suffix (so the same job
    // names), or the same producer suffix, is taken; new suffixes are not.
    EXPECT_FALSE(book->by_producer("loader-producer__def456"));
    EXPECT_TRUE(
        book->names_taken(plan_named("wf-realtime-20241001-abc123", "loader-producer__777777")));
    EXPECT_TRUE(
        book->names_taken(plan_named("wf-realtime-20241001-888888", "loader-ws-trades__def456")));
    EXPECT_FALSE(
        book->names_taken(plan_named("wf-realtime-20241001-888888", "loader-producer__777777")));
    lock.unlock();
    open(0);  // a restart reads the store
  }
  // A late event of the retired queue is counted as such and changes nothing.
  event("wf-historical-20240801-abc123", "loader-producer__def456", protocol::EventStatus::error);
  EXPECT_EQ(metrics->value("streamforge_telemetry_events_ignored_total", {{"reason", "retired"}}),
            1);
  EXPECT_NE(stored("wf-historical-20240801-abc123").find("\"status\":\"finished\""),
            std::string::npos);
}

// A local job of the manager's earlier run (review #19): found running at restart, it is watched
// like a child of this manager: kill() ends it (SIGKILL past the grace when it ignores SIGTERM)
// and reap() reports its end. A pid now held by another process is not taken for the job.
TEST(LocalLauncher, AJobFromAnEarlierRunIsWatchedEndedAndReapedAfterARestart) {
  process::SpawnOptions so;
  so.path = "/bin/sh";
  // Ignores SIGTERM, as a stuck job would (SIG_IGN survives the exec).
  so.args = {"-c", "trap '' TERM; echo ready; exec sleep 60"};
  so.log_file =
      (std::filesystem::temp_directory_path() / ("sf-adopt-" + std::to_string(::getpid()) + ".log"))
          .string();
  std::filesystem::remove(so.log_file);
  auto old = process::Child::spawn(so).value();
  const pid_t pid = old->pid();
  for (int i = 0; i < 500; ++i) {
    std::ifstream in(so.log_file);
    std::string line;
    if (std::getline(in, line) && line == "ready") break;
    std::this_thread::sleep_for(milliseconds(10));
  }
  const int64_t start = process::Child::start_ticks(pid);
  ASSERT_GT(start, 0);
  LocalLauncherOptions lo;
  lo.bin_dir = SF_BIN_DIR;
  lo.log_dir = (std::filesystem::temp_directory_path() / "sf-adopt-logs").string();
  lo.kill_grace = milliseconds(300);
  auto launcher = make_local_launcher(lo);
  EXPECT_EQ(launcher->alive("sf-old-job", pid, start + 1), false);  // another process's pid now
  EXPECT_EQ(launcher->alive("sf-old-job", pid, start), true);
  EXPECT_TRUE(launcher->reap().empty());  // still running
  ASSERT_TRUE(launcher->kill("sf-old-job").ok());
  std::vector<JobEnd> ends;
  for (int i = 0; i < 500 && ends.empty(); ++i) {
    std::this_thread::sleep_for(milliseconds(20));
    ends = launcher->reap();
  }
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].job_name, "sf-old-job");
  EXPECT_TRUE(ends[0].failed);
  EXPECT_NE(ends[0].detail.find("not a child of this manager"), std::string::npos);
  auto st = old->wait(milliseconds(5000));
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->signaled);
  EXPECT_EQ(st->signal, SIGKILL) << "SIGTERM was ignored: the grace ran out";
  EXPECT_TRUE(launcher->reap().empty());  // reported once
  std::filesystem::remove(so.log_file);
}

}  // namespace
}  // namespace sf::manager
