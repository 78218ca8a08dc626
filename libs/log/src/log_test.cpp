#include "sf/log/log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

namespace sf::log {
namespace {

TEST(Log, JsonLinesAreValidJsonWithSecretsScrubbed) {
  std::ostringstream out;
  init_for_test({"test-program", Format::json, false}, out);
  add_secret("hunter2-password");
  get().info("connecting with \"quotes\"\tand password hunter2-password");
  get().debug("not shown at info level");
  config::Secret s("hunter2-password");
  get().warn("secret type formats as {}", s);

  std::istringstream lines(out.str());
  std::string line;
  std::vector<nlohmann::json> docs;
  while (std::getline(lines, line)) docs.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(docs.size(), 2u) << out.str();
  EXPECT_EQ(docs[0]["level"], "info");
  EXPECT_EQ(docs[0]["logger"], "test-program");
  EXPECT_EQ(docs[0]["msg"], "connecting with \"quotes\"\tand password ***");
  EXPECT_EQ(docs[1]["msg"], "secret type formats as ***");
  EXPECT_EQ(out.str().find("hunter2"), std::string::npos);
  EXPECT_EQ(docs[0]["ts"].get<std::string>().back(), 'Z');
}

TEST(Log, HumanFormatAndDebugLevel) {
  std::ostringstream out;
  init_for_test({"prog", Format::human, true}, out);
  get().debug("details {}", 42);
  EXPECT_NE(out.str().find("prog: details 42"), std::string::npos) << out.str();
}

TEST(Log, OptionsFromEnv) {
  auto o = options_from_env("p", config::map_env({{"LOG_FORMAT", "json"}, {"DEBUG", "true"}}));
  EXPECT_EQ(o.format, Format::json);
  EXPECT_TRUE(o.debug);
  EXPECT_EQ(options_from_env("p", config::map_env({{"LOG_FORMAT", "text"}})).format, Format::human);
}

}  // namespace
}  // namespace sf::log
