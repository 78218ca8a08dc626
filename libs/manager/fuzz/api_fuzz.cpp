// libFuzzer target (issue 12): raw request bytes through the queue-manager's real HTTP server and
// routes, over loopback, against a real QueueManager (SQLite in a temporary directory, Kafka from
// librdkafka's in-process mock cluster, a launcher that launches nothing). Whatever the bytes:
// no crash (ASan + UBSan), never a 500, and every JSON answer is the API's envelope
// {"status","message","data"} (except the OpenAPI document itself). Built by tools/fuzz.sh.
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "sf/kafka/mock_cluster.h"
#include "sf/manager/api.h"
#include "sf/manager/launcher.h"
#include "sf/manager/metrics.h"
#include "sf/manager/service.h"
#include "sf/net/testing/raw_client.h"
#include "sf/store/store.h"

namespace {

namespace http = boost::beast::http;
using namespace sf::manager;

// Fuzzed start requests would otherwise spawn real programs: every launch is refused (the job
// becomes `error` "could not launch"), which is a path the manager must handle anyway.
class NoLauncher final : public Launcher {
 public:
  std::string kind() const override { return "local"; }
  sf::Result<Launched> launch(const LaunchSpec&) override {
    return sf::make_error("launching is off in the fuzzer");
  }
  std::vector<JobEnd> reap() override { return {}; }
  sf::Status kill(const std::string&) override { return sf::ok_status(); }
  std::optional<bool> alive(const std::string&, int64_t, int64_t) override { return false; }
  void shutdown(std::chrono::milliseconds) override {}
};

struct Platform {
  std::unique_ptr<sf::kafka::MockCluster> kafka;
  std::unique_ptr<QueueManager> manager;
  std::unique_ptr<ApiServer> api;
  uint16_t port = 0;

  Platform() {
    const auto dir =
        std::filesystem::temp_directory_path() / ("sf-api-fuzz-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    kafka = sf::kafka::MockCluster::start(1).value();
    (void)kafka->create_topic("queue-control", 1);
    (void)kafka->create_topic("queue-events", 1);
    ManagerConfig cfg;
    cfg.kafka.bootstrap_servers = kafka->bootstrap_servers();
    cfg.worker_bootstrap = kafka->bootstrap_servers();
    cfg.store.sqlite.path = (dir / "state.db").string();
    sf::store::SqliteOptions so;
    so.path = cfg.store.sqlite.path;
    so.synchronous_full = false;
    auto store = std::shared_ptr<sf::store::Store>(sf::store::open_sqlite(so).value());
    auto metrics = std::make_shared<Metrics>();
    manager = QueueManager::start(cfg, store, std::make_unique<NoLauncher>(), metrics).value();
    ApiOptions ao;
    ao.port = 0;
    ao.swagger_dir = (dir / "swagger").string();
    api = ApiServer::start(*manager, metrics, ao).value();
    port = api->port();
  }
};

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "api_fuzz: %s\n%s\n", what, detail.substr(0, 2000).c_str());
  std::abort();
}

// Sends the bytes on a fresh connection, closes the writing side and returns everything the
// server answered until it closed or 2 s passed.
std::string exchange(uint16_t port, const uint8_t* data, size_t size) {
  sf::net::testing::RawClient c(port);
  if (c.fd < 0) {
    const int err = errno;
    size_t fds = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd"))
      ++fds;
    fail("cannot connect", std::string(std::strerror(err)) + "; this process holds " +
                               std::to_string(fds) + " file descriptors");
  }
  // The server may close early (a 400, a 413): a short send is fine.
  (void)c.send(std::string_view(reinterpret_cast<const char*>(data), size));
  ::shutdown(c.fd, SHUT_WR);
  return c.read_all(2000);
}

// Every HTTP answer in `out` (pipelined requests get several): never a 500; JSON is an envelope.
void check(const std::string& out) {
  size_t at = 0;
  while (at < out.size()) {
    if (out.compare(at, 5, "HTTP/") != 0) return;  // a WebSocket's frames after its 101
    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    boost::beast::error_code ec;
    const size_t used = parser.put(boost::asio::buffer(out.data() + at, out.size() - at), ec);
    if (ec == http::error::need_more) {
      // A body cut short by the 2 s limit or a close: judge the head only.
      parser.put_eof(ec);
    }
    if (ec && !parser.is_header_done()) fail("an answer that is not HTTP", out.substr(at));
    const auto& res = parser.get();
    const int code = static_cast<int>(res.result_int());
    if (code >= 500 && code != 503) fail("a 5xx answer", out.substr(at));
    if (code == 101) return;
    if (parser.is_done() && res[http::field::content_type].starts_with("application/json")) {
      boost::json::error_code jec;
      auto v = boost::json::parse(res.body(), jec);
      if (jec || !v.is_object()) fail("a JSON answer that does not parse", res.body());
      const auto& o = v.as_object();
      if (!o.contains("openapi") &&
          !(o.contains("status") && o.contains("message") && o.contains("data"))) {
        fail("a JSON answer that is not an envelope", res.body());
      }
    }
    if (!parser.is_done() || used == 0) return;
    at += used;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Platform* platform = new Platform();  // once; lives until the process ends
  if (size > (1u << 20)) return 0;
  check(exchange(platform->port, data, size));
  return 0;
}
