// The replay exchange's copy of data.binance.vision: daily and monthly zips of its trades and
// klines, each with its .CHECKSUM, made from the dataset on first request (then kept), with the
// archive's faults on demand. Timestamps from 2025 on are in microseconds, as the archive's spot
// files are.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "sf/replay/dataset.h"
#include "sf/replay/rest_api.h"

namespace sf::replay {

struct VisionFaults {
  std::set<std::string> missing;            // file names answered 404 (a day never published)
  std::map<std::string, int> corrupt;       // name -> fetches served damaged bytes
  std::map<std::string, int> bad_checksum;  // name -> .CHECKSUM fetches with a wrong hash
  int64_t published_until_ms = INT64_MAX;   // files of periods ending later: not yet published
};

class VisionTree {
 public:
  VisionTree(std::shared_ptr<const Dataset> data, VisionFaults faults);
  // The answer for `path` under /data/ (404 for what the archive does not have).
  RestResponse serve(const std::string& path);
  int64_t fetches() const;

 private:
  std::optional<std::string> build(const std::string& file);  // the zip, or none

  std::shared_ptr<const Dataset> data_;
  VisionFaults faults_;
  mutable std::mutex mu_;
  std::map<std::string, std::optional<std::string>> zips_;  // file name -> bytes
  int64_t fetches_ = 0;
};

// One row of a vision klines CSV / trades CSV (the generator writes the same).
std::string vision_kline_row(const records::Candle& c, bool micros);
std::string vision_trade_row(const records::Trade& t, bool micros);

}  // namespace sf::replay
