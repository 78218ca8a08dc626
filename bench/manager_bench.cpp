// queue-manager under load: the real program with 10,000 queues in its SQLite store, read by wrk
// (32 connections) on GET /queues/{id} and GET /queues?limit=50, with GET /health/live on the same
// server as the baseline (the HTTP stack alone); then telemetry events applied per second from the
// embedded Kafka, against a plain consumer reading the same events as the baseline; then the same
// GETs again while 1,000 idle keep-alive connections and 100 WebSocket clients are attached.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <thread>

#include "bench_util.h"
#include "sf/kafka/mock_cluster.h"
#include "sf/manager/state.h"
#include "sf/net/transport.h"
#include "sf/process/child.h"
#include "sf/store/store.h"

namespace {

using Clock = std::chrono::steady_clock;

uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

struct Wrk {
  double rps = 0, p50_ms = 0, p99_ms = 0;
};

double to_ms(const std::string& v, const std::string& unit) {
  const double x = std::stod(v);
  if (unit == "us") return x / 1000;
  if (unit == "s") return x * 1000;
  return x;
}

Wrk run_wrk(const std::string& url, int seconds) {
  // wrk must not inherit this process's sockets: its event loop takes fds below ~60 only, and
  // past that its connections fail ("Socket errors: connect").
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    const int fd = std::atoi(e.path().filename().c_str());
    if (fd > 2) ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
  }
  const std::string cmd =
      "wrk -t2 -c32 -d" + std::to_string(seconds) + "s --latency '" + url + "' 2>&1";
  FILE* f = popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (f && fgets(buf, sizeof buf, f)) out += buf;
  if (f) pclose(f);
  Wrk w;
  std::smatch m;
  if (std::regex_search(out, m, std::regex(R"(Requests/sec:\s+([0-9.]+))")))
    w.rps = std::stod(m[1]);
  if (std::regex_search(out, m, std::regex(R"(\s50%\s+([0-9.]+)(us|ms|s))")))
    w.p50_ms = to_ms(m[1], m[2]);
  if (std::regex_search(out, m, std::regex(R"(\s99%\s+([0-9.]+)(us|ms|s))")))
    w.p99_ms = to_ms(m[1], m[2]);
  if (w.rps == 0 || out.find("Socket errors") != std::string::npos ||
      out.find("Non-2xx") != std::string::npos) {
    std::fprintf(stderr, "wrk said:\n%s\n", out.c_str());
  }
  return w;
}

double metric(sf::net::HttpClient& http, const std::string& name) {
  auto r = http.get("/metrics");
  if (!r) return -1;
  std::smatch m;
  if (std::regex_search(r->body, m, std::regex("\n" + name + " ([0-9.e+]+)")))
    return std::stod(m[1]);
  return 0;
}

}  // namespace

// Connections that sent one request, read its answer and stay open, idle (keep-alive).
std::vector<int> idle_connections(uint16_t port, int n) {
  std::vector<int> fds;
  const std::string req = "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  for (int i = 0; i < n; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::send(fd, req.data(), req.size(), 0) != static_cast<ssize_t>(req.size())) {
      if (fd >= 0) ::close(fd);
      continue;
    }
    char buf[4096];
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::recv(fd, buf, sizeof buf, 0) > 0) {
      fds.push_back(fd);
    } else {
      ::close(fd);
    }
  }
  return fds;
}

// Those the server has not closed.
int still_open(const std::vector<int>& fds) {
  int n = 0;
  for (int fd : fds) {
    char c;
    const ssize_t r = ::recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ++n;
  }
  return n;
}

int main(int argc, char** argv) {
  // 1,000 sockets here and as many in the manager (it inherits the limit).
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < 4096) {
    nofile.rlim_cur = std::min<rlim_t>(nofile.rlim_max, 4096);
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  const int queues = argc > 1 ? std::atoi(argv[1]) : 10'000;
  const int events = argc > 2 ? std::atoi(argv[2]) : 200'000;
  const int seconds = argc > 3 ? std::atoi(argv[3]) : 10;
  // Queues still running; the others are stored ended (the history a manager accumulates), of
  // which it keeps the newest 1,000 whole in memory and reads the rest from the store.
  const int active = std::max(1, std::min(queues, argc > 4 ? std::atoi(argv[4]) : queues));
  const auto dir =
      std::filesystem::temp_directory_path() / ("sf-manager-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string db = (dir / "state.db").string();

  // 10,000 finished two-job queues, as the manager stores them.
  std::vector<std::string> producers;
  std::string some_id, ended_id;
  {
    sf::store::SqliteOptions so;
    so.path = db;
    auto st = sf::store::open_sqlite(so).value();
    std::vector<sf::store::Document> batch;
    for (int i = 0; i < queues; ++i) {
      sf::manager::QueueState q;
      char hex[16];  // any int in hex, with room
      std::snprintf(hex, sizeof hex, "%06x", i);
      q.id = std::string("wf-historical-20240601-") + hex;
      q.symbol = i % 2 ? "BTCUSDT" : "ETHUSDT";
      q.type = "workflow";
      q.form = "workflow";
      q.kind = "historical";
      q.time_range = "2024-06-01:2024-06-30";
      q.created_at_ms = 1717200000000 + i;
      for (const char* target : {"loader-producer", "arango-connector"}) {
        sf::manager::JobState j;
        j.plan.target = target;
        j.plan.type = "api_candles_5m";
        j.plan.job_name = std::string("sf-") + hex + "-" + target;
        j.plan.producer_id = std::string(target) + "__" + hex;
        j.plan.kafka_topic = q.id + "-api_candles_5m";
        j.status = i < active ? "launched" : "finished";  // events move the running ones on
        q.jobs.push_back(j);
      }
      if (i < active) producers.push_back(q.jobs[0].plan.producer_id);
      if (i == active) ended_id = q.id;  // the oldest ended: read from the store
      q.derive_status("2024-06-01T00:00:00.000Z");
      batch.push_back({q.id, sf::manager::to_json(q), q.created_at_ms});
      if (i == active / 2) some_id = q.id;
      if (batch.size() == 1000) {
        (void)st->upsert("queue_state", batch);
        batch.clear();
      }
    }
    (void)st->upsert("queue_state", batch);
  }

  auto cluster = sf::kafka::MockCluster::start(1).value();
  (void)cluster->create_topic("queue-control", 1);
  (void)cluster->create_topic("queue-events", 1);

  // Telemetry waiting in the topic before the manager starts: `events` loading events for the
  // loaders of the stored queues (each a real change: records_written grows).
  sf::kafka::ProducerOptions po;
  po.settings.bootstrap_servers = cluster->bootstrap_servers();
  auto producer = sf::kafka::Producer::create(po).value();
  for (int i = 0; i < events; ++i) {
    const std::string& p = producers[static_cast<size_t>(i) % producers.size()];
    const int round = i / static_cast<int>(producers.size());
    const std::string queue = "wf-historical-20240601-" + p.substr(p.size() - 6);
    (void)producer->send("queue-events", queue,
                         R"({"queue_id":")" + queue +
                             R"(","symbol":"BTCUSDT","type":"api_candles_5m",)"
                             R"("status":"loading","message":"m","records_written":)" +
                             std::to_string((round + 1) * 100) +
                             R"(,"finished":false,"producer":")" + p +
                             R"(","timestamp":1717200000.5})");
  }
  (void)producer->flush(std::chrono::seconds(120));
  // Baseline: a plain consumer reading the same events.
  double consume_rate = 0;
  {
    sf::kafka::ConsumerOptions co;
    co.settings.bootstrap_servers = cluster->bootstrap_servers();
    auto c = sf::kafka::Consumer::create(co).value();
    (void)c->assign_from_beginning("queue-events", std::chrono::seconds(10));
    const auto t0 = Clock::now();
    int n = 0;
    while (n < events && Clock::now() - t0 < std::chrono::seconds(120)) {
      auto m = c->poll(std::chrono::milliseconds(100));
      if (m && *m) ++n;
    }
    consume_rate = n / std::chrono::duration<double>(Clock::now() - t0).count();
  }

  const uint16_t port = free_port();
  sf::process::SpawnOptions o;
  o.path = std::string(SF_BIN_DIR) + "/queue-manager";
  o.env = {{"KAFKA_BOOTSTRAP_SERVERS", cluster->bootstrap_servers()},
           {"PORT", std::to_string(port)},
           {"HOST", "127.0.0.1"},
           {"STREAMFORGE_DB", db},
           {"LOG_DIR", (dir / "logs").string()},
           {"LOG_FORMAT", "json"},
           {"MAX_CONNECTIONS", "2048"}};
  for (const char* var : {"RETAINED_ENDED_QUEUES", "MALLOC_ARENA_MAX", "HTTP_THREADS"}) {
    if (const char* v = std::getenv(var)) o.env[var] = v;
  }
  o.log_file = (dir / "queue-manager.log").string();
  auto child = sf::process::Child::spawn(o).value();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  auto http = sf::net::HttpClient::create(base).value();
  // Start-up: spawn -> /health/startup answers 200 (the store read, the earlier run's jobs
  // checked), and the memory that took.
  const auto t_spawn = Clock::now();
  double startup_s = -1;
  while (Clock::now() - t_spawn < std::chrono::seconds(300)) {
    auto r = http->get("/health/startup");
    if (r && r->status == 200) {
      startup_s = std::chrono::duration<double>(Clock::now() - t_spawn).count();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const long rss_startup = sf::bench::vm_hwm_kib(child->pid());
  // The dispatcher starts on the events at once; the rate is taken between the first sample the
  // API answers and the last event applied.
  double first = -1, applied = 0;
  Clock::time_point t_first, t_last;
  const auto give_up = Clock::now() + std::chrono::seconds(300);
  while (Clock::now() < give_up) {
    const double a = metric(*http, "streamforge_telemetry_events_applied_total");
    if (a >= 0) {
      if (first < 0) {
        first = a;
        t_first = Clock::now();
      }
      applied = a;
      t_last = Clock::now();
      if (a >= events) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double event_rate =
      (applied - first) / std::max(1e-9, std::chrono::duration<double>(t_last - t_first).count());
  const long rss_events = sf::bench::vm_hwm_kib(child->pid());

  const Wrk live = run_wrk(base + "/health/live", seconds);
  const Wrk one = run_wrk(base + "/queues/" + some_id, seconds);
  const Wrk ended = ended_id.empty() ? Wrk{} : run_wrk(base + "/queues/" + ended_id, seconds);
  const Wrk page = run_wrk(base + "/queues?limit=50", seconds);
  const long rss = sf::bench::vm_hwm_kib(child->pid());

  // Attached: 1,000 idle keep-alive connections and 100 WebSocket clients on /ws/topic (each read
  // its {"event":"connected"}), then the same GETs again.
  const long rss_before_attach = sf::bench::vm_rss_kib(child->pid());
  std::vector<int> idle = idle_connections(port, 1000);
  std::vector<std::unique_ptr<sf::net::WsClient>> ws;
  for (int i = 0; i < 100; ++i) {
    auto c = sf::net::WsClient::connect("ws://127.0.0.1:" + std::to_string(port) + "/ws/topic");
    if (!c) continue;
    if ((*c)->read(std::chrono::milliseconds(5000))) ws.push_back(std::move(c).value());
  }
  const long rss_attached = sf::bench::vm_rss_kib(child->pid());
  const Wrk live_att = run_wrk(base + "/health/live", seconds);
  const Wrk one_att = run_wrk(base + "/queues/" + some_id, seconds);
  const int idle_open = still_open(idle);
  const double ws_clients = metric(*http, "streamforge_websocket_clients");
  const long rss_att_end = sf::bench::vm_rss_kib(child->pid());
  const long hwm_att = sf::bench::vm_hwm_kib(child->pid());
  const size_t ws_attached = ws.size();
  for (int fd : idle) ::close(fd);
  ws.clear();
  child->terminate(std::chrono::seconds(10));

  std::printf(
      "queue-manager: %d queues in SQLite (%d running), wrk -t2 -c32 -d%ds, %d telemetry events\n",
      queues, active, seconds, events);
  std::printf("%-48s %12.2f\n", "start-up: spawn -> /health/startup 200 (s)", startup_s);
  std::printf("%-48s %12.1f\n", "start-up: peak RSS by then (MiB)", rss_startup / 1024.0);
  std::printf("%-48s %12s %10s %10s\n", "figure", "req/s", "p50 ms", "p99 ms");
  std::printf("%-48s %12.0f %10.3f %10.3f\n", "GET /health/live (baseline: HTTP stack)", live.rps,
              live.p50_ms, live.p99_ms);
  std::printf("%-48s %12.0f %10.3f %10.3f\n", "GET /queues/{id} (running, in memory)", one.rps,
              one.p50_ms, one.p99_ms);
  if (!ended_id.empty()) {
    std::printf("%-48s %12.0f %10.3f %10.3f\n", "GET /queues/{id} (ended long ago, the store)",
                ended.rps, ended.p50_ms, ended.p99_ms);
  }
  std::printf("%-48s %12.0f %10.3f %10.3f\n", "GET /queues?limit=50", page.rps, page.p50_ms,
              page.p99_ms);
  std::printf("%-48s %12.3f\n", "ratio /queues/{id} / baseline", one.rps / std::max(1.0, live.rps));
  std::printf("%-48s %12.3f\n", "ratio /queues?limit=50 / baseline",
              page.rps / std::max(1.0, live.rps));
  std::printf("%-48s %12.0f\n", "telemetry events applied", applied);
  std::printf("%-48s %12.0f\n", "telemetry applied per second", event_rate);
  std::printf("%-48s %12.0f\n", "plain consumer, same events (events/s, baseline)", consume_rate);
  std::printf("%-48s %12.3f\n", "ratio applied / plain consumer",
              event_rate / std::max(1.0, consume_rate));
  std::printf("%-48s %12.1f\n", "manager peak RSS after the events (MiB)", rss_events / 1024.0);
  std::printf("%-48s %12.1f\n", "manager peak RSS before attaching (MiB)", rss / 1024.0);
  std::printf(
      "attached: %zu idle keep-alive connections (%d still open after the runs), %zu "
      "WebSocket clients (the manager counts %.0f)\n",
      idle.size(), idle_open, ws_attached, ws_clients);
  std::printf("%-48s %12.0f %10.3f %10.3f\n", "GET /health/live, attached", live_att.rps,
              live_att.p50_ms, live_att.p99_ms);
  std::printf("%-48s %12.0f %10.3f %10.3f\n", "GET /queues/{id} (running), attached", one_att.rps,
              one_att.p50_ms, one_att.p99_ms);
  std::printf("%-48s %12.3f\n", "ratio /queues/{id} attached / not attached",
              one_att.rps / std::max(1.0, one.rps));
  std::printf("%-48s %12.3f\n", "ratio /queues/{id} attached / baseline attached",
              one_att.rps / std::max(1.0, live_att.rps));
  std::printf("%-48s %12.1f\n", "manager RSS before attaching (MiB)", rss_before_attach / 1024.0);
  std::printf("%-48s %12.1f\n", "manager RSS attached, idle (MiB)", rss_attached / 1024.0);
  std::printf("%-48s %12.1f\n", "manager RSS attached, after the runs (MiB)", rss_att_end / 1024.0);
  std::printf("%-48s %12.1f\n", "manager peak RSS at the end (MiB)", hwm_att / 1024.0);
  std::filesystem::remove_all(dir);
  return applied >= events ? 0 : 1;
}
