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

// The same over a part of the range, continuing from a cursor (the next open time / trade id;
// INT64_MIN / -1: from the part's start) that they advance: the seams of the archive path.
Status rest_candles(worker::WorkerContext& ctx, binance::RestClient& rest,
                    const records::TimeRange& range, int64_t& cursor);
Status rest_trades(worker::WorkerContext& ctx, binance::RestClient& rest,
                   const records::TimeRange& range, int64_t& next_id);
int64_t expected_candles(const worker::WorkerContext& ctx);
int64_t expected_trade_span(const worker::WorkerContext& ctx);

// BINANCE_HISTORY_SOURCE=auto|archive (archive.cpp): the bulk archive (BINANCE_VISION_URL),
// monthly files where a month is whole in the range, daily ones otherwise, each checked against
// its .CHECKSUM and streamed out of its zip; REST for days the archive does not have (auto) or an
// error naming them (archive). Trades join by id and candles by open time: no gap, no duplicate.
Status load_with_archive(worker::WorkerContext& ctx, binance::RestClient& rest);

// A RestClient for BINANCE_API_URL with the config's retry budget and weight share.
Result<std::unique_ptr<binance::RestClient>> make_rest_client(const config::WorkerConfig& cfg,
                                                              std::shared_ptr<Clock> clock);

// The whole body of loader-producer for api_* types: reads exchangeInfo's limits, then loads. A
// request abandoned because of a stop is an interruption, not a failure.
Status run_historical(worker::WorkerContext& ctx, binance::RestClient& rest);

// The first open time of `interval` at or after `t`.
int64_t first_open_at_or_after(const records::Interval& interval, int64_t t);

}  // namespace sf::loader
