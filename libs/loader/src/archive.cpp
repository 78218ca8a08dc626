// Historical loading from Binance's bulk archive (data.binance.vision), REST where it has nothing.
#include <unistd.h>

#include <ctime>
#include <deque>
#include <filesystem>

#include "sf/loader/historical.h"
#include "sf/log/log.h"
#include "sf/net/transport.h"
#include "sf/records/parser.h"
#include "sf/records/time_range.h"
#include "sf/records/writer.h"
#include "sf/vision/vision.h"

namespace sf::loader {

namespace {

constexpr int64_t kDay = 86'400'000;
// Archive rows go to the producer this many at a time (one call into librdkafka for each run).
constexpr size_t kRun = 512;

int64_t month_start(int64_t ms, int add_months = 0) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  tm.tm_mday = 1;
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  tm.tm_mon += add_months;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

// One archive file's span of the range.
struct Segment {
  int64_t from = 0, to = 0;
  vision::Period period = vision::Period::daily;
};

// Monthly files for months wholly inside the range and over before today; daily files for the
// other days up to yesterday (the archive publishes a day after it ends). Today on: REST.
std::deque<Segment> plan(const records::TimeRange& range, int64_t now_ms) {
  std::deque<Segment> out;
  const int64_t today = now_ms / kDay * kDay;
  for (int64_t day = range.start_ms / kDay * kDay; day <= range.end_ms && day < today;) {
    const int64_t m0 = month_start(day), m1 = month_start(day, 1);
    if (day == m0 && m1 - 1 <= range.end_ms && m1 <= today) {
      out.push_back({m0, m1 - 1, vision::Period::monthly});
      day = m1;
    } else {
      out.push_back({day, day + kDay - 1, vision::Period::daily});
      day += kDay;
    }
  }
  return out;
}

std::string day_text(int64_t ms) {
  return records::format_utc(ms).substr(0, 10);
}

// Downloads archive files into a temporary directory, each checked against its .CHECKSUM.
class Fetcher {
 public:
  Fetcher(std::unique_ptr<net::HttpClient> http, std::string dir)
      : http_(std::move(http)), dir_(std::move(dir)) {}
  ~Fetcher() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // The verified local copy of `path`, nothing when the archive does not have it, or an Error
  // (retryable: the archive could not be reached).
  Result<std::optional<std::string>> fetch(const std::string& path) {
    const std::string name = path.substr(path.rfind('/') + 1);
    const std::string local = dir_ + "/" + name;
    std::string last_problem;
    for (int attempt = 1; attempt <= 2; ++attempt) {
      auto sum = http_->get(path + ".CHECKSUM");
      if (!sum) return sum.error();
      if (sum->status == 404 || sum->status == 403) return std::optional<std::string>();
      if (sum->status != 200) {
        return make_error(
            "the archive answered " + std::to_string(sum->status) + " for " + path + ".CHECKSUM",
            true);
      }
      auto expected = vision::parse_checksum(sum->body);
      if (!expected) return expected.error();
      net::HttpRequest get;
      get.target = path;
      get.body_file = local;
      get.timeout = std::chrono::minutes(30);  // a monthly file can be hundreds of MB
      auto res = http_->request(get);
      if (!res) return res.error();
      if (res->status == 404 || res->status == 403) return std::optional<std::string>();
      if (res->status != 200) {
        return make_error("the archive answered " + std::to_string(res->status) + " for " + path,
                          true);
      }
      auto actual = vision::sha256_file(local);
      if (!actual) return actual.error();
      if (*actual != *expected) {
        last_problem = "its SHA-256 is " + *actual + ", its .CHECKSUM says " + *expected;
      } else if (auto zip = vision::check_zip(local); !zip) {
        last_problem = zip.error().message;
      } else {
        return std::optional<std::string>(local);
      }
      log::get().warn("archive file {} failed its check (attempt {}): {}", name, attempt,
                      last_problem);
    }
    std::filesystem::remove(local);
    return make_error("archive file " + name + " failed its check twice (" + last_problem +
                      "): nothing of it was published");
  }

 private:
  std::unique_ptr<net::HttpClient> http_;
  std::string dir_;
};

}  // namespace

Status load_with_archive(worker::WorkerContext& ctx, binance::RestClient& rest) {
  const auto& cfg = ctx.config;
  auto& lg = log::get();
  const bool trades = cfg.kind == config::DataKind::api_trades;
  const bool strict = cfg.history_source == "archive";
  const records::TimeRange range = *cfg.time_range;
  const std::string what = trades ? "trades" : std::string(cfg.interval->name());
  ctx.progress.expected = trades ? expected_trade_span(ctx) : expected_candles(ctx);

  net::HttpOptions ho;
  ho.timeout = std::chrono::seconds(30);
  auto http = net::HttpClient::create(cfg.binance_vision_url, ho);
  if (!http) return http.error();
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("sf-vision-" + std::to_string(getpid()) + "-" + cfg.kafka_topic))
                              .string();
  std::filesystem::create_directories(dir);
  Fetcher fetcher(std::move(http).value(), dir);

  int64_t cursor = trades ? -1 : INT64_MIN;  // next trade id / next open time
  int64_t archive_files = 0, archive_days = 0, rest_days = 0;
  int64_t rest_from = -1, rest_to = -1;  // days waiting for REST, in order
  auto run_rest = [&]() -> Status {
    if (rest_from < 0) return ok_status();
    const records::TimeRange part{std::max(rest_from, range.start_ms),
                                  std::min(rest_to, range.end_ms)};
    rest_days += (rest_to - rest_from + 1) / kDay;
    lg.info("{} to {}: REST", day_text(part.start_ms), day_text(part.end_ms));
    rest_from = -1;
    return trades ? rest_trades(ctx, rest, part, cursor) : rest_candles(ctx, rest, part, cursor);
  };
  auto by_rest = [&](const Segment& s) {
    if (rest_from < 0) rest_from = s.from;
    rest_to = s.to;
  };
  ctx.set_metric("archive_days", 0);
  ctx.set_metric("rest_days", 0);

  auto segments = plan(range, ctx.clock.now_ms());
  const int64_t archive_end = segments.empty() ? range.start_ms - 1 : segments.back().to;
  bool reachable = true;
  while (!segments.empty() && !ctx.stop.stop_requested()) {
    const Segment s = segments.front();
    segments.pop_front();
    if (!reachable) {
      by_rest(s);
      continue;
    }
    const std::string path = vision::file_path(cfg.symbol, what, s.period, s.from);
    auto got = fetcher.fetch(path);
    if (!got) {
      if (strict || !got.error().retryable) return got.error();
      lg.warn("the archive at {} cannot be reached ({}): REST serves the range",
              cfg.binance_vision_url, got.error().message);
      reachable = false;
      by_rest(s);
      continue;
    }
    if (!*got) {
      if (s.period == vision::Period::monthly) {
        // Not as a month: day by day, in order, before what follows.
        for (int64_t d = s.to / kDay * kDay; d >= s.from; d -= kDay) {
          segments.push_front({d, d + kDay - 1, vision::Period::daily});
        }
        continue;
      }
      if (strict) {
        return make_error("the archive has no " +
                          vision::file_name(cfg.symbol, what, s.period, s.from) +
                          " (BINANCE_HISTORY_SOURCE=archive; auto would load that day from REST)");
      }
      lg.info("{}: not in the archive", day_text(s.from));
      by_rest(s);
      continue;
    }
    if (auto st = run_rest(); !st) return st;
    // The file's rows, in order, joined to what came before (by id / open time), handed to the
    // producer in runs (one call into librdkafka for each).
    int64_t rows = 0;
    kafka::RecordRun run;
    auto send_run = [&]() -> Status {
      size_t sent = 0;
      return run.send(ctx.producer, cfg.kafka_topic, cfg.symbol, sent);
    };
    Status published = vision::for_each_line(**got, [&](std::string_view line) -> Status {
      if (records::is_vision_header(line)) return ok_status();
      if (trades) {
        auto t = records::parse_vision_trade_row(line, cfg.symbol);
        if (!t) return make_error(path + ": " + t.error().message);
        if (t->trade_id < cursor) return ok_status();
        if (cursor >= 0 && t->trade_id > cursor) {
          return make_error(path + " goes on at trade id " + std::to_string(t->trade_id) +
                            " after " + std::to_string(cursor - 1) + ": refusing to leave a gap");
        }
        cursor = t->trade_id + 1;
        if (t->timestamp < range.start_ms || t->timestamp > range.end_ms) return ok_status();
        run.add(t->timestamp, [&](std::string& out) { records::append_json(*t, out); });
        ctx.progress.done = std::min(ctx.progress.expected.load(), t->timestamp - range.start_ms);
      } else {
        auto c = records::parse_vision_kline_row(line, cfg.symbol, what);
        if (!c) return make_error(path + ": " + c.error().message);
        if (c->open_time < cursor) return ok_status();
        if (c->open_time < range.start_ms || c->open_time > range.end_ms) return ok_status();
        cursor = cfg.interval->next_open(c->open_time);
        run.add(c->open_time, [&](std::string& out) { records::append_json(*c, out); });
        ctx.progress.done.fetch_add(1);
      }
      ++rows;
      if (run.size() >= kRun || ctx.stop.stop_requested()) {
        if (auto st = send_run(); !st) return st;
      }
      return ctx.stop.stop_requested() ? make_error("stopped") : ok_status();
    });
    // What was read before a row that failed still goes, as it would record by record.
    if (auto st = send_run(); !st && published) published = st;
    std::filesystem::remove(**got);
    if (!published) return published;
    ++archive_files;
    archive_days += (s.to - s.from + 1) / kDay;
    lg.info("{}: archive ({} file, checksum verified, {} records)",
            vision::file_name(cfg.symbol, what, s.period, s.from),
            s.period == vision::Period::monthly ? "monthly" : "daily", rows);
    ctx.set_metric("archive_days", static_cast<double>(archive_days));
    ctx.set_metric("archive_files", static_cast<double>(archive_files));
  }
  if (ctx.stop.stop_requested()) return ok_status();
  // Today and later (not published yet): REST.
  if (archive_end < range.end_ms) by_rest({archive_end + 1, range.end_ms, vision::Period::daily});
  if (auto st = run_rest(); !st) return st;
  ctx.set_metric("rest_days", static_cast<double>(rest_days));
  lg.info("history of {}: {} days from the archive ({} files), {} from REST", cfg.symbol,
          archive_days, archive_files, rest_days);
  if (trades && cursor < 0) ctx.progress.done = ctx.progress.expected.load();
  return ok_status();
}

}  // namespace sf::loader
