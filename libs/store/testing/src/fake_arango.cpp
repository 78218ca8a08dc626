#include "sf/store/testing/fake_arango.h"

#include <atomic>
#include <boost/json.hpp>
#include <deque>
#include <mutex>
#include <regex>

#include "sf/store/store.h"

namespace sf::store::testing {

namespace json = boost::json;

struct FakeArango::State {
  std::string database, user, password;
  mutable std::mutex mu;
  std::map<std::string, std::map<std::string, json::object>> collections;
  std::map<std::string, std::pair<int, std::string>> rejected;  // key -> errorNum, message
  std::map<std::string, std::deque<json::value>> cursors;
  int fail_remaining = 0;
  int fail_status = 503;
  int64_t next_rev = 1, next_key = 1, next_cursor = 1;
  std::atomic<int64_t> requests{0}, writes{0};

  static net::ServerResponse error(int http, int num, const std::string& message) {
    net::ServerResponse r;
    r.status = http;
    r.body = json::serialize(json::object{
        {"error", true}, {"code", http}, {"errorNum", num}, {"errorMessage", message}});
    return r;
  }
  static net::ServerResponse ok(int http, const json::value& v) {
    net::ServerResponse r;
    r.status = http;
    r.body = json::serialize(v);
    return r;
  }

  net::ServerResponse handle(const net::ServerRequest& req) {
    ++requests;
    std::lock_guard lock(mu);
    if (fail_remaining > 0) {
      --fail_remaining;
      return error(fail_status, fail_status == 503 ? 503 : 4,
                   fail_status == 503 ? "service unavailable" : "injected failure");
    }
    if (req.header("authorization") != net::basic_auth(user, password)) {
      return error(401, 11, "not authorized to execute this request");
    }
    std::string path = req.path;
    std::string db = "_system";
    if (path.rfind("/_db/", 0) == 0) {
      const size_t slash = path.find('/', 5);
      db = path.substr(5, slash == std::string::npos ? std::string::npos : slash - 5);
      path = slash == std::string::npos ? "/" : path.substr(slash);
    }
    if (db != database) return error(404, 1228, "database not found");
    std::vector<std::string> parts;
    for (size_t i = 1; i <= path.size();) {
      const size_t j = std::min(path.find('/', i), path.size());
      parts.push_back(path.substr(i, j - i));
      i = j + 1;
    }
    if (parts.size() < 2 || parts[0] != "_api") return error(404, 404, "unknown path " + path);
    const std::string& api = parts[1];
    if (api == "version" && req.method == "GET") {
      return ok(
          200,
          json::object{{"server", "arango"}, {"version", "3.11.0-fake"}, {"license", "community"}});
    }
    if (api == "collection") return collection(req, parts);
    if (api == "document") return document(req, parts);
    if (api == "cursor") return cursor(req, parts);
    return error(404, 404, "unknown path " + path);
  }

  net::ServerResponse collection(const net::ServerRequest& req,
                                 const std::vector<std::string>& parts) {
    if (parts.size() == 2 && req.method == "POST") {
      json::error_code ec;
      auto v = json::parse(req.body, ec);
      const json::value* name =
          (!ec && v.is_object()) ? v.as_object().if_contains("name") : nullptr;
      if (!name || !name->is_string()) return error(400, 1208, "illegal name");
      const std::string n(name->as_string());
      if (!valid_collection_name(n)) return error(400, 1208, "illegal name");
      if (collections.count(n)) return error(409, 1207, "duplicate name");
      collections[n];
      return ok(200, json::object{
                         {"name", n}, {"type", 2}, {"status", 3}, {"error", false}, {"code", 200}});
    }
    if (parts.size() >= 3 && req.method == "GET") {
      auto it = collections.find(parts[2]);
      if (it == collections.end()) return error(404, 1203, "collection or view not found");
      json::object o{
          {"name", parts[2]}, {"type", 2}, {"status", 3}, {"error", false}, {"code", 200}};
      if (parts.size() == 4 && parts[3] == "count") {
        o["count"] = static_cast<int64_t>(it->second.size());
      } else if (parts.size() != 3) {
        return error(404, 404, "unknown path");
      }
      return ok(200, o);
    }
    return error(405, 405, "method not supported");
  }

  // One write of one document; the result entry (or error entry) and its HTTP code if alone.
  std::pair<json::object, int> write_one(std::map<std::string, json::object>& c,
                                         const std::string& coll, const json::value& in,
                                         const std::string& mode) {
    auto err = [](int http, int num, std::string msg) {
      return std::make_pair(
          json::object{{"error", true}, {"errorNum", num}, {"errorMessage", std::move(msg)}}, http);
    };
    if (!in.is_object()) return err(400, 1227, "invalid document type");
    json::object doc = in.as_object();
    std::string key;
    if (auto* k = doc.if_contains("_key")) {
      if (!k->is_string() || !valid_key(std::string(k->as_string()))) {
        return err(400, 1221, "illegal document key");
      }
      key = std::string(k->as_string());
    } else {
      key = std::to_string(next_key++);
    }
    if (auto r = rejected.find(key); r != rejected.end()) {
      return err(r->second.first == 1200 ? 409 : 400, r->second.first, r->second.second);
    }
    auto existing = c.find(key);
    json::object meta{{"_id", coll + "/" + key}, {"_key", key}};
    if (existing != c.end()) {
      if (mode == "conflict") {
        return err(409, 1210,
                   "unique constraint violated - in index primary of type primary over '_key'; "
                   "conflicting key: " +
                       key);
      }
      meta["_oldRev"] = existing->second["_rev"];
      if (mode == "ignore") {
        meta["_rev"] = existing->second["_rev"];
        return {meta, 0};
      }
      if (mode == "update") {
        for (auto& [k, v] : doc) existing->second[k] = v;
        doc = existing->second;
      }
    }
    const std::string rev = "_fake" + std::to_string(next_rev++);
    doc["_key"] = key;
    doc["_id"] = coll + "/" + key;
    doc["_rev"] = rev;
    c[key] = std::move(doc);
    meta["_rev"] = rev;
    return {meta, 0};
  }

  net::ServerResponse document(const net::ServerRequest& req,
                               const std::vector<std::string>& parts) {
    if (parts.size() < 3) return error(400, 1203, "collection must be given");
    auto it = collections.find(parts[2]);
    if (it == collections.end()) return error(404, 1203, "collection or view not found");
    auto& c = it->second;
    if (req.method == "GET" && parts.size() == 4) {
      auto d = c.find(parts[3]);
      if (d == c.end()) return error(404, 1202, "document not found");
      return ok(200, d->second);
    }
    if (req.method != "POST" || parts.size() != 3) return error(405, 405, "method not supported");
    ++writes;
    std::string mode = "conflict";
    if (auto m = req.query.find("overwriteMode"); m != req.query.end()) {
      mode = m->second;
      if (mode != "conflict" && mode != "replace" && mode != "update" && mode != "ignore") {
        return error(400, 10, "invalid overwriteMode");
      }
    } else if (auto o = req.query.find("overwrite"); o != req.query.end() && o->second == "true") {
      mode = "replace";
    }
    const bool sync = req.query.count("waitForSync") && req.query.at("waitForSync") == "true";
    json::error_code ec;
    auto body = json::parse(req.body, ec);
    if (ec) return error(400, 600, "VPackError error: Expecting JSON");
    if (!body.is_array()) {
      auto [res, http] = write_one(c, parts[2], body, mode);
      if (http) {
        res["code"] = http;
        return ok(http, res);
      }
      return ok(sync ? 201 : 202, res);
    }
    json::array out;
    std::map<int, int> codes;
    for (const auto& d : body.as_array()) {
      auto [res, http] = write_one(c, parts[2], d, mode);
      if (http) ++codes[static_cast<int>(res["errorNum"].as_int64())];
      out.push_back(std::move(res));
    }
    auto r = ok(sync ? 201 : 202, out);
    if (!codes.empty()) {
      json::object h;
      for (auto [num, n] : codes) h[std::to_string(num)] = n;
      r.headers["X-Arango-Error-Codes"] = json::serialize(h);
    }
    return r;
  }

  static std::optional<int64_t> time_of(const json::object& d) {
    for (const char* f : {"open_time", "timestamp", "created_at"}) {
      if (auto* v = d.if_contains(f); v && v->is_number()) return v->to_number<int64_t>();
    }
    return std::nullopt;
  }

  net::ServerResponse batch(std::deque<json::value>& rest, int64_t batch_size, int http) {
    json::array out;
    while (!rest.empty() && static_cast<int64_t>(out.size()) < batch_size) {
      out.push_back(std::move(rest.front()));
      rest.pop_front();
    }
    json::object o{{"result", out},
                   {"hasMore", !rest.empty()},
                   {"cached", false},
                   {"error", false},
                   {"code", http}};
    if (!rest.empty()) {
      const std::string id = std::to_string(next_cursor++);
      o["id"] = id;
      cursors[id] = std::move(rest);
    }
    return ok(http, o);
  }

  net::ServerResponse cursor(const net::ServerRequest& req, const std::vector<std::string>& parts) {
    if (parts.size() == 3 && (req.method == "PUT" || req.method == "POST")) {
      auto it = cursors.find(parts[2]);
      if (it == cursors.end()) return error(404, 1600, "cursor not found");
      auto rest = std::move(it->second);
      cursors.erase(it);
      return batch(rest, 1000, 200);
    }
    if (parts.size() != 2 || req.method != "POST") return error(405, 405, "method not supported");
    json::error_code ec;
    auto v = json::parse(req.body, ec);
    if (ec || !v.is_object()) return error(400, 600, "VPackError error: Expecting JSON");
    const auto& o = v.as_object();
    const auto* q = o.if_contains("query");
    const auto* b = o.if_contains("bindVars");
    if (!q || !q->is_string() || !b || !b->is_object()) {
      return error(400, 10, "query and bindVars expected");
    }
    int64_t batch_size = 1000;
    if (auto* bs = o.if_contains("batchSize"); bs && bs->is_number()) {
      batch_size = std::max<int64_t>(1, bs->to_number<int64_t>());
    }
    const std::string query(q->as_string());
    const auto& bind = b->as_object();
    auto sv = [&](const char* name) -> std::string {
      auto* x = bind.if_contains(name);
      return x && x->is_string() ? std::string(x->as_string()) : std::string();
    };
    auto iv = [&](const char* name) -> int64_t {
      auto* x = bind.if_contains(name);
      return x && x->is_number() ? x->to_number<int64_t>() : 0;
    };
    static const std::regex range_re(
        R"(FOR d IN @@c LET t = NOT_NULL\(d\.open_time, d\.timestamp, d\.created_at\) )"
        R"(FILTER t >= @from AND t <= @to SORT t, d\._key LIMIT @limit RETURN d)");
    static const std::regex find_re(
        R"(FOR d IN @@c((?: FILTER d\[@f\d+\] == @v\d+)*) LET t = NOT_NULL\(d\.open_time, d\.timestamp, d\.created_at\)( FILTER t < @at OR \(t == @at AND d\._key < @ak\))? SORT t DESC, d\._key DESC LIMIT @offset, @limit RETURN d)");
    static const std::regex count_re(
        R"(RETURN LENGTH\(FOR d IN @@c((?: FILTER d\[@f\d+\] == @v\d+)*) RETURN 1\))");
    std::smatch m;
    const std::string coll = sv("@c");
    auto it = collections.find(coll);
    auto filtered = [&](const std::string& filters) {
      std::vector<const json::object*> docs;
      static const std::regex f_re(R"( FILTER d\[@(f\d+)\] == @(v\d+))");
      std::vector<std::pair<std::string, std::string>> eq;
      for (auto i = std::sregex_iterator(filters.begin(), filters.end(), f_re);
           i != std::sregex_iterator(); ++i) {
        eq.emplace_back(sv((*i)[1].str().c_str()), sv((*i)[2].str().c_str()));
      }
      for (const auto& [key, d] : it->second) {
        bool match = true;
        for (const auto& [field, value] : eq) {
          auto* x = d.if_contains(field);
          if (!x || !x->is_string() || x->as_string() != value) match = false;
        }
        if (match) docs.push_back(&d);
      }
      return docs;
    };
    const bool known = std::regex_match(query, m, range_re) ||
                       std::regex_match(query, m, find_re) || std::regex_match(query, m, count_re);
    if (!known) return error(400, 1501, "syntax error (the fake runs only StreamForge's queries)");
    if (it == collections.end()) return error(404, 1203, "collection or view not found");
    std::deque<json::value> rows;
    if (std::regex_match(query, range_re)) {
      std::vector<std::pair<int64_t, const json::object*>> hits;
      for (const auto& [key, d] : it->second) {
        auto t = time_of(d);
        if (t && *t >= iv("from") && *t <= iv("to")) hits.emplace_back(*t, &d);
      }
      std::sort(hits.begin(), hits.end(), [](const auto& a, const auto& b) {
        return a.first != b.first
                   ? a.first < b.first
                   : a.second->at("_key").as_string() < b.second->at("_key").as_string();
      });
      for (const auto& h : hits) {
        if (static_cast<int64_t>(rows.size()) >= iv("limit")) break;
        rows.emplace_back(*h.second);
      }
    } else if (std::regex_match(query, m, find_re)) {
      auto docs = filtered(m[1].str());
      if (m[2].matched) {  // keyset: only the documents after (@at, @ak) in the order
        const int64_t at = iv("at");
        const std::string ak = sv("ak");
        std::erase_if(docs, [&](const json::object* d) {
          const int64_t t = time_of(*d).value_or(0);
          return !(t < at || (t == at && std::string(d->at("_key").as_string()) < ak));
        });
      }
      std::sort(docs.begin(), docs.end(), [](const json::object* a, const json::object* b) {
        const int64_t ta = time_of(*a).value_or(0), tb = time_of(*b).value_or(0);
        return ta != tb ? ta > tb : a->at("_key").as_string() > b->at("_key").as_string();
      });
      const int64_t off = iv("offset"), lim = iv("limit");
      for (int64_t i = off; i < static_cast<int64_t>(docs.size()) && i < off + lim; ++i) {
        rows.emplace_back(*docs[static_cast<size_t>(i)]);
      }
    } else if (std::regex_match(query, m, count_re)) {
      rows.emplace_back(static_cast<int64_t>(filtered(m[1].str()).size()));
    }
    return batch(rows, batch_size, 201);
  }
};

FakeArango::FakeArango(std::string database, std::string user, std::string password,
                       std::string tls_cert_file, std::string tls_key_file)
    : state_(std::make_shared<State>()) {
  state_->database = std::move(database);
  state_->user = std::move(user);
  state_->password = std::move(password);
  net::HttpServerOptions o;
  o.server_name = "fake-arangodb";
  o.tls_cert_file = std::move(tls_cert_file);
  o.tls_key_file = std::move(tls_key_file);
  auto s = state_;
  auto server =
      net::HttpServer::start(o, [s](const net::ServerRequest& r) { return s->handle(r); });
  if (!server) throw std::runtime_error(server.error().message);
  server_ = std::move(server).value();
}

FakeArango::~FakeArango() = default;

std::string FakeArango::url() const {
  return server_->url();
}

void FakeArango::fail_next(int n, int status) {
  std::lock_guard lock(state_->mu);
  state_->fail_remaining = n;
  state_->fail_status = status;
}

void FakeArango::reject_key(const std::string& key, int error_num, const std::string& message) {
  std::lock_guard lock(state_->mu);
  state_->rejected[key] = {error_num, message};
}

std::map<std::string, std::string> FakeArango::documents(const std::string& collection) const {
  std::lock_guard lock(state_->mu);
  std::map<std::string, std::string> out;
  auto it = state_->collections.find(collection);
  if (it == state_->collections.end()) return out;
  for (const auto& [k, d] : it->second) out[k] = json::serialize(d);
  return out;
}

bool FakeArango::has_collection(const std::string& collection) const {
  std::lock_guard lock(state_->mu);
  return state_->collections.count(collection) > 0;
}

void FakeArango::drop_collection(const std::string& collection) {
  std::lock_guard lock(state_->mu);
  state_->collections.erase(collection);
}

int64_t FakeArango::requests() const {
  return state_->requests.load();
}
int64_t FakeArango::write_requests() const {
  return state_->writes.load();
}

}  // namespace sf::store::testing
