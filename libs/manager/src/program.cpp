// queue-manager's main(): configuration (exit 2 on a bad variable), store, launcher, manager, API,
// then wait for SIGTERM/SIGINT and stop in order (API, manager, its jobs).
#include <malloc.h>
#include <unistd.h>
#include <cstdlib>

#include <filesystem>
#include <vector>

#include "sf/config/env.h"
#include "sf/log/log.h"
#include "sf/manager/api.h"
#include "sf/manager/launcher.h"
#include "sf/manager/service.h"
#include "sf/net/guard.h"
#include "sf/worker/stop.h"

namespace sf::manager {

namespace {

bool loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::string exe_dir() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : p.parent_path().string();
}

}  // namespace

int queue_manager_main(int, char**) {
  // One malloc arena: the manager's threads (io, the blocking ones, dispatcher, supervisor,
  // librdkafka's) would otherwise each grow an arena of their own, which shows as resident
  // memory (with 2, lists built on the blocking threads left the peak ~3 MiB higher). glibc
  // reads MALLOC_ARENA_MAX itself: an operator's setting wins.
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, 1);
  auto env = config::process_env();
  log::init(log::options_from_env("queue-manager", env));
  auto& lg = log::get();
  worker::StopSource stop;
  worker::SignalWatcher signals(stop);

  auto loaded = manager_config_from_env(env);
  if (auto* e = std::get_if<config::ConfigError>(&loaded)) config::exit_with_config_error(*e);
  auto cfg = std::get<ManagerConfig>(loaded);
  log::add_secret(cfg.kafka.password.reveal());
  log::add_secret(cfg.kafka_password_producer.value);
  log::add_secret(cfg.kafka_password_consumer.value);
  log::add_secret(cfg.arango_password.value);
  for (const auto& [var, ref] : cfg.worker_secrets) log::add_secret(ref.value);

  auto port = config::int_var(env, "PORT", 8000, 0, 65535, "port number");
  if (auto* e = std::get_if<config::ConfigError>(&port)) config::exit_with_config_error(*e);
  ApiOptions api;
  api.port = static_cast<uint16_t>(std::get<int64_t>(port));
  // Loopback unless told otherwise (the Kubernetes manifests set HOST=0.0.0.0 and a token).
  api.host = env("HOST").value_or("127.0.0.1");
  api.api_token = env("API_TOKEN").value_or("");
  log::add_secret(api.api_token);
  api.token_for_reads = env("API_TOKEN_FOR_READS").value_or("0") == "1";
  api.allowed_hosts = net::comma_list(env("ALLOWED_HOSTS").value_or(""));
  api.allowed_origins = net::comma_list(env("ALLOWED_ORIGINS").value_or(""));
  auto max_conn = config::int_var(env, "MAX_CONNECTIONS", 1024, 16, 1'000'000, "connections");
  if (auto* e = std::get_if<config::ConfigError>(&max_conn)) config::exit_with_config_error(*e);
  api.max_connections = static_cast<size_t>(std::get<int64_t>(max_conn));
  auto http_threads = config::int_var(env, "HTTP_THREADS", api.threads, 1, 64, "threads");
  if (auto* e = std::get_if<config::ConfigError>(&http_threads)) {
    config::exit_with_config_error(*e);
  }
  api.threads = static_cast<int>(std::get<int64_t>(http_threads));
  if (api.token_for_reads && api.api_token.empty()) {
    config::exit_with_config_error(
        {"API_TOKEN_FOR_READS", "config error: API_TOKEN_FOR_READS=1 needs API_TOKEN to be set"});
  }
  if (api.api_token == "change-me") {  // deploy/k8s/secrets.example.yaml's placeholder
    config::exit_with_config_error(
        {"API_TOKEN",
         "config error: API_TOKEN is the example's placeholder 'change-me': set a "
         "random one (openssl rand -hex 32)"});
  }
  if (!loopback(api.host) && api.api_token.empty()) {
    lg.warn(
        "WARNING: serving {} (not loopback) WITHOUT API_TOKEN: anyone who can reach this port "
        "can start and stop queues. Set API_TOKEN, or HOST=127.0.0.1",
        api.host);
  } else if (!api.api_token.empty() && api.api_token.size() < 16) {
    lg.warn("API_TOKEN is {} characters: use at least 32 random ones (openssl rand -hex 32)",
            api.api_token.size());
  }
  const std::string bin_dir = env("STREAMFORGE_BIN_DIR").value_or(exe_dir());
  // tools/install-web.sh puts swagger-ui-dist in build/web: next to build/bin (release) or two
  // levels up from build/dev/bin (dev).
  api.swagger_dir = bin_dir + "/../web/node_modules/swagger-ui-dist";
  for (const char* up : {"/../web", "/../../web"}) {
    const std::string candidate = bin_dir + up + "/node_modules/swagger-ui-dist";
    if (std::filesystem::exists(candidate + "/swagger-ui-bundle.js")) {
      api.swagger_dir = candidate;
      break;
    }
  }
  if (auto dir = env("SWAGGER_UI_DIR")) api.swagger_dir = *dir;

  // The state store is the manager's own (ARANGO_* or STREAMFORGE_DB), the same the connectors use.
  auto store_settings = cfg.store;
  // The running states live in memory; SQLite stores them and serves the ended ones, whose pages
  // the OS caches anyway: a small page cache keeps the manager small (issue 12: <= 32 MiB).
  store_settings.sqlite.cache_kib = 2048;
  auto store = store::open_store(store_settings);
  if (!store) {
    config::exit_with_config_error({cfg.store.arango ? "ARANGO_URL" : "STREAMFORGE_DB",
                                    "config error: " + store.error().message});
  }
  const std::string launcher_kind = env("LAUNCHER").value_or("local");
  std::unique_ptr<Launcher> launcher;
  if (launcher_kind == "local") {
    LocalLauncherOptions lo;
    lo.bin_dir = bin_dir;
    lo.log_dir = std::filesystem::absolute(env("LOG_DIR").value_or("streamforge-logs")).string();
    launcher = make_local_launcher(lo);
  } else if (launcher_kind == "kubernetes") {
    auto k = make_kubernetes_launcher_from_env(env);
    if (!k) config::exit_with_config_error({"LAUNCHER", "config error: " + k.error().message});
    launcher = std::move(k).value();
  } else {
    config::exit_with_config_error({"LAUNCHER", "config error: LAUNCHER='" + launcher_kind +
                                                    "' is invalid: expected local or kubernetes"});
  }
  auto metrics = std::make_shared<Metrics>();
  auto manager = QueueManager::start(cfg, std::shared_ptr<store::Store>(std::move(store).value()),
                                     std::move(launcher), metrics);
  if (!manager) {
    lg.error("cannot start: {}", manager.error().message);
    return 1;
  }
  auto server = ApiServer::start(**manager, metrics, api);
  if (!server) {
    lg.error("cannot serve the API: {}", server.error().message);
    return 1;
  }
  lg.info(
      "queue-manager listening on {}:{} (API /queues, docs /docs, WebSocket /ws/topic, "
      "metrics /metrics)",
      api.host, (*server)->port());
  while (!stop.wait_for(std::chrono::milliseconds(1000))) {
  }
  lg.info("stopping ({})", stop.reason());
  server->reset();
  manager->reset();
  lg.info("stopped");
  return 0;
}

}  // namespace sf::manager
