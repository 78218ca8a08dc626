#include "sf/loader/program.h"

#include "sf/live/live.h"
#include "sf/loader/historical.h"
#include "sf/log/log.h"
#include "sf/records/time_range.h"
#include "sf/worker/runtime.h"

namespace sf::loader {

int loader_main(const std::string& program, const std::set<config::DataKind>& allowed) {
  auto env = config::process_env();
  log::init(log::options_from_env(program, env));
  auto loaded = config::load_worker_config(env);
  if (auto* e = std::get_if<config::ConfigError>(&loaded)) config::exit_with_config_error(*e);
  const auto& cfg = std::get<config::WorkerConfig>(loaded);

  if (!allowed.count(cfg.kind)) {
    std::string kinds;
    for (auto k : allowed)
      kinds += std::string(kinds.empty() ? "" : ", ") + std::string(config::to_string(k));
    config::exit_with_config_error({"TYPE", "config error: TYPE='" + cfg.type +
                                                "' is invalid for " + program + ": expected " +
                                                kinds});
  }
  const int64_t now = SystemClock().now_ms();
  if (cfg.time_range && !config::is_live(cfg.kind) && cfg.time_range->start_ms > now) {
    config::exit_with_config_error(
        {"TIME_RANGE", "config error: TIME_RANGE starts in the future (" +
                           records::format_utc(cfg.time_range->start_ms) +
                           "): expected a range whose first day has begun (now is " +
                           records::format_utc(now) + ")"});
  }
  auto live = live::live_options_from_env(env);
  if (!live) config::exit_with_config_error({"WS_*", live.error().message});
  auto rest = make_rest_client(cfg, SystemClock::shared());
  if (!rest) {
    config::exit_with_config_error(
        {"BINANCE_API_URL", "config error: BINANCE_API_URL='" + cfg.binance_api_url +
                                "' is invalid: " + rest.error().message});
  }
  return worker::run_worker(cfg, [&](worker::WorkerContext& ctx) -> Status {
    if (!config::is_live(cfg.kind)) return run_historical(ctx, **rest);
    (*rest)->set_cancel([&ctx] { return ctx.stop.stop_requested(); });
    Status st = cfg.kind == config::DataKind::ws_trades
                    ? live::run_live_trades(ctx, **rest, *live)
                    : live::run_live_candles(ctx, **rest, *live);
    if (!st && ctx.stop.stop_requested()) return ok_status();
    return st;
  });
}

}  // namespace sf::loader
