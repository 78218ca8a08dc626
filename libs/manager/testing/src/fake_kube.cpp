#include "sf/manager/testing/fake_kube.h"

#include <boost/json.hpp>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>

namespace sf::manager::testing {

namespace json = boost::json;

namespace {

const json::value* at(const json::value& v, std::initializer_list<const char*> path) {
  const json::value* cur = &v;
  for (const char* k : path) {
    if (!cur->is_object()) return nullptr;
    cur = cur->as_object().if_contains(k);
    if (!cur) return nullptr;
  }
  return cur;
}

bool dns1123(const std::string& s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  for (char c : s) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '-'))
      return false;
  }
  return true;
}

json::object status(int code, const std::string& reason, const std::string& message,
                    json::array causes = {}) {
  json::object s{{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object{}},
                 {"status", "Failure"}, {"message", message}, {"reason", reason},
                 {"code", code}};
  if (!causes.empty()) s["details"] = json::object{{"causes", causes}};
  return s;
}

}  // namespace

std::vector<std::string> check_job_manifest(const std::string& text) {
  std::vector<std::string> bad;
  json::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return {"body: not a JSON object"};
  auto str = [&](std::initializer_list<const char*> p) {
    auto* x = at(v, p);
    return x && x->is_string() ? std::string(x->as_string()) : std::string();
  };
  if (str({"apiVersion"}) != "batch/v1") bad.push_back("apiVersion: must be batch/v1");
  if (str({"kind"}) != "Job") bad.push_back("kind: must be Job");
  if (!dns1123(str({"metadata", "name"})))
    bad.push_back("metadata.name: not a DNS-1123 label of at most 63");
  for (const char* l :
       {"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/part-of",
        "app.kubernetes.io/managed-by", "streamforge/queue-id"}) {
    auto* x = at(v, {"metadata", "labels", l});
    if (!x || !x->is_string() || x->as_string().empty())
      bad.push_back(std::string("metadata.labels: missing ") + l);
    auto* t = at(v, {"spec", "template", "metadata", "labels", l});
    if (!t || !t->is_string())
      bad.push_back(std::string("spec.template.metadata.labels: missing ") + l);
  }
  if (str({"spec", "template", "spec", "restartPolicy"}) != "Never")
    bad.push_back("spec.template.spec.restartPolicy: must be Never");
  auto* backoff = at(v, {"spec", "backoffLimit"});
  if (!backoff || !backoff->is_int64() || backoff->as_int64() < 0)
    bad.push_back("spec.backoffLimit: required, >= 0");
  auto* ttl = at(v, {"spec", "ttlSecondsAfterFinished"});
  if (!ttl || !ttl->is_int64()) bad.push_back("spec.ttlSecondsAfterFinished: required");
  bool exit2 = false;
  if (auto* rules = at(v, {"spec", "podFailurePolicy", "rules"}); rules && rules->is_array()) {
    for (const auto& r : rules->as_array()) {
      auto* action = at(r, {"action"});
      auto* values = at(r, {"onExitCodes", "values"});
      if (action && action->is_string() && action->as_string() == "FailJob" && values &&
          values->is_array()) {
        for (const auto& x : values->as_array()) exit2 |= x.is_int64() && x.as_int64() == 2;
      }
    }
  }
  if (!exit2) bad.push_back("spec.podFailurePolicy: no FailJob rule for exit code 2");
  auto* containers = at(v, {"spec", "template", "spec", "containers"});
  if (!containers || !containers->is_array() || containers->as_array().size() != 1) {
    bad.push_back("spec.template.spec.containers: exactly one container expected");
    return bad;
  }
  const auto& c = containers->as_array()[0];
  if (!at(c, {"image"}) || !at(c, {"image"})->is_string() || at(c, {"image"})->as_string().empty())
    bad.push_back("containers[0].image: required");
  for (const char* r : {"requests", "limits"}) {
    for (const char* k : {"cpu", "memory"}) {
      if (!at(c, {"resources", r, k}))
        bad.push_back(std::string("containers[0].resources.") + r + "." + k + ": required");
    }
  }
  bool ca_path = false;
  if (auto* env = at(c, {"env"}); env && env->is_array()) {
    for (const auto& e : env->as_array()) {
      auto* n = at(e, {"name"});
      if (!n || !n->is_string()) {
        bad.push_back("env: an entry without a name");
        continue;
      }
      const std::string name(n->as_string());
      if (name == "CA_PATH") ca_path = true;
      const bool secret = name.find("PASSWORD") != std::string::npos ||
                          name.find("SECRET") != std::string::npos ||
                          name.find("TOKEN") != std::string::npos;
      if (secret && at(e, {"value"}))
        bad.push_back("env " + name + ": a secret as a plain value (use secretKeyRef)");
      if (secret && !at(e, {"valueFrom", "secretKeyRef", "name"}))
        bad.push_back("env " + name + ": secretKeyRef.name required");
    }
  }
  if (ca_path) {
    auto* vols = at(v, {"spec", "template", "spec", "volumes"});
    auto* mounts = at(c, {"volumeMounts"});
    if (!vols || !vols->is_array() || vols->as_array().empty() ||
        !at(vols->as_array()[0], {"secret", "secretName"}))
      bad.push_back("volumes: CA_PATH is set but no Secret volume holds the CA");
    if (!mounts || !mounts->is_array() || mounts->as_array().empty())
      bad.push_back("volumeMounts: CA_PATH is set but the CA is not mounted");
  }
  return bad;
}

// A label selector as the API server reads it: requirements separated by commas, each
// `key=value`, `key==value`, `key!=value`, `key in (a,b)` or `key notin (a,b)`.
struct Requirement {
  std::string key;
  std::set<std::string> values;
  bool negate = false;
};
std::optional<std::vector<Requirement>> parse_selector(const std::string& text) {
  std::vector<Requirement> out;
  auto trim = [](std::string s) {
    while (!s.empty() && s.front() == ' ') s.erase(s.begin());
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
  };
  size_t i = 0;
  while (i < text.size()) {
    size_t depth = 0, j = i;
    for (; j < text.size() && !(text[j] == ',' && depth == 0); ++j) {
      if (text[j] == '(') ++depth;
      if (text[j] == ')') --depth;
    }
    const std::string part = trim(text.substr(i, j - i));
    i = j + 1;
    Requirement r;
    if (auto sp = part.find(" in (");
        sp != std::string::npos || part.find(" notin (") != std::string::npos) {
      const bool notin = sp == std::string::npos;
      sp = notin ? part.find(" notin (") : sp;
      r.key = trim(part.substr(0, sp));
      r.negate = notin;
      const size_t open = part.find('(', sp), close = part.rfind(')');
      if (close == std::string::npos || close < open) return std::nullopt;
      std::stringstream vs(part.substr(open + 1, close - open - 1));
      std::string v;
      while (std::getline(vs, v, ',')) r.values.insert(trim(v));
    } else if (auto ne = part.find("!="); ne != std::string::npos) {
      r.key = trim(part.substr(0, ne));
      r.values.insert(trim(part.substr(ne + 2)));
      r.negate = true;
    } else if (auto eq = part.find('='); eq != std::string::npos) {
      r.key = trim(part.substr(0, eq));
      const size_t from = part.compare(eq, 2, "==") == 0 ? eq + 2 : eq + 1;
      r.values.insert(trim(part.substr(from)));
    } else {
      return std::nullopt;
    }
    if (r.key.empty()) return std::nullopt;
    out.push_back(std::move(r));
  }
  return out;
}

struct FakeKube::State {
  std::string token, ns;
  mutable std::mutex mu;
  std::map<std::string, json::object> jobs;
  std::map<std::string, std::string> manifests;
  std::vector<std::string> deleted, refusals;
  int lists = 0;
  size_t last_list_items = 0;

  static net::ServerResponse reply(int code, const json::object& o) {
    net::ServerResponse r;
    r.status = code;
    r.body = json::serialize(o);
    return r;
  }

  net::ServerResponse handle(const net::ServerRequest& req) {
    std::lock_guard lock(mu);
    if (req.header("authorization") != "Bearer " + token) {
      return reply(401, status(401, "Unauthorized", "Unauthorized"));
    }
    const std::string prefix = "/apis/batch/v1/namespaces/" + ns + "/jobs";
    if (req.path.rfind(prefix, 0) != 0) {
      return reply(404,
                   status(404, "NotFound", "the server could not find the requested resource"));
    }
    const std::string rest = req.path.substr(prefix.size());
    if (rest.empty() && req.method == "POST") {
      auto problems = check_job_manifest(req.body);
      json::error_code ec;
      auto v = json::parse(req.body, ec);
      if (!problems.empty()) {
        json::array causes;
        std::string msg;
        for (const auto& p : problems) {
          causes.push_back(json::object{{"reason", "FieldValueInvalid"}, {"message", p}});
          msg += (msg.empty() ? "" : "; ") + p;
        }
        refusals.push_back(msg);
        return reply(422, status(422, "Invalid", "Job is invalid: " + msg, causes));
      }
      const std::string name(v.at("metadata").at("name").as_string());
      if (jobs.count(name)) {
        return reply(409,
                     status(409, "AlreadyExists", "jobs.batch \"" + name + "\" already exists"));
      }
      json::object job = v.as_object();
      job["metadata"].as_object()["uid"] = "uid-" + name;
      job["status"] = json::object{{"active", 1}};
      jobs[name] = job;
      manifests[name] = req.body;
      return reply(201, job);
    }
    if (rest.empty() && req.method == "GET") {
      auto it = req.query.find("labelSelector");
      auto selector = parse_selector(it == req.query.end() ? "" : it->second);
      if (!selector) {
        return reply(400, status(400, "BadRequest", "unable to parse requirement"));
      }
      ++lists;
      json::array items;
      for (const auto& [name, job] : jobs) {
        const json::value whole = job;
        bool match = true;
        for (const auto& r : *selector) {
          auto* l = at(whole, {"metadata", "labels", r.key.c_str()});
          const bool has = l && l->is_string();
          const bool in = has && r.values.count(std::string(l->as_string()));
          if (r.negate ? in : !in) match = false;
        }
        if (!match) continue;
        items.push_back(job);
      }
      last_list_items = items.size();
      return reply(200,
                   json::object{{"kind", "JobList"}, {"apiVersion", "batch/v1"}, {"items", items}});
    }
    const std::string name = rest.size() > 1 ? rest.substr(1) : "";
    auto it = jobs.find(name);
    if (it == jobs.end()) {
      return reply(404, status(404, "NotFound", "jobs.batch \"" + name + "\" not found"));
    }
    if (req.method == "GET") return reply(200, it->second);
    if (req.method == "DELETE") {
      deleted.push_back(name);
      jobs.erase(it);
      return reply(200, status(200, "", "deleted"));
    }
    return reply(405, status(405, "MethodNotAllowed", "method not allowed"));
  }
};

FakeKube::FakeKube(std::string token, std::string ns, std::string tls_cert_file,
                   std::string tls_key_file)
    : state_(std::make_shared<State>()) {
  state_->token = std::move(token);
  state_->ns = std::move(ns);
  auto s = state_;
  net::HttpServerOptions o;
  o.server_name = "fake-kube-apiserver";
  o.tls_cert_file = std::move(tls_cert_file);
  o.tls_key_file = std::move(tls_key_file);
  server_ =
      net::HttpServer::start(o, [s](const net::ServerRequest& r) { return s->handle(r); }).value();
}
FakeKube::~FakeKube() = default;

std::string FakeKube::url() const {
  return server_->url();
}

bool FakeKube::finish(const std::string& name, bool failed, const std::string& reason) {
  std::lock_guard lock(state_->mu);
  auto it = state_->jobs.find(name);
  if (it == state_->jobs.end()) return false;
  json::object cond{{"type", failed ? "Failed" : "Complete"}, {"status", "True"}};
  if (failed) {
    cond["reason"] = reason.empty() ? "BackoffLimitExceeded" : reason;
    cond["message"] = "Job has reached the specified backoff limit";
  }
  it->second["status"] =
      json::object{{failed ? "failed" : "succeeded", 1}, {"conditions", json::array{cond}}};
  return true;
}

std::vector<std::string> FakeKube::jobs() const {
  std::lock_guard lock(state_->mu);
  std::vector<std::string> out;
  for (const auto& [n, j] : state_->jobs) out.push_back(n);
  return out;
}

std::string FakeKube::manifest(const std::string& name) const {
  std::lock_guard lock(state_->mu);
  auto it = state_->manifests.find(name);
  return it == state_->manifests.end() ? "" : it->second;
}

std::vector<std::string> FakeKube::deleted() const {
  std::lock_guard lock(state_->mu);
  return state_->deleted;
}

void FakeKube::set_token(std::string token) {
  std::lock_guard lock(state_->mu);
  state_->token = std::move(token);
}

int FakeKube::lists() const {
  std::lock_guard lock(state_->mu);
  return state_->lists;
}

size_t FakeKube::last_list_items() const {
  std::lock_guard lock(state_->mu);
  return state_->last_list_items;
}

std::vector<std::string> FakeKube::refusals() const {
  std::lock_guard lock(state_->mu);
  return state_->refusals;
}

}  // namespace sf::manager::testing
