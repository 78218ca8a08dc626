// loader-producer: historical candles and trades from Binance into Kafka (SPEC §1, §3).
#include "sf/binance/rest_client.h"
#include "sf/config/worker_config.h"
#include "sf/loader/historical.h"
#include "sf/log/log.h"
#include "sf/records/time_range.h"
#include "sf/worker/runtime.h"

int main() {
  using namespace sf;
  auto env = config::process_env();
  log::init(log::options_from_env("loader-producer", env));
  auto loaded = config::load_worker_config(env);
  if (auto* e = std::get_if<config::ConfigError>(&loaded)) config::exit_with_config_error(*e);
  const auto& cfg = std::get<config::WorkerConfig>(loaded);

  if (config::is_live(cfg.kind)) {
    config::exit_with_config_error(
        {"TYPE", "config error: TYPE='" + cfg.type +
                     "' is not supported by this build yet: expected api_candles_<interval> or "
                     "api_trades (the live ws_* loaders are not built yet)"});
  }
  const int64_t now = SystemClock().now_ms();
  if (cfg.time_range->start_ms > now) {
    config::exit_with_config_error(
        {"TIME_RANGE", "config error: TIME_RANGE starts in the future (" +
                           records::format_utc(cfg.time_range->start_ms) +
                           "): expected a range whose first day has begun (now is " +
                           records::format_utc(now) + ")"});
  }
  auto rest = loader::make_rest_client(cfg, SystemClock::shared());
  if (!rest) {
    config::exit_with_config_error(
        {"BINANCE_API_URL", "config error: BINANCE_API_URL='" + cfg.binance_api_url +
                                "' is invalid: " + rest.error().message});
  }
  return worker::run_worker(
      cfg, [&](worker::WorkerContext& ctx) { return loader::run_historical(ctx, **rest); });
}
