// loader-producer: historical (api_*) and real-time (ws_*) candles and trades into Kafka (SPEC §3).
#include "sf/loader/program.h"

int main() {
  using sf::config::DataKind;
  return sf::loader::loader_main("loader-producer", {DataKind::api_candles, DataKind::api_trades,
                                                     DataKind::ws_candles, DataKind::ws_trades});
}
