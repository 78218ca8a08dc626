// WebSocket stream contents: the messages a Binance stream would have sent over the dataset, in
// order, with their event times. Built once per stream name and shared by every connection.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sf/core/result.h"
#include "sf/replay/dataset.h"

namespace sf::replay {

struct StreamMessage {
  int64_t event_time = 0;  // E, ms
  std::string json;        // the raw-stream (/ws) form; /stream wraps it in {"stream","data"}
};

using StreamMessages = std::vector<StreamMessage>;

// `name` as Binance spells it: "btcusdt@trade", "btcusdt@aggTrade", "btcusdt@kline_1m".
// Kline streams built from trades carry "x":false updates (at most one per 2 s of market time, and
// one after each period's first trade) and exactly one "x":true per kline, equal to the REST kline.
Result<std::shared_ptr<const StreamMessages>> build_stream(const Dataset& data,
                                                           std::string_view name);

std::string trade_event_json(const records::Trade& t);
std::string kline_event_json(const Kline& k, bool closed, int64_t event_time);

}  // namespace sf::replay
