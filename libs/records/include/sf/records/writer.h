// Our JSON for the data topics (SPEC §4): field names and order as the seeds show, plus `_key`.
// Appends to `out` (the caller reuses one buffer per message); decimals are copied digit for digit.
#pragma once

#include <string>

#include "sf/records/records.h"

namespace sf::records {

void append_json(const Candle& c, std::string& out);
void append_json(const Trade& t, std::string& out);

// Deterministic document keys: "<SYMBOL>:<interval>:<open_time>" and "<SYMBOL>:t:<trade_id>".
std::string candle_key(const Candle& c);
std::string trade_key(const Trade& t);

template <class Record>
std::string to_json(const Record& r) {
  std::string out;
  append_json(r, out);
  return out;
}

}  // namespace sf::records
