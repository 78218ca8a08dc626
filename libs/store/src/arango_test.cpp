// The ArangoDB client's failure paths against FakeArango, and the fake's own fidelity where the
// client relies on it (status codes, error bodies, overwrite modes, cursors).
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "sf/net/testing/tls_certs.h"
#include "sf/net/transport.h"
#include "sf/store/store.h"
#include "sf/store/testing/fake_arango.h"

namespace sf::store {
namespace {

ArangoOptions options_for(const testing::FakeArango& fake, const std::string& password = "pw") {
  ArangoOptions o;
  o.url = fake.url();
  o.database = "market";
  o.user = "sf";
  o.password = password;
  o.backoff = std::chrono::milliseconds(5);
  o.max_attempts = 4;
  return o;
}

Document doc(const std::string& key, int64_t t) {
  return make_document(R"({"_key":")" + key + R"(","timestamp":)" + std::to_string(t) + "}", "x")
      .value();
}

TEST(Arango, WrongPasswordIsA401ThatNamesTheVariables) {
  testing::FakeArango fake("market", "sf", "pw");
  auto s = open_arango(options_for(fake, "wrong")).value();
  auto st = s->ping();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("401"), std::string::npos);
  EXPECT_NE(st.error().message.find("ARANGO_PASSWORD"), std::string::npos);
  EXPECT_FALSE(s->upsert("c", {doc("a", 1)}).ok());
}

TEST(Arango, UnknownDatabaseIsReported) {
  testing::FakeArango fake("other", "sf", "pw");
  auto s = open_arango(options_for(fake)).value();
  auto st = s->ping();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("1228"), std::string::npos) << st.error().message;
}

TEST(Arango, ServiceUnavailableIsRetriedThenSucceeds) {
  testing::FakeArango fake("market", "sf", "pw");
  auto s = open_arango(options_for(fake)).value();
  fake.fail_next(3, 503);
  auto w = s->upsert("trades", {doc("a", 1), doc("b", 2)});
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->written, 2);
  EXPECT_EQ(fake.documents("trades").size(), 2u);
}

TEST(Arango, ServiceUnavailablePastTheBudgetIsARetryableError) {
  testing::FakeArango fake("market", "sf", "pw");
  auto s = open_arango(options_for(fake)).value();
  ASSERT_TRUE(s->ensure_collection("trades").ok());
  fake.fail_next(100, 503);
  auto w = s->upsert("trades", {doc("a", 1)});
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(w.error().retryable);
  EXPECT_NE(w.error().message.find("4 attempts"), std::string::npos) << w.error().message;
  EXPECT_TRUE(fake.documents("trades").empty());
}

TEST(Arango, UnreachableServerIsARetryableError) {
  ArangoOptions o;
  o.url = "http://127.0.0.1:1";
  o.max_attempts = 2;
  o.backoff = std::chrono::milliseconds(1);
  auto s = open_arango(o).value();
  auto st = s->ping();
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().retryable);
}

TEST(Arango, PerDocumentErrorsAreSurfacedNotSwallowed) {
  testing::FakeArango fake("market", "sf", "pw");
  auto s = open_arango(options_for(fake)).value();
  fake.reject_key("b", 1200, "write-write conflict");
  auto w = s->upsert("trades", {doc("a", 1), doc("b", 2), doc("c", 3)}).value();
  EXPECT_EQ(w.written, 2);
  ASSERT_EQ(w.errors.size(), 1u);
  EXPECT_EQ(w.errors[0].index, 1u);
  EXPECT_EQ(w.errors[0].code, 1200);
  EXPECT_EQ(w.errors[0].message, "write-write conflict");
}

TEST(Arango, CollectionCreatedOnceEvenIfSomeoneElseWasFirst) {
  testing::FakeArango fake("market", "sf", "pw");
  auto a = open_arango(options_for(fake)).value();
  auto b = open_arango(options_for(fake)).value();
  ASSERT_TRUE(a->ensure_collection("shared_c").ok());
  // b has not seen it yet: GET finds it (200), no create; and writes go through.
  ASSERT_TRUE(b->ensure_collection("shared_c").ok());
  ASSERT_TRUE(b->upsert("shared_c", {doc("k", 1)}).ok());
  EXPECT_TRUE(fake.has_collection("shared_c"));
}

TEST(Arango, ACollectionDroppedUnderneathIsA404ThenRecreated) {
  testing::FakeArango fake("market", "sf", "pw");
  auto s = open_arango(options_for(fake)).value();
  ASSERT_TRUE(s->upsert("trades", {doc("a", 1)}).ok());
  fake.drop_collection("trades");
  // The client still believes it exists: the batch gets 404 (errorNum 1203), a retryable error.
  auto w = s->upsert("trades", {doc("b", 2)});
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(w.error().retryable);
  EXPECT_NE(w.error().message.find("1203"), std::string::npos) << w.error().message;
  // Trying again creates it anew and writes.
  auto again = s->upsert("trades", {doc("b", 2)});
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(fake.documents("trades").size(), 1u);
}

TEST(Arango, CursorsPageThroughLargeResults) {
  testing::FakeArango fake("market", "sf", "pw");
  auto s = open_arango(options_for(fake)).value();
  std::vector<Document> docs;
  for (int i = 0; i < 2500; ++i) docs.push_back(doc("k" + std::to_string(10000 + i), 1000 + i));
  ASSERT_EQ(s->upsert("big", docs).value().written, 2500);
  auto all = s->range_by_time("big", 0, 1'000'000, 10'000).value();
  ASSERT_EQ(all.size(), 2500u);  // three batches of at most 1000
  EXPECT_NE(all.front().find("k10000"), std::string::npos);
  EXPECT_NE(all.back().find("k12499"), std::string::npos);
  EXPECT_EQ(s->count("big").value(), 2500);
}

// The fake answers like ArangoDB to requests the client never makes, so tests of other clients
// (and the next change of ours) meet the real behaviour.
// The client over HTTPS (a certificate the test makes): with CA_PATH's CA, documents round-trip;
// without it, the first request fails at once (not retried) naming the certificate problem.
TEST(Arango, OverHttpsWithItsCaAndRefusedWithout) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("sf-arango-tls-" + std::to_string(::getpid()));
  const auto certs = net_testing::make_test_certificates(dir);
  testing::FakeArango fake("market", "sf", "pw", certs.cert_file, certs.key_file);
  ASSERT_EQ(fake.url().rfind("https://", 0), 0u);
  auto o = options_for(fake);
  o.ca_file = certs.ca_file;
  auto s = open_arango(o).value();
  ASSERT_TRUE(s->ping().ok());
  auto w = s->upsert("candles", {doc("a", 1), doc("b", 2)});
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->written, 2);
  auto got = s->get("candles", "b");
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_TRUE(got->has_value());
  EXPECT_NE((*got)->find("\"timestamp\":2"), std::string::npos) << **got;

  auto untrusted = open_arango(options_for(fake)).value();  // system CAs only
  auto st = untrusted->ping();
  ASSERT_FALSE(st.ok());
  EXPECT_FALSE(st.error().retryable) << st.error().message;
  EXPECT_NE(st.error().message.find("is not trusted: unable to get local issuer certificate"),
            std::string::npos)
      << st.error().message;
  EXPECT_EQ(fake.documents("candles").size(), 2u) << "nothing else reached the fake";
  std::filesystem::remove_all(dir);
}

TEST(FakeArangoFidelity, InsertWithoutOverwriteConflictsAndUnknownQueriesFail) {
  testing::FakeArango fake("_system", "root", "pw");
  auto http = net::HttpClient::create(fake.url()).value();
  net::HttpRequest r;
  r.headers["Authorization"] = net::basic_auth("root", "pw");
  r.method = "POST";
  r.target = "/_api/collection";
  r.body = R"({"name":"c"})";
  EXPECT_EQ(http->request(r).value().status, 200);
  EXPECT_EQ(http->request(r).value().status, 409);  // duplicate name, errorNum 1207
  r.target = "/_api/document/c";
  r.body = R"({"_key":"a","v":1})";
  EXPECT_EQ(http->request(r).value().status, 202);
  auto dup = http->request(r).value();
  EXPECT_EQ(dup.status, 409);
  EXPECT_NE(dup.body.find("1210"), std::string::npos);
  r.target = "/_api/document/c?overwriteMode=replace&waitForSync=true";
  r.body = R"([{"_key":"a","v":2},{"_key":"bad key"}])";
  auto batch = http->request(r).value();
  EXPECT_EQ(batch.status, 201);
  EXPECT_EQ(batch.header("x-arango-error-codes"), R"({"1221":1})");
  r.target = "/_api/document/nope";
  EXPECT_EQ(http->request(r).value().status, 404);
  r.target = "/_api/cursor";
  r.body = R"({"query":"FOR x IN c REMOVE x IN c","bindVars":{}})";
  auto q = http->request(r).value();
  EXPECT_EQ(q.status, 400);
  EXPECT_NE(q.body.find("1501"), std::string::npos);
  net::HttpRequest g;
  g.target = "/_api/document/c/a";
  g.headers["Authorization"] = net::basic_auth("root", "pw");
  auto got = http->request(g).value();
  EXPECT_EQ(got.status, 200);
  EXPECT_NE(got.body.find("\"v\":2"), std::string::npos);
  EXPECT_NE(got.body.find("\"_rev\""), std::string::npos);
}

}  // namespace
}  // namespace sf::store
