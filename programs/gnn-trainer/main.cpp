// gnn-trainer: a graph collection -> a GATv2 model judged beside naive baselines (see libs/gnn).
#include "sf/gnn/trainer.h"

int main() {
  return sf::gnn::trainer_main();
}
