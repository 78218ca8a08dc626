#include "sf/core/result.h"

#include <gtest/gtest.h>

namespace sf {
namespace {

Result<int> parse_digit(char c) {
  if (c < '0' || c > '9') return make_error(std::string("not a digit: ") + c);
  return c - '0';
}

TEST(Result, CarriesValueOrError) {
  auto good = parse_digit('7');
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 7);
  auto bad = parse_digit('x');
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "not a digit: x");
  EXPECT_FALSE(bad.error().retryable);
}

}  // namespace
}  // namespace sf
