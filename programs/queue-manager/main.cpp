// queue-manager: the control plane's HTTP API + WebSocket (see libs/manager).
#include "sf/manager/api.h"

int main(int argc, char** argv) {
  return sf::manager::queue_manager_main(argc, argv);
}
