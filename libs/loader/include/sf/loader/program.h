// The whole main() of the loader programs: config (exit 2 on a bad variable), logging, the REST
// client, then run_worker with the historical or the live body for TYPE. `allowed` limits the
// TYPEs a program accepts (loader-ws-trades takes only ws_trades, ...).
#pragma once

#include <set>
#include <string>

#include "sf/config/worker_config.h"

namespace sf::loader {

int loader_main(const std::string& program, const std::set<config::DataKind>& allowed);

}  // namespace sf::loader
