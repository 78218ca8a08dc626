// loader-ws-trades: gapless real-time trades of one symbol into Kafka (SPEC §3).
#include "sf/loader/program.h"

int main() {
  return sf::loader::loader_main("loader-ws-trades", {sf::config::DataKind::ws_trades});
}
