// graph-builder: candle and trade collections -> the causal market graph (see libs/graph).
#include "sf/graph/program.h"

int main() {
  return sf::graph::graph_builder_main();
}
