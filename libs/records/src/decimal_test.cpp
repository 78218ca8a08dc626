#include "sf/records/decimal.h"

#include <gtest/gtest.h>

namespace sf::records {
namespace {

std::string norm(std::string_view s) {
  return Decimal::parse(s).value().str();
}

TEST(Decimal, TrimsTrailingZerosDigitForDigit) {
  EXPECT_EQ(norm("16541.23000000"), "16541.23");
  EXPECT_EQ(norm("0.00002853"), "0.00002853");
  EXPECT_EQ(norm("36304.20000000"), "36304.2");
  EXPECT_EQ(norm("3917"), "3917");
  EXPECT_EQ(norm("0.00000000"), "0");
  EXPECT_EQ(norm("58830.2500"), "58830.25");
  EXPECT_EQ(norm("-0.000"), "0");
  EXPECT_EQ(norm("-1.50"), "-1.5");
  EXPECT_EQ(norm("007.10"), "7.1");
  // More digits than a double holds survive untouched.
  EXPECT_EQ(norm("123456789012345678.12345678"), "123456789012345678.12345678");
}

TEST(Decimal, RejectsWhatIsNotADecimal) {
  for (const char* bad : {"", "abc", "1.", ".5", "1e5", "1.2.3", "+1", "1,5", " 1", "NaN"}) {
    EXPECT_FALSE(Decimal::parse(bad).ok()) << bad;
  }
  EXPECT_FALSE(Decimal::parse(std::string(41, '1')).ok());
}

TEST(Decimal, ScaledArithmeticIsExact) {
  auto d = Decimal::parse("61685.99000000").value();
  EXPECT_EQ(d.to_scaled8().value(), static_cast<__int128>(6168599000000));
  EXPECT_EQ(Decimal::from_scaled8(6168599000000).str(), "61685.99");
  EXPECT_EQ(Decimal::from_scaled8(1).str(), "0.00000001");
  EXPECT_EQ(Decimal::from_scaled8(0).str(), "0");
  EXPECT_EQ(Decimal::from_scaled8(-250000000).str(), "-2.5");
  EXPECT_FALSE(Decimal::parse("0.123456789").value().to_scaled8().ok());
}

TEST(Decimal, ComparesNumerically) {
  auto d = [](const char* s) { return Decimal::parse(s).value(); };
  EXPECT_EQ(compare(d("1.5"), d("1.55")), -1);
  EXPECT_EQ(compare(d("10"), d("9.99")), 1);
  EXPECT_EQ(compare(d("2.50"), d("2.5")), 0);
  EXPECT_EQ(compare(d("-3"), d("2")), -1);
  EXPECT_EQ(compare(d("-3"), d("-2")), -1);
  EXPECT_EQ(compare(d("0.00002854"), d("0.00002853")), 1);
}

}  // namespace
}  // namespace sf::records
