// The ArangoDB backend over its HTTP API (https://docs.arangodb.com/stable/develop/http-api/):
//
//   GET  /_db/<db>/_api/version                       ping
//   GET  /_db/<db>/_api/collection/<c>                exists? (404, errorNum 1203: no)
//   POST /_db/<db>/_api/collection {"name":c}         create (409, errorNum 1207: someone did)
//   POST /_db/<db>/_api/document/<c>?overwriteMode=replace&waitForSync=true   [docs...]
//        -> 201/202 with one entry per document: {_key,_rev,...} or {error,errorNum,errorMessage}
//   GET  /_db/<db>/_api/document/<c>/<key>            one document (404, errorNum 1202: none)
//   GET  /_db/<db>/_api/collection/<c>/count          {"count":N}
//   POST /_db/<db>/_api/cursor {query,bindVars,batchSize}, PUT /_db/<db>/_api/cursor/<id>  AQL
//
// 503 (and network errors, timeouts) are retried with capped backoff up to max_attempts; 401/403
// are configuration errors; per-document errors are returned, never swallowed.
#include <boost/json.hpp>
#include <mutex>
#include <set>
#include <thread>

#include "sf/core/backoff.h"
#include "sf/net/http_server.h"
#include "sf/net/transport.h"
#include "sf/store/store.h"

namespace sf::store {
namespace {

namespace json = boost::json;

// The error of an ArangoDB answer: "HTTP 404, errorNum 1203: collection or view not found".
std::string arango_error(const net::HttpResponse& r) {
  std::string out = "HTTP " + std::to_string(r.status);
  json::error_code ec;
  auto v = json::parse(r.body, ec);
  if (!ec && v.is_object()) {
    const auto& o = v.as_object();
    if (auto* n = o.if_contains("errorNum"); n && n->is_int64()) {
      out += ", errorNum " + std::to_string(n->as_int64());
    }
    if (auto* m = o.if_contains("errorMessage"); m && m->is_string()) {
      out += ": " + std::string(m->as_string());
    }
  } else if (!r.body.empty()) {
    out += ": " + r.body.substr(0, 200);
  }
  return out;
}

int error_num(const net::HttpResponse& r) {
  json::error_code ec;
  auto v = json::parse(r.body, ec);
  if (ec || !v.is_object()) return 0;
  auto* n = v.as_object().if_contains("errorNum");
  return n && n->is_int64() ? static_cast<int>(n->as_int64()) : 0;
}

class ArangoStore final : public Store {
 public:
  ArangoStore(std::unique_ptr<net::HttpClient> http, ArangoOptions options)
      : http_(std::move(http)), options_(std::move(options)) {
    prefix_ = "/_db/" + net::url_encode(options_.database);
    auth_ = net::basic_auth(options_.user, options_.password);
  }

  std::string describe() const override {
    return "arangodb:" + options_.url + "/_db/" + options_.database;
  }

  Status ping() override {
    auto r = call("GET", "/_api/version", "");
    if (!r) return r.error();
    if (r->status != 200) return make_error("ArangoDB ping failed: " + arango_error(*r));
    return ok_status();
  }

  Status ensure_collection(const std::string& collection) override {
    {
      std::lock_guard lock(known_mu_);
      if (known_.count(collection)) return ok_status();
    }
    if (!valid_collection_name(collection)) {
      return make_error("invalid collection name '" + collection + "'");
    }
    auto r = call("GET", "/_api/collection/" + collection, "");
    if (!r) return r.error();
    if (r->status == 404) {
      json::object body{{"name", collection}};
      auto c = call("POST", "/_api/collection", json::serialize(body));
      if (!c) return c.error();
      // 409 (errorNum 1207, duplicate name): another writer created it first. Fine.
      if (c->status != 200 && c->status != 201 && c->status != 409) {
        return make_error("ArangoDB could not create collection " + collection + ": " +
                          arango_error(*c));
      }
    } else if (r->status != 200) {
      return make_error("ArangoDB collection " + collection + ": " + arango_error(*r));
    }
    std::lock_guard lock(known_mu_);
    known_.insert(collection);
    return ok_status();
  }

  Result<WriteResult> upsert(const std::string& collection,
                             const std::vector<Document>& docs) override {
    WriteResult out;
    if (docs.empty()) return out;
    if (auto st = ensure_collection(collection); !st) return st.error();
    std::string body;
    size_t bytes = 2;
    for (const auto& d : docs) bytes += d.json.size() + 1;
    body.reserve(bytes);
    body.push_back('[');
    for (size_t i = 0; i < docs.size(); ++i) {
      if (i) body.push_back(',');
      body += docs[i].json;
    }
    body.push_back(']');
    auto r = call("POST",
                  "/_api/document/" + collection + "?overwriteMode=replace&silent=false" +
                      (options_.wait_for_sync ? "&waitForSync=true" : ""),
                  body);
    if (!r) return r.error();
    if (r->status == 404) {
      // The collection went away since we looked: forget it, the caller retries.
      std::lock_guard lock(known_mu_);
      known_.erase(collection);
      return make_error(
          "ArangoDB: collection " + collection + " not found (" + arango_error(*r) + ")", true);
    }
    if (r->status != 201 && r->status != 202) {
      return make_error("ArangoDB refused the batch for " + collection + ": " + arango_error(*r),
                        r->status >= 500);
    }
    json::error_code ec;
    auto v = json::parse(r->body, ec);
    if (ec || !v.is_array() || v.as_array().size() != docs.size()) {
      return make_error("ArangoDB answered the batch for " + collection +
                            " with something that is not one result per document",
                        true);
    }
    const auto& arr = v.as_array();
    for (size_t i = 0; i < arr.size(); ++i) {
      const auto* o = arr[i].if_object();
      const json::value* err = o ? o->if_contains("error") : nullptr;
      if (err && err->is_bool() && err->as_bool()) {
        DocumentError e;
        e.index = i;
        if (auto* n = o->if_contains("errorNum"); n && n->is_int64()) {
          e.code = static_cast<int>(n->as_int64());
        }
        if (auto* m = o->if_contains("errorMessage"); m && m->is_string()) {
          e.message = std::string(m->as_string());
        }
        out.errors.push_back(std::move(e));
      } else {
        ++out.written;
      }
    }
    return out;
  }

  Result<std::optional<std::string>> get(const std::string& collection,
                                         const std::string& key) override {
    auto r = call("GET", "/_api/document/" + collection + "/" + net::url_encode(key), "");
    if (!r) return r.error();
    if (r->status == 404) return std::optional<std::string>();
    if (r->status != 200) {
      return make_error("ArangoDB read of " + collection + "/" + key + ": " + arango_error(*r));
    }
    return std::optional<std::string>(std::move(r->body));
  }

  Result<std::vector<std::string>> range_by_time(const std::string& collection, int64_t from_ms,
                                                 int64_t to_ms, int64_t limit) override {
    json::object bind{{"@c", collection}, {"from", from_ms}, {"to", to_ms}, {"limit", limit}};
    return cursor_all(
        "FOR d IN @@c LET t = NOT_NULL(d.open_time, d.timestamp, d.created_at) "
        "FILTER t >= @from AND t <= @to SORT t, d._key LIMIT @limit RETURN d",
        bind);
  }

  Result<int64_t> count(const std::string& collection) override {
    auto r = call("GET", "/_api/collection/" + collection + "/count", "");
    if (!r) return r.error();
    if (r->status == 404) return int64_t{0};
    if (r->status != 200)
      return make_error("ArangoDB count of " + collection + ": " + arango_error(*r));
    json::error_code ec;
    auto v = json::parse(r->body, ec);
    const json::value* n = (!ec && v.is_object()) ? v.as_object().if_contains("count") : nullptr;
    if (n == nullptr || !n->is_number()) return make_error("ArangoDB count: no count in answer");
    return n->to_number<int64_t>();
  }

  Result<Page> find(const std::string& collection, const Query& query) override {
    json::object bind{{"@c", collection}, {"offset", query.offset}, {"limit", query.limit}};
    std::string filter;
    int i = 0;
    for (const auto& [field, value] : query.equals) {
      if (!valid_collection_name(field)) return make_error("bad field name '" + field + "'");
      const std::string f = "f" + std::to_string(i), v = "v" + std::to_string(i);
      filter += " FILTER d[@" + f + "] == @" + v;
      bind[f] = field;
      bind[v] = value;
      ++i;
    }
    Page page;
    json::object qbind = bind;
    std::string after;
    if (query.after) {
      after = " FILTER t < @at OR (t == @at AND d._key < @ak)";
      qbind["at"] = query.after->t;
      qbind["ak"] = query.after->key;
    }
    auto docs = cursor_all("FOR d IN @@c" + filter +
                               " LET t = NOT_NULL(d.open_time, d.timestamp, d.created_at)" + after +
                               " SORT t DESC, d._key DESC LIMIT @offset, @limit RETURN d",
                           qbind);
    if (!docs) return docs.error();
    page.documents = std::move(docs).value();
    if (!page.documents.empty()) {  // the last one's place, by the same rule as the query's t
      json::error_code ec;
      auto v = json::parse(page.documents.back(), ec);
      if (!ec && v.is_object()) {
        const auto& o = v.as_object();
        Cursor c;
        for (const char* f : {"open_time", "timestamp", "created_at"}) {
          if (auto* x = o.if_contains(f); x && x->is_number()) {
            c.t = x->to_number<int64_t>();
            break;
          }
        }
        if (auto* k = o.if_contains("_key"); k && k->is_string()) c.key = k->as_string();
        page.last = c;
      }
    }
    if (!query.count) return page;
    json::object cbind = bind;
    cbind.erase("offset");
    cbind.erase("limit");
    auto total = cursor_all("RETURN LENGTH(FOR d IN @@c" + filter + " RETURN 1)", cbind);
    if (!total) return total.error();
    if (!total->empty()) page.total = std::strtoll(total->front().c_str(), nullptr, 10);
    return page;
  }

 private:
  // One request with retries on 503 and network failures.
  Result<net::HttpResponse> call(const std::string& method, const std::string& path,
                                 const std::string& body) {
    net::HttpRequest req;
    req.method = method;
    req.target = prefix_ + path;
    req.body = body;
    req.headers["Authorization"] = auth_;
    req.idempotent = true;  // every write we make is an upsert by key
    std::string last;
    for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
      Result<net::HttpResponse> r = make_error("");
      {
        std::lock_guard lock(http_mu_);
        r = http_->request(req);
      }
      if (r && r->status == 401) {
        return make_error(
            "ArangoDB refused the credentials (HTTP 401). Hint: check ARANGO_USER "
            "and ARANGO_PASSWORD");
      }
      if (r && r->status == 403) {
        return make_error("ArangoDB: user '" + options_.user + "' may not " + method + " " + path +
                          " (HTTP 403). Hint: grant it rw on database " + options_.database);
      }
      if (r && r->status != 503) return r;
      if (!r && !r.error().retryable) {  // an untrusted certificate: asking again cannot help
        return make_error("ArangoDB " + method + " " + path + ": " + r.error().message);
      }
      last = r ? arango_error(*r) : r.error().message;
      if (attempt < options_.max_attempts) {
        std::this_thread::sleep_for(
            backoff_delay(options_.backoff, std::chrono::milliseconds(5000), attempt - 1));
      }
    }
    return make_error("ArangoDB " + method + " " + path + " failed after " +
                          std::to_string(options_.max_attempts) + " attempts: " + last,
                      true);
  }

  Result<std::vector<std::string>> cursor_all(const std::string& aql, const json::object& bind) {
    json::object q{{"query", aql}, {"bindVars", bind}, {"batchSize", 1000}};
    auto r = call("POST", "/_api/cursor", json::serialize(q));
    std::vector<std::string> out;
    for (;;) {
      if (!r) return r.error();
      if (r->status == 404 && error_num(*r) == 1203) return out;  // no such collection: empty
      if (r->status != 200 && r->status != 201) {
        return make_error("ArangoDB query failed: " + arango_error(*r));
      }
      json::error_code ec;
      auto v = json::parse(r->body, ec);
      if (ec || !v.is_object()) return make_error("ArangoDB query: the answer is not JSON");
      const auto& o = v.as_object();
      if (auto* res = o.if_contains("result"); res && res->is_array()) {
        for (const auto& d : res->as_array()) out.push_back(json::serialize(d));
      }
      const auto* more = o.if_contains("hasMore");
      if (!more || !more->is_bool() || !more->as_bool()) return out;
      const auto* id = o.if_contains("id");
      if (!id || !id->is_string()) return make_error("ArangoDB query: hasMore without a cursor id");
      r = call("PUT", "/_api/cursor/" + std::string(id->as_string()), "");
    }
  }

  std::mutex http_mu_;
  std::unique_ptr<net::HttpClient> http_;
  ArangoOptions options_;
  std::string prefix_, auth_;
  std::mutex known_mu_;
  std::set<std::string> known_;
};

}  // namespace

Result<std::unique_ptr<Store>> open_arango(const ArangoOptions& options) {
  net::HttpOptions ho;
  ho.timeout = options.timeout;
  ho.ca_file = options.ca_file;
  auto http = net::HttpClient::create(options.url, ho);
  if (!http) {
    return make_error("config error: ARANGO_URL='" + options.url +
                      "' is invalid: " + http.error().message);
  }
  return std::unique_ptr<Store>(new ArangoStore(std::move(http).value(), options));
}

}  // namespace sf::store
