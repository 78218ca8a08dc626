// FakeArango: a FAKE ArangoDB server for tests, on loopback HTTP. It follows ArangoDB's documented
// HTTP API for what StreamForge uses (https://docs.arangodb.com/stable/develop/http-api/):
//
//   /_db/<db>/_api/version, /_api/collection (GET one, POST create, GET <c>/count),
//   /_api/document/<c> (POST one or an array; overwriteMode conflict|replace|update|ignore;
//   waitForSync; 201 when synced, else 202; one result per document with _id/_key/_rev or
//   error/errorNum/errorMessage; X-Arango-Error-Codes), /_api/document/<c>/<key> (GET),
//   /_api/cursor (POST, batchSize, hasMore + id) and /_api/cursor/<id> (PUT or POST).
//
// Status codes and error bodies as ArangoDB's: {"error":true,"code":N,"errorNum":M,
// "errorMessage":"..."}; 401 errorNum 11 without valid basic auth; 404 1228 unknown database,
// 1203 unknown collection, 1202 unknown document, 1600 unknown cursor; 409 1207 duplicate
// collection name, 1210 unique constraint on insert without overwrite; 400 1221 illegal key.
//
// AQL is not interpreted: the cursor endpoint runs only the query shapes the store's client sends
// (range by time, filtered page, filtered count) and answers anything else with 400 errorNum 1501,
// so a client change that needs a new query shape fails loudly here.
//
// Faults: fail_next(n, status) answers the next n requests with `status` (503 by default);
// reject_key(key, errorNum, message) makes every write of that key a per-document error.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "sf/net/http_server.h"

namespace sf::store::testing {

class FakeArango {
 public:
  // `tls_cert_file` and `tls_key_file` set: it answers over HTTPS only.
  FakeArango(std::string database = "_system", std::string user = "root",
             std::string password = "secret", std::string tls_cert_file = "",
             std::string tls_key_file = "");
  ~FakeArango();

  std::string url() const;
  void fail_next(int n, int status = 503);
  void reject_key(const std::string& key, int error_num, const std::string& message);
  // Documents of a collection as stored (JSON texts with _id/_key/_rev), by key.
  std::map<std::string, std::string> documents(const std::string& collection) const;
  bool has_collection(const std::string& collection) const;
  // Drops a collection behind the clients' backs (as an operator with arangosh could).
  void drop_collection(const std::string& collection);
  int64_t requests() const;
  int64_t write_requests() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
  std::unique_ptr<net::HttpServer> server_;
};

}  // namespace sf::store::testing
