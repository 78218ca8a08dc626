// The Kubernetes launcher against FakeKube, which checks each Job manifest field by field.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <thread>

#include "sf/manager/launcher.h"
#include "sf/manager/testing/fake_kube.h"

namespace sf::manager {
namespace {

namespace json = boost::json;

LaunchSpec spec(const std::string& name) {
  LaunchSpec s;
  s.job_name = name;
  s.queue_id = "wf-historical-20240601-abcdef";
  s.target = "loader-producer";
  s.type = "api_candles_5m";
  s.env = {{"QUEUE_ID", s.queue_id},
           {"SYMBOL", "BTCUSDT"},
           {"TYPE", "api_candles_5m"},
           {"KAFKA_USER_PRODUCER", "streamforge-producer"}};
  s.secrets["KAFKA_PASSWORD_PRODUCER"] = {"kafka-producer", "password", "never-in-a-manifest"};
  return s;
}

KubernetesOptions options(const testing::FakeKube& fake) {
  KubernetesOptions o;
  o.api_url = fake.url();
  o.token = "test-token";
  o.ns = "streamforge";
  o.images = {{"loader-producer", "registry.local/streamforge:1.2.3"}};
  o.ca_secret = "kafka-cluster-ca";
  return o;
}

TEST(Kubernetes, JobsAreCreatedWithTheManifestTheSpecAsks) {
  testing::FakeKube fake;
  auto l = make_kubernetes_launcher(options(fake));
  auto r = l->launch(spec("sf-abcdef-loader-producer-api-candles-5m"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->where, "streamforge/sf-abcdef-loader-producer-api-candles-5m");
  EXPECT_TRUE(fake.refusals().empty());
  const std::string m = fake.manifest("sf-abcdef-loader-producer-api-candles-5m");
  EXPECT_EQ(m.find("never-in-a-manifest"), std::string::npos);  // secrets by reference only
  auto v = json::parse(m);
  const auto& labels = v.at("metadata").at("labels").as_object();
  EXPECT_EQ(labels.at("streamforge/queue-id").as_string(), "wf-historical-20240601-abcdef");
  EXPECT_EQ(labels.at("app.kubernetes.io/name").as_string(), "loader-producer");
  const auto& pod = v.at("spec").at("template").at("spec").as_object();
  EXPECT_EQ(pod.at("restartPolicy").as_string(), "Never");
  const auto& c = pod.at("containers").as_array()[0].as_object();
  EXPECT_EQ(c.at("image").as_string(), "registry.local/streamforge:1.2.3");
  bool ca = false;
  for (const auto& e : c.at("env").as_array()) {
    if (e.at("name").as_string() == "CA_PATH")
      ca = e.at("value").as_string() == "/etc/streamforge/ca/ca.crt";
  }
  EXPECT_TRUE(ca);
  // Launching the same Job again (a manager restart) is not an error: 409 AlreadyExists.
  EXPECT_TRUE(l->launch(spec("sf-abcdef-loader-producer-api-candles-5m")).ok());
}

TEST(Kubernetes, EndsAreReapedOnceAndKillsDelete) {
  testing::FakeKube fake;
  auto l = make_kubernetes_launcher(options(fake));
  ASSERT_TRUE(l->launch(spec("job-a")).ok());
  ASSERT_TRUE(l->launch(spec("job-b")).ok());
  EXPECT_TRUE(l->reap().empty());
  EXPECT_EQ(l->alive("job-a", 0), std::optional<bool>(true));
  ASSERT_TRUE(fake.finish("job-a", false));
  ASSERT_TRUE(fake.finish("job-b", true, "PodFailurePolicy"));
  auto ends = l->reap();
  ASSERT_EQ(ends.size(), 2u);
  EXPECT_FALSE(ends[0].failed);
  EXPECT_TRUE(ends[1].failed);
  EXPECT_NE(ends[1].detail.find("PodFailurePolicy"), std::string::npos);
  EXPECT_TRUE(l->reap().empty());
  ASSERT_TRUE(l->launch(spec("job-c")).ok());
  ASSERT_TRUE(l->kill("job-c").ok());
  EXPECT_EQ(fake.deleted(), std::vector<std::string>{"job-c"});
  EXPECT_TRUE(l->kill("job-c").ok());  // already gone: fine
  EXPECT_EQ(l->alive("job-c", 0), std::optional<bool>(false));
}

TEST(Kubernetes, WrongTokenAndRefusedManifestsAreClearErrors) {
  testing::FakeKube fake("other-token");
  auto l = make_kubernetes_launcher(options(fake));
  auto r = l->launch(spec("job-a"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("401"), std::string::npos);
  testing::FakeKube strict;
  auto o = options(strict);
  auto l2 = make_kubernetes_launcher(o);
  auto bad = l2->launch(spec("Not_A_DNS_Name"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("metadata.name"), std::string::npos) << bad.error().message;
}

TEST(Kubernetes, TheFakeCatchesWhatSpecFiveForbids) {
  KubernetesOptions o;
  const std::string good = job_manifest(o, spec("ok"));
  EXPECT_TRUE(testing::check_job_manifest(good).empty());
  auto v = json::parse(good);
  auto& env = v.at("spec")
                  .at("template")
                  .at("spec")
                  .at("containers")
                  .as_array()[0]
                  .as_object()["env"]
                  .as_array();
  env.push_back(json::object{{"name", "ARANGO_PASSWORD"}, {"value", "plain"}});
  v.at("spec").as_object().erase("podFailurePolicy");
  v.at("spec").at("template").at("spec").as_object()["restartPolicy"] = "OnFailure";
  auto problems = testing::check_job_manifest(json::serialize(v));
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  EXPECT_NE(all.find("ARANGO_PASSWORD: a secret as a plain value"), std::string::npos) << all;
  EXPECT_NE(all.find("podFailurePolicy"), std::string::npos) << all;
  EXPECT_NE(all.find("restartPolicy: must be Never"), std::string::npos) << all;
}

}  // namespace
}  // namespace sf::manager
