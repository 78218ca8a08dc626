// The Kubernetes launcher against FakeKube, which checks each Job manifest field by field.
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "job_env.h"
#include "kubeconfig.h"
#include "sf/net/testing/tls_certs.h"

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
  o.list_interval = std::chrono::milliseconds(0);  // every reap() lists, for these tests
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
  EXPECT_FALSE(pod.at("automountServiceAccountToken").as_bool());  // review #28
  EXPECT_EQ(pod.at("securityContext").at("seccompProfile").at("type").as_string(),
            "RuntimeDefault");
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

// Review #24: jobs may get an ArangoDB user of their own; its password only as a secretKeyRef.
TEST(Kubernetes, JobsGetTheirOwnArangoUserWhenOneIsConfigured) {
  const std::map<std::string, std::string> base = {{"KAFKA_BOOTSTRAP_SERVERS", "k:9092"},
                                                   {"ARANGO_URL", "http://arango:8529"},
                                                   {"ARANGO_USER", "streamforge"},
                                                   {"ARANGO_PASSWORD", "manager-pw"}};
  auto with = [&](std::map<std::string, std::string> extra) {
    auto env = base;
    for (auto& [k, v] : extra) env[k] = v;
    return manager_config_from_env(config::map_env(env));
  };
  auto none = with({});
  ASSERT_TRUE(std::holds_alternative<ManagerConfig>(none));
  EXPECT_TRUE(std::get<ManagerConfig>(none).worker_arango_user.empty());
  auto own = with({{"WORKER_ARANGO_USER", "streamforge-worker"},
                   {"WORKER_ARANGO_PASSWORD_SECRET", "arango-worker"},
                   {"WORKER_ARANGO_PASSWORD", "worker-pw"}});
  ASSERT_TRUE(std::holds_alternative<ManagerConfig>(own));
  const auto& c = std::get<ManagerConfig>(own);
  EXPECT_EQ(c.worker_arango_user, "streamforge-worker");
  EXPECT_EQ(c.worker_arango_password.secret, "arango-worker");
  EXPECT_EQ(c.worker_arango_password.value, "worker-pw");
  // The manager's own user, or no ArangoDB at all: a config error that says what to do.
  for (const auto& [extra, says] :
       std::vector<std::pair<std::map<std::string, std::string>, std::string>>{
           {{{"WORKER_ARANGO_USER", "streamforge"}}, "is the manager's own ARANGO_USER"},
       }) {
    auto e = with(extra);
    ASSERT_TRUE(std::holds_alternative<config::ConfigError>(e));
    EXPECT_NE(std::get<config::ConfigError>(e).message.find(says), std::string::npos)
        << std::get<config::ConfigError>(e).message;
  }
  auto sqlite = manager_config_from_env(config::map_env(
      {{"KAFKA_BOOTSTRAP_SERVERS", "k:9092"}, {"WORKER_ARANGO_USER", "streamforge-worker"}}));
  ASSERT_TRUE(std::holds_alternative<config::ConfigError>(sqlite));
  EXPECT_NE(std::get<config::ConfigError>(sqlite).message.find("the store is SQLite"),
            std::string::npos);
  // In a Job: the worker's secret by reference, neither password anywhere in the manifest.
  QueueState q;
  q.id = "wf-historical-20240601-abcdef";
  q.symbol = "BTCUSDT";
  JobState j;
  j.plan.target = "arango-connector";
  j.plan.type = "api_candles_1m";
  j.plan.job_name = "sf-abcdef-arango-connector";
  j.plan.producer_id = "arango-connector__abcdef";
  j.plan.collection = "btc_candles";
  testing::FakeKube fake;
  auto l = make_kubernetes_launcher(options(fake));
  ASSERT_TRUE(l->launch(launch_spec(c, q, j)).ok());
  const std::string m = fake.manifest("sf-abcdef-arango-connector");
  EXPECT_EQ(m.find("worker-pw"), std::string::npos);
  EXPECT_EQ(m.find("manager-pw"), std::string::npos);
  EXPECT_NE(m.find(R"("secretKeyRef":{"name":"arango-worker","key":"password"})"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find(R"("name":"ARANGO_USER","value":"streamforge-worker")"), std::string::npos) << m;
}

TEST(Kubernetes, EndsAreReapedOnceAndKillsDelete) {
  testing::FakeKube fake;
  auto l = make_kubernetes_launcher(options(fake));
  ASSERT_TRUE(l->launch(spec("job-a")).ok());
  ASSERT_TRUE(l->launch(spec("job-b")).ok());
  EXPECT_TRUE(l->reap().empty());
  EXPECT_EQ(l->alive("job-a", 0, 0), std::optional<bool>(true));
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
  EXPECT_EQ(l->alive("job-c", 0, 0), std::optional<bool>(false));
}

// Review #16: the supervisor lists only the Jobs it tracks (a stranger's finished Job is not in
// the answer), at most every list_interval; a rotated service-account token is read again.
TEST(Kubernetes, ListsOnlyTrackedJobsNotTooOftenAndFollowsARotatedToken) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("sf-kube-token-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string token_file = (dir / "token").string();
  std::ofstream(token_file) << "first-token\n";
  testing::FakeKube fake("first-token");
  auto o = options(fake);
  o.token = "first-token";
  o.token_file = token_file;
  o.list_interval = std::chrono::milliseconds(300);
  auto l = make_kubernetes_launcher(o);
  ASSERT_TRUE(l->launch(spec("job-a")).ok());
  ASSERT_TRUE(l->launch(spec("job-b")).ok());
  // Another manager's (or an old) Job in the same namespace, finished.
  auto stranger = spec("job-z");
  stranger.queue_id = "wf-historical-20240101-zzzzzz";
  auto other_options = options(fake);
  other_options.token = "first-token";
  auto other = make_kubernetes_launcher(other_options);
  ASSERT_TRUE(other->launch(stranger).ok());
  ASSERT_TRUE(fake.finish("job-z", false));
  ASSERT_TRUE(fake.finish("job-a", false));
  const int before = fake.lists();
  std::vector<JobEnd> ends;
  const auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1000)) {
    for (auto& e : l->reap()) ends.push_back(e);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].job_name, "job-a");
  EXPECT_EQ(fake.last_list_items(), 1u) << "job-b only: neither job-z nor the reaped job-a";
  const int lists = fake.lists() - before;
  EXPECT_GE(lists, 2);
  EXPECT_LE(lists, 5) << "about 100 reaps in a second, a list every 300 ms";
  // The token rotates (the kubelet rewrites the projected file): a 401, then the new one.
  fake.set_token("second-token");
  std::ofstream(token_file) << "second-token\n";
  EXPECT_TRUE(l->kill("job-b").ok());
  EXPECT_EQ(fake.deleted(), std::vector<std::string>{"job-b"});
  std::filesystem::remove_all(dir);
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

// ---------------------------------------------------------------- kubeconfig (yaml-cpp)

std::string base64_of_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string raw = ss.str();
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(raw.data()),
                                static_cast<int>(raw.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p) << text;
  return p.string();
}

struct KubeconfigDir {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("sf-kubeconfig-" + std::to_string(::getpid()));
  KubeconfigDir() { std::filesystem::create_directories(dir); }
  ~KubeconfigDir() { std::filesystem::remove_all(dir); }
};

// A kubeconfig as kubectl writes it: two contexts, the current one with its CA inline, its
// user's token in a file next to it (a relative path) and a namespace; the launcher made from it
// creates a Job in that namespace over HTTPS.
TEST(Kubeconfig, TheCurrentContextsServerCaTokenFileAndNamespaceAreUsed) {
  KubeconfigDir d;
  const auto certs = net_testing::make_test_certificates(d.dir / "tls");
  testing::FakeKube fake("file-token", "sf-prod", certs.cert_file, certs.key_file);
  ASSERT_EQ(fake.url().rfind("https://", 0), 0u);
  write_file(d.dir / "token", "file-token\n");
  const std::string config =
      "apiVersion: v1\n"
      "kind: Config\n"
      "current-context: prod\n"
      "clusters:\n"
      "- name: staging\n"
      "  cluster:\n"
      "    server: https://staging.invalid:6443\n"
      "- name: prod-cluster\n"
      "  cluster:\n"
      "    server: \"" +
      fake.url() +
      "\"\n"
      "    certificate-authority-data: " +
      base64_of_file(certs.ca_file) +
      "\n"
      "contexts:\n"
      "- name: staging\n"
      "  context: {cluster: staging, user: someone}\n"
      "- name: prod\n"
      "  context:\n"
      "    cluster: prod-cluster\n"
      "    user: deployer\n"
      "    namespace: sf-prod\n"
      "users:\n"
      "- name: someone\n"
      "  user: {token: staging-token}\n"
      "- name: deployer\n"
      "  user:\n"
      "    tokenFile: token\n";
  const auto path = write_file(d.dir / "config", config);
  auto k = read_kubeconfig(path, "", (d.dir / "scratch").string());
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_EQ(k->context, "prod");
  EXPECT_EQ(k->server, fake.url());
  EXPECT_EQ(k->token, "file-token");
  EXPECT_EQ(k->ns, "sf-prod");
  {
    struct stat st {};
    ASSERT_EQ(::stat(k->ca_file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << "decoded data is private to the manager";
    std::ifstream a(k->ca_file), b(certs.ca_file);
    std::stringstream sa, sb;
    sa << a.rdbuf();
    sb << b.rdbuf();
    EXPECT_EQ(sa.str(), sb.str());
  }
  auto l = make_kubernetes_launcher_from_env(
      config::map_env({{"KUBECONFIG", path}, {"WORKER_IMAGE", "registry.local/sf:1"}}));
  ASSERT_TRUE(l.ok()) << l.error().message;
  auto r = (*l)->launch(spec("sf-abcdef-loader-producer-api-candles-5m"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->where, "sf-prod/sf-abcdef-loader-producer-api-candles-5m");
  EXPECT_TRUE(fake.refusals().empty());

  // K8S_CONTEXT picks another context: its user's inline token.
  auto staging = read_kubeconfig(path, "staging", (d.dir / "scratch").string());
  ASSERT_TRUE(staging.ok()) << staging.error().message;
  EXPECT_EQ(staging->server, "https://staging.invalid:6443");
  EXPECT_EQ(staging->token, "staging-token");
}

TEST(Kubeconfig, ClientCertificatesFromDataOrFiles) {
  KubeconfigDir d;
  const auto certs = net_testing::make_test_certificates(d.dir / "tls");
  const std::string config =
      "current-context: c\n"
      "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:6443', certificate-authority: "
      "tls/ca.pem}}]\n"
      "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
      "users: [{name: u, user: {client-certificate-data: " +
      base64_of_file(certs.cert_file) + ", client-key: tls/server.key}}]\n";
  const auto path = write_file(d.dir / "config", config);
  auto k = read_kubeconfig(path, "", (d.dir / "scratch").string());
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_EQ(k->ca_file, (d.dir / "tls/ca.pem").string()) << "relative to the kubeconfig";
  EXPECT_EQ(k->client_key_file, (d.dir / "tls/server.key").string());
  EXPECT_TRUE(k->token.empty());
  std::ifstream a(k->client_cert_file), b(certs.cert_file);
  std::stringstream sa, sb;
  sa << a.rdbuf();
  sb << b.rdbuf();
  EXPECT_EQ(sa.str(), sb.str());
  // A launcher with only a client certificate is accepted (its TLS context loads the pair).
  auto l = make_kubernetes_launcher_from_env(config::map_env({{"KUBECONFIG", path}}));
  EXPECT_TRUE(l.ok()) << l.error().message;

  // Review #28: REQUIRE_IMAGE_DIGESTS=1 refuses an image named by tag, naming it.
  const std::string pinned = "registry.local/sf@sha256:" + std::string(64, 'a');
  auto tagged = make_kubernetes_launcher_from_env(
      config::map_env({{"KUBECONFIG", path},
                       {"REQUIRE_IMAGE_DIGESTS", "1"},
                       {"WORKER_IMAGE", pinned},
                       {"WORKER_IMAGES", "gnn-trainer=registry.local/trainer:1.0"}}));
  ASSERT_FALSE(tagged.ok());
  EXPECT_NE(tagged.error().message.find("gnn-trainer=registry.local/trainer:1.0"),
            std::string::npos)
      << tagged.error().message;
  EXPECT_EQ(tagged.error().message.find("WORKER_IMAGE="), std::string::npos)
      << "the pinned one is not named";
  auto all_pinned = make_kubernetes_launcher_from_env(
      config::map_env({{"KUBECONFIG", path},
                       {"REQUIRE_IMAGE_DIGESTS", "1"},
                       {"WORKER_IMAGE", pinned},
                       {"WORKER_IMAGES", "gnn-trainer=" + pinned}}));
  EXPECT_TRUE(all_pinned.ok()) << all_pinned.error().message;
  EXPECT_FALSE(make_kubernetes_launcher_from_env(
                   config::map_env({{"KUBECONFIG", path}, {"REQUIRE_IMAGE_DIGESTS", "yes"}}))
                   .ok());
}

TEST(Kubeconfig, WhatCannotBeUsedIsRefusedSayingWhatToDo) {
  KubeconfigDir d;
  auto err = [&](const std::string& name, const std::string& text,
                 const std::string& context = "") {
    auto r = read_kubeconfig(write_file(d.dir / name, text), context, d.dir.string());
    EXPECT_FALSE(r.ok()) << name;
    return r.ok() ? std::string() : r.error().message;
  };
  const std::string cluster = "clusters: [{name: k, cluster: {server: 'https://10.0.0.1:6443'}}]\n";
  EXPECT_NE(err("exec", "current-context: c\n" + cluster +
                            "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                            "users: [{name: u, user: {exec: {command: aws}}}]\n")
                .find("exec plugin"),
            std::string::npos);
  EXPECT_NE(err("nocontext", "current-context: gone\n" + cluster +
                                 "contexts: [{name: c, context: {cluster: k, user: u}}]\n")
                .find("no context 'gone'; contexts: c"),
            std::string::npos);
  EXPECT_NE(err("nocurrent", cluster).find("has no current-context"), std::string::npos);
  EXPECT_NE(err("notyaml", "clusters: [unclosed\n").find("not valid YAML"), std::string::npos);
  EXPECT_NE(err("nokey", "current-context: c\n" + cluster +
                             "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                             "users: [{name: u, user: {client-certificate-data: QUJD}}]\n")
                .find("without its key"),
            std::string::npos);
  EXPECT_NE(err("insecure",
                "current-context: c\n"
                "clusters: [{name: k, cluster: {server: 'https://x', insecure-skip-tls-verify: "
                "true}}]\n"
                "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                "users: [{name: u, user: {token: t}}]\n")
                .find("insecure-skip-tls-verify"),
            std::string::npos);
  EXPECT_NE(err("nocreds", "current-context: c\n" + cluster +
                               "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                               "users: [{name: u, user: {}}]\n")
                .find("gives no credentials"),
            std::string::npos);
  EXPECT_NE(err("empty", "").find("is not a kubeconfig"), std::string::npos);
  auto absent = read_kubeconfig((d.dir / "absent").string(), "", d.dir.string());
  ASSERT_FALSE(absent.ok());
  EXPECT_NE(absent.error().message.find("cannot be read"), std::string::npos);
}

}  // namespace
}  // namespace sf::manager
