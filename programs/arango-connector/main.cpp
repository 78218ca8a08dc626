// arango-connector: a Kafka data topic -> a store collection (SQLite or ArangoDB), idempotent by
// _key (see libs/connector).
#include "sf/connector/connector.h"

int main() {
  return sf::connector::connector_main();
}
