// Historical loading (loader-producer's api_* types): every closed candle / every trade of the
// TIME_RANGE, exactly once, in time (id) order, published through the worker context's producer.
// A page that cannot be fetched after the RestClient's retry budget ends the load with an Error:
// never a skipped range.
#pragma once

#include "sf/binance/rest_client.h"
#include "sf/worker/runtime.h"

namespace sf::loader {

// api_candles_<interval>: pages /api/v3/klines from the first period opening in the range.
Status load_candles(worker::WorkerContext& ctx, binance::RestClient& rest);
// api_trades: finds the first trade id through /api/v3/aggTrades?startTime=..&limit=1, then pages
// /api/v3/historicalTrades?fromId= until past the range end. Ids must be contiguous.
Status load_trades(worker::WorkerContext& ctx, binance::RestClient& rest);

// A RestClient for BINANCE_API_URL with the config's retry budget and weight share.
Result<std::unique_ptr<binance::RestClient>> make_rest_client(const config::WorkerConfig& cfg,
                                                              std::shared_ptr<Clock> clock);

// The whole body of loader-producer for api_* types: reads exchangeInfo's limits, then loads. A
// request abandoned because of a stop is an interruption, not a failure.
Status run_historical(worker::WorkerContext& ctx, binance::RestClient& rest);

// The first open time of `interval` at or after `t`.
int64_t first_open_at_or_after(const records::Interval& interval, int64_t t);

}  // namespace sf::loader
