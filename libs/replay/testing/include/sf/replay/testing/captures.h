// The dataset tests share: the real captures in shared/data/binance (SF_DATA_DIR, defined for every
// test target), or the generated dataset when they are absent. Loaded once per test binary.
#pragma once

#include <memory>

#include "sf/replay/dataset.h"

namespace sf::replay::testing {

inline std::shared_ptr<Dataset> captures() {
  static const auto ds = Dataset::load_or_generate(SF_DATA_DIR);
  return ds;
}

}  // namespace sf::replay::testing
