// loader-ws-candles: closed real-time candles of one symbol and interval into Kafka (SPEC §3).
#include "sf/loader/program.h"

int main() {
  return sf::loader::loader_main("loader-ws-candles", {sf::config::DataKind::ws_candles});
}
