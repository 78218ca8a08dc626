// The Kubernetes launcher against FakeKube, which checks each Job manifest field by field.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <thread>

#include "sf/config/env.h"
#include "sf/manager/launcher.h"
#include "sf/manager/service.h"
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
  // Launching the same Job again (a manager restart) is not an error: 409 AlreadyExists, and
  // the existing Job's queue-id label is this queue's.
  EXPECT_TRUE(l->launch(spec("sf-abcdef-loader-producer-api-candles-5m")).ok());
  // Another queue whose job name collides (review #10) does not adopt that Job.
  auto other = spec("sf-abcdef-loader-producer-api-candles-5m");
  other.queue_id = "wf-historical-20240701-abcdef";
  auto refused = l->launch(other);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("belongs to queue wf-historical-20240601-abcdef"),
            std::string::npos)
      << refused.error().message;
}

TEST(Kubernetes, WorkerSecretsReachJobsOnlyAsSecretKeyRefs) {
  auto cfg = manager_config_from_env(config::map_env(
      {{"KAFKA_BOOTSTRAP_SERVERS", "k:9092"},
       {"WORKER_SECRETS", "BINANCE_API_KEY=binance/api-key;BINANCE_API_SECRET=binance/api-secret"},
       {"BINANCE_API_KEY", "key-never-in-a-manifest"}}));
  ASSERT_TRUE(std::holds_alternative<ManagerConfig>(cfg));
  const auto& secrets = std::get<ManagerConfig>(cfg).worker_secrets;
  ASSERT_EQ(secrets.size(), 2u);
  EXPECT_EQ(secrets.at("BINANCE_API_KEY").secret, "binance");
  EXPECT_EQ(secrets.at("BINANCE_API_KEY").key, "api-key");
  EXPECT_EQ(secrets.at("BINANCE_API_KEY").value, "key-never-in-a-manifest");  // local jobs
  for (const char* bad : {"BINANCE_API_KEY=binance", "BINANCE_API_KEY=/k", "lower=s/k"}) {
    auto e = manager_config_from_env(
        config::map_env({{"KAFKA_BOOTSTRAP_SERVERS", "k:9092"}, {"WORKER_SECRETS", bad}}));
    ASSERT_TRUE(std::holds_alternative<config::ConfigError>(e)) << bad;
    EXPECT_NE(std::get<config::ConfigError>(e).message.find("VAR=secret/key"), std::string::npos);
  }
  // In a Job: a secretKeyRef, the value nowhere.
  testing::FakeKube fake;
  auto l = make_kubernetes_launcher(options(fake));
  auto s = spec("sf-abcdef-loader-producer-api-trades");
  s.secrets["BINANCE_API_KEY"] = secrets.at("BINANCE_API_KEY");
  ASSERT_TRUE(l->launch(s).ok());
  const std::string m = fake.manifest("sf-abcdef-loader-producer-api-trades");
  EXPECT_EQ(m.find("key-never-in-a-manifest"), std::string::npos);
  EXPECT_NE(m.find(R"("secretKeyRef":{"name":"binance","key":"api-key"})"), std::string::npos) << m;
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
