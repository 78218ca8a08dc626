// streamforge: the command-line client of the queue-manager's HTTP API.
//
//   streamforge start --symbol BTCUSDT --type api_candles_1m --time-range 2024-06-01:2024-06-02
//   streamforge start --file workflow.json          (or - for standard input)
//   streamforge list [--status loading] [--symbol BTCUSDT] [--limit 50] [--offset 0]
//   streamforge get QUEUE_ID
//   streamforge stop QUEUE_ID
//   streamforge wait QUEUE_ID [--timeout 600]       (until it ends; the exit code tells how)
//   streamforge watch [QUEUE_ID]                     (one line per state change, from /ws/topic)
//
// --url (STREAMFORGE_URL, default http://127.0.0.1:8000), --token (API_TOKEN), --json (the
// server's answers as they are, for scripts). Exit codes: 0 done; 1 the server refused or failed
// (for wait: the queue ended in error or interrupted); 2 bad usage or an invalid request (400/422);
// 3 the server cannot be reached; 4 not found; 5 conflict (stopping a queue that has ended).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "sf/net/http_server.h"
#include "sf/net/transport.h"

namespace json = boost::json;
namespace net = sf::net;
using namespace std::chrono_literals;

namespace {

struct Global {
  std::string url = "http://127.0.0.1:8000";
  std::string token;
  bool as_json = false;
};

struct Answer {
  int exit = 0;
  int status = 0;
  std::string raw;
  json::value body;
};

int exit_for(int status) {
  if (status >= 200 && status < 300) return 0;
  if (status == 400 || status == 422) return 2;
  if (status == 404) return 4;
  if (status == 409) return 5;
  return 1;
}

Answer call(const Global& g, const std::string& method, const std::string& target,
            const std::string& body = "") {
  Answer a;
  net::HttpOptions ho;
  ho.timeout = 15s;
  auto http = net::HttpClient::create(g.url, ho);
  if (!http) {
    std::fprintf(stderr, "streamforge: --url '%s' is invalid: %s\n", g.url.c_str(),
                 http.error().message.c_str());
    a.exit = 2;
    return a;
  }
  net::HttpRequest r;
  r.method = method;
  r.target = target;
  r.body = body;
  r.idempotent = method != "POST";
  if (!g.token.empty()) r.headers["Authorization"] = "Bearer " + g.token;
  auto res = (*http)->request(r);
  if (!res) {
    std::fprintf(stderr,
                 "streamforge: cannot reach the queue-manager at %s: %s\n"
                 "  (is it running? set --url or STREAMFORGE_URL)\n",
                 g.url.c_str(), res.error().message.c_str());
    a.exit = 3;
    return a;
  }
  a.status = res->status;
  a.raw = res->body;
  json::error_code ec;
  a.body = json::parse(res->body, ec);
  a.exit = exit_for(res->status);
  if (a.exit != 0 && !g.as_json) {
    std::string msg = res->body;
    if (!ec && a.body.is_object()) {
      if (auto* m = a.body.as_object().if_contains("message"); m && m->is_string()) {
        msg = std::string(m->as_string());
      }
    }
    std::fprintf(stderr, "streamforge: HTTP %d: %s\n", res->status, msg.c_str());
    if (!ec && a.body.is_object()) {
      const auto* d = a.body.as_object().if_contains("data");
      const auto* errs = d && d->is_object() ? d->as_object().if_contains("errors") : nullptr;
      if (errs && errs->is_array()) {
        for (const auto& e : errs->as_array()) {
          std::fprintf(stderr, "  %s: %s (expected %s)\n",
                       std::string(e.at("field").as_string()).c_str(),
                       std::string(e.at("problem").as_string()).c_str(),
                       std::string(e.at("expected").as_string()).c_str());
        }
      }
    }
  }
  return a;
}

std::string s(const json::value& v, const char* key) {
  const auto* o = v.if_object();
  const auto* x = o ? o->if_contains(key) : nullptr;
  if (!x || x->is_null()) return "";
  if (x->is_string()) return std::string(x->as_string());
  return json::serialize(*x);
}

bool tty() {
  return isatty(STDOUT_FILENO) != 0;
}

std::string bar(double fraction, int width = 20) {
  const int full = static_cast<int>(fraction * width + 0.5);
  return "[" + std::string(static_cast<size_t>(std::clamp(full, 0, width)), '#') +
         std::string(static_cast<size_t>(width - std::clamp(full, 0, width)), '.') + "]";
}

void print_queue(const json::value& q) {
  std::printf("%s  %s  %s  %s  records=%s\n", s(q, "id").c_str(), s(q, "status").c_str(),
              s(q, "symbol").c_str(), s(q, "type").c_str(), s(q, "records_written").c_str());
  if (!s(q, "error_message").empty()) std::printf("  error: %s\n", s(q, "error_message").c_str());
  const auto* jobs = q.as_object().if_contains("jobs");
  if (!jobs || !jobs->is_array()) return;
  for (const auto& j : jobs->as_array()) {
    std::string progress;
    const std::string p = s(j, "progress");
    const std::string st = s(j, "status");
    if (tty() && !p.empty() && (st == "loading" || st == "started")) {
      progress = bar(std::atof(p.c_str())) + " ";
    }
    std::printf("  %-16s %-15s %-11s %s%s records", s(j, "target").c_str(), s(j, "type").c_str(),
                st.c_str(), progress.c_str(), s(j, "records_written").c_str());
    if (!s(j, "collection").empty()) std::printf(" -> %s", s(j, "collection").c_str());
    if (!s(j, "error_message").empty()) std::printf("  error: %s", s(j, "error_message").c_str());
    std::printf("\n");
  }
}

bool ended(const std::string& status) {
  return status == "finished" || status == "interrupted" || status == "error";
}

int cmd_start(const Global& g, const std::string& file, const std::string& symbol,
              const std::string& type, const std::string& range, const std::string& interval) {
  std::string body;
  if (!file.empty()) {
    std::stringstream ss;
    if (file == "-") {
      ss << std::cin.rdbuf();
    } else {
      std::ifstream in(file);
      if (!in) {
        std::fprintf(stderr, "streamforge: cannot read %s\n", file.c_str());
        return 2;
      }
      ss << in.rdbuf();
    }
    body = ss.str();
  } else {
    if (symbol.empty() || type.empty()) {
      std::fprintf(stderr, "streamforge: start needs --file, or --symbol and --type\n");
      return 2;
    }
    json::object o{{"symbol", symbol}, {"type", type}};
    if (!range.empty()) o["time_range"] = range;
    if (!interval.empty()) o["interval"] = interval;
    body = json::serialize(o);
  }
  auto a = call(g, "POST", "/queues/start", body);
  if (g.as_json) {
    std::printf("%s\n", a.raw.c_str());
    return a.exit;
  }
  if (a.exit != 0) return a.exit;
  const auto& d = a.body.at("data");
  std::printf("started %s\n", s(d, "queue_id").c_str());
  for (const auto& j : d.at("jobs").as_array()) {
    std::printf("  %-16s %-15s %-40s %s\n", s(j, "target").c_str(), s(j, "type").c_str(),
                s(j, "job_name").c_str(), s(j, "status").c_str());
  }
  return 0;
}

int cmd_list(const Global& g, const std::string& status, const std::string& symbol, int limit,
             int offset) {
  std::string q = "/queues?limit=" + std::to_string(limit) + "&offset=" + std::to_string(offset);
  if (!status.empty()) q += "&status=" + net::url_encode(status);
  if (!symbol.empty()) q += "&symbol=" + net::url_encode(symbol);
  auto a = call(g, "GET", q);
  if (g.as_json) {
    std::printf("%s\n", a.raw.c_str());
    return a.exit;
  }
  if (a.exit != 0) return a.exit;
  std::printf("%-32s %-12s %-10s %-16s %10s  %s\n", "QUEUE_ID", "STATUS", "SYMBOL", "TYPE",
              "RECORDS", "CREATED");
  for (const auto& q : a.body.at("data").as_array()) {
    std::printf("%-32s %-12s %-10s %-16s %10s  %s\n", s(q, "id").c_str(), s(q, "status").c_str(),
                s(q, "symbol").c_str(), s(q, "type").c_str(), s(q, "records_written").c_str(),
                s(q, "started_at").c_str());
  }
  std::printf("%s\n", s(a.body, "message").c_str());
  return 0;
}

int cmd_get(const Global& g, const std::string& id) {
  auto a = call(g, "GET", "/queues/" + net::url_encode(id));
  if (g.as_json) {
    std::printf("%s\n", a.raw.c_str());
    return a.exit;
  }
  if (a.exit != 0) return a.exit;
  print_queue(a.body.at("data"));
  return 0;
}

int cmd_stop(const Global& g, const std::string& id) {
  auto a = call(g, "POST", "/queues/stop?queue_id=" + net::url_encode(id));
  if (g.as_json) {
    std::printf("%s\n", a.raw.c_str());
    return a.exit;
  }
  if (a.exit != 0) return a.exit;
  std::printf("%s: %s\n", id.c_str(), s(a.body.at("data"), "status").c_str());
  return 0;
}

int cmd_wait(const Global& g, const std::string& id, int timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  std::string last;
  for (;;) {
    auto a = call(g, "GET", "/queues/" + net::url_encode(id));
    if (a.exit != 0) return a.exit;
    const auto& q = a.body.at("data");
    const std::string status = s(q, "status");
    if (!g.as_json && status != last) {
      std::printf("%s %s records=%s\n", id.c_str(), status.c_str(),
                  s(q, "records_written").c_str());
      std::fflush(stdout);
    }
    last = status;
    if (ended(status)) {
      if (g.as_json) std::printf("%s\n", a.raw.c_str());
      return status == "finished" ? 0 : 1;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      std::fprintf(stderr, "streamforge: %s still %s after %d s\n", id.c_str(), status.c_str(),
                   timeout_s);
      return 1;
    }
    std::this_thread::sleep_for(500ms);
  }
}

int cmd_watch(const Global& g, const std::string& id) {
  auto url = net::Url::parse(g.url);
  if (!url) {
    std::fprintf(stderr, "streamforge: --url '%s' is invalid\n", g.url.c_str());
    return 2;
  }
  const std::string ws =
      (url->tls() ? "wss://" : "ws://") + url->host + ":" + url->port + url->path + "/ws/topic";
  auto c = net::WsClient::connect(ws);
  if (!c) {
    std::fprintf(stderr, "streamforge: cannot reach %s: %s\n", ws.c_str(),
                 c.error().message.c_str());
    return 3;
  }
  std::string last;
  for (;;) {
    auto m = (*c)->read(60s);
    if (!m) {
      if (m.error().message.rfind("timeout", 0) == 0) continue;
      std::fprintf(stderr, "streamforge: the WebSocket closed: %s\n", m.error().message.c_str());
      return 3;
    }
    json::error_code ec;
    auto v = json::parse(*m, ec);
    if (ec || s(v, "event") != "queue") continue;
    if (!id.empty() && s(v, "queue_id") != id) continue;
    if (g.as_json) {
      std::printf("%s\n", m->c_str());
    } else {
      const auto& q = v.at("queue");
      std::string jobs;
      for (const auto& j : q.at("jobs").as_array()) {
        jobs += " " + s(j, "target") + ":" + s(j, "status") + "(" + s(j, "records_written") + ")";
      }
      const std::string line =
          s(v, "queue_id") + " " + s(v, "status") + " records=" + s(q, "records_written") + jobs;
      if (line != last) std::printf("%s\n", line.c_str());
      last = line;
    }
    std::fflush(stdout);
    if (!id.empty() && ended(s(v, "status"))) return s(v, "status") == "finished" ? 0 : 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"streamforge: drive the StreamForge queue-manager"};
  app.require_subcommand(1);
  Global g;
  if (const char* u = std::getenv("STREAMFORGE_URL")) g.url = u;
  if (const char* t = std::getenv("API_TOKEN")) g.token = t;
  app.add_option("--url", g.url, "queue-manager URL (STREAMFORGE_URL)");
  app.add_option("--token", g.token, "API token for start/stop (API_TOKEN)");
  app.add_flag("--json", g.as_json, "print the server's JSON answers as they are");

  std::string file, symbol, type, range, interval, id, status;
  int limit = 50, offset = 0, timeout_s = 3600;
  auto* start = app.add_subcommand("start", "start a queue (flags) or a workflow (--file)");
  start->add_option("--file,-f", file, "workflow JSON file, or - for standard input");
  start->add_option("--symbol", symbol, "e.g. BTCUSDT");
  start->add_option("--type", type, "e.g. api_candles_1m, api_trades, ws_trades");
  start->add_option("--time-range", range, "YYYY-MM-DD:YYYY-MM-DD");
  start->add_option("--interval", interval, "e.g. 5m");
  auto* list = app.add_subcommand("list", "list queues, newest first");
  list->add_option("--status", status, "pending, loading, stopping, finished, interrupted, error");
  list->add_option("--symbol", symbol, "only this symbol");
  list->add_option("--limit", limit, "at most this many (1-1000)");
  list->add_option("--offset", offset, "skip this many");
  auto* get = app.add_subcommand("get", "one queue and its jobs");
  get->add_option("queue_id", id)->required();
  auto* stop = app.add_subcommand("stop", "stop a queue");
  stop->add_option("queue_id", id)->required();
  auto* wait = app.add_subcommand("wait", "wait until a queue ends (exit 0 only if finished)");
  wait->add_option("queue_id", id)->required();
  wait->add_option("--timeout", timeout_s, "give up after this many seconds");
  auto* watch = app.add_subcommand("watch", "follow state changes (one line each)");
  watch->add_option("queue_id", id, "only this queue (and end with it)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  while (!g.url.empty() && g.url.back() == '/') g.url.pop_back();
  if (start->parsed()) return cmd_start(g, file, symbol, type, range, interval);
  if (list->parsed()) return cmd_list(g, status, symbol, limit, offset);
  if (get->parsed()) return cmd_get(g, id);
  if (stop->parsed()) return cmd_stop(g, id);
  if (wait->parsed()) return cmd_wait(g, id, timeout_s);
  if (watch->parsed()) return cmd_watch(g, id);
  return 2;
}
