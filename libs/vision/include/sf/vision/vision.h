// Binance's bulk archive (data.binance.vision): where its files are, how they are checked, and
// how they are read. Shared by the loader (reading) and the replay exchange (serving).
//
//   /data/spot/monthly/trades/BTCUSDT/BTCUSDT-trades-2024-06.zip
//   /data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2024-06-01.zip
//   ... each with <file>.CHECKSUM: "<sha256 hex>  <file name>"
//
// Zips are read as a stream (libarchive): a file of hundreds of MB is never in memory.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "sf/core/result.h"

namespace sf::vision {

enum class Period { daily, monthly };

// "trades" or a kline interval ("1m", "5m", ...) for `what`; `day_ms` any time in the period (UTC).
std::string file_name(std::string_view symbol, std::string_view what, Period period,
                      int64_t day_ms);
std::string file_path(std::string_view symbol, std::string_view what, Period period,
                      int64_t day_ms);

// The SHA-256 (lower-case hex) of a string or of a file's contents (read in blocks).
std::string sha256_hex(std::string_view data);
Result<std::string> sha256_file(const std::string& path);
// The hash of a .CHECKSUM file's text, or an Error saying what it holds instead.
Result<std::string> parse_checksum(std::string_view text);

// A zip holding one file `name` with `content` (the replay exchange serves these).
Result<std::string> make_zip(const std::string& name, std::string_view content);
// Every line of the (first) file inside the zip at `path`, streamed; `on_line` may stop the read
// with an Error. A damaged zip is an Error naming the file.
Status for_each_line(const std::string& path,
                     const std::function<Status(std::string_view)>& on_line);
// Reads the whole zip through (its CRC checked), publishing nothing: true when it is sound.
Status check_zip(const std::string& path);

}  // namespace sf::vision
