// visualizer: the platform's web UI and its JSON/WebSocket API (see libs/viz).
#include "sf/viz/visualizer.h"

int main() {
  return sf::viz::visualizer_main();
}
