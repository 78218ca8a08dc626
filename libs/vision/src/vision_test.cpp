#include "sf/vision/vision.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <vector>

namespace sf::vision {
namespace {

std::string temp_file(const std::string& name, const std::string& bytes) {
  const auto p = std::filesystem::temp_directory_path() /
                 ("sf-vision-" + std::to_string(getpid()) + "-" + name);
  std::ofstream(p, std::ios::binary) << bytes;
  return p.string();
}

TEST(Vision, PathsAsTheArchiveNamesThem) {
  const int64_t june1 = 1717200000000;  // 2024-06-01
  EXPECT_EQ(file_path("BTCUSDT", "trades", Period::monthly, june1),
            "/data/spot/monthly/trades/BTCUSDT/BTCUSDT-trades-2024-06.zip");
  EXPECT_EQ(file_path("BTCUSDT", "1m", Period::daily, june1 + 86'399'999),
            "/data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2024-06-01.zip");
}

TEST(Vision, ZipsRoundTripLineByLineAndDamageIsCaught) {
  std::string csv;
  for (int i = 0; i < 50'000; ++i) csv += std::to_string(i) + ",1.0,2.0\n";
  csv += "last-without-newline";
  const auto zip = make_zip("X-trades-2024-06-01.csv", csv).value();
  const auto path = temp_file("ok.zip", zip);
  EXPECT_TRUE(check_zip(path).ok());
  std::vector<std::string> lines;
  ASSERT_TRUE(for_each_line(path, [&](std::string_view l) {
                lines.emplace_back(l);
                return ok_status();
              }).ok());
  ASSERT_EQ(lines.size(), 50'001u);
  EXPECT_EQ(lines[12'345], "12345,1.0,2.0");
  EXPECT_EQ(lines.back(), "last-without-newline");
  // A flipped byte inside the compressed data: the CRC (or inflate) says so.
  std::string bad = zip;
  bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x5a);
  const auto bad_path = temp_file("bad.zip", bad);
  EXPECT_FALSE(check_zip(bad_path).ok());
  EXPECT_FALSE(check_zip(temp_file("junk.zip", "not a zip at all")).ok());
  // Checksums as the archive writes them.
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_file(path).value(), sha256_hex(zip));
  EXPECT_EQ(parse_checksum(sha256_hex(zip) + "  X-trades-2024-06-01.zip\n").value(),
            sha256_hex(zip));
  EXPECT_FALSE(parse_checksum("<html>404</html>").ok());
}

}  // namespace
}  // namespace sf::vision
