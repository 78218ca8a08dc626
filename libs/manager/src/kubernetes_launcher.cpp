// Jobs as Kubernetes Jobs through the API server's batch/v1 endpoints:
//   POST   /apis/batch/v1/namespaces/{ns}/jobs                 create (409 AlreadyExists: ours)
//   GET    /apis/batch/v1/namespaces/{ns}/jobs?labelSelector=  status of the jobs we launched
//   GET    /apis/batch/v1/namespaces/{ns}/jobs/{name}          one job (404: gone)
//   DELETE /apis/batch/v1/namespaces/{ns}/jobs/{name}?propagationPolicy=Background
#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "sf/log/log.h"
#include "sf/manager/launcher.h"

#include "kubeconfig.h"
#include "sf/net/http_server.h"
#include "sf/net/transport.h"

namespace sf::manager {

namespace json = boost::json;

namespace {

const char* kCaMount = "/etc/streamforge/ca";

std::string k8s_value(std::string v) {
  // Label values: at most 63 of [A-Za-z0-9-_.], alphanumeric at both ends.
  for (char& c : v) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) c = '-';
  }
  if (v.size() > 63) v.resize(63);
  while (!v.empty() && !std::isalnum(static_cast<unsigned char>(v.back()))) v.pop_back();
  return v;
}

}  // namespace

std::string job_manifest(const KubernetesOptions& o, const LaunchSpec& spec) {
  json::object labels{{"app.kubernetes.io/name", spec.target},
                      {"app.kubernetes.io/instance", spec.job_name},
                      {"app.kubernetes.io/component", k8s_value(spec.type)},
                      {"app.kubernetes.io/part-of", "streamforge"},
                      {"app.kubernetes.io/managed-by", "queue-manager"},
                      {"streamforge/queue-id", k8s_value(spec.queue_id)}};
  json::array env;
  auto plain = spec.env;
  if (!o.ca_secret.empty()) plain["CA_PATH"] = std::string(kCaMount) + "/ca.crt";
  for (const auto& [k, v] : plain) env.push_back(json::object{{"name", k}, {"value", v}});
  for (const auto& [k, ref] : spec.secrets) {
    env.push_back(json::object{
        {"name", k},
        {"valueFrom",
         json::object{{"secretKeyRef", json::object{{"name", ref.secret}, {"key", ref.key}}}}}});
  }
  auto it = o.images.find(spec.target);
  const std::string image = it != o.images.end() ? it->second : o.default_image;
  json::object container{
      {"name", "worker"},
      {"image", image},
      {"imagePullPolicy", o.image_pull_policy},
      {"command", json::array{"/usr/local/bin/" + spec.target}},
      {"env", env},
      {"resources",
       json::object{
           {"requests", json::object{{"cpu", o.cpu_request}, {"memory", o.memory_request}}},
           {"limits", json::object{{"cpu", o.cpu_limit}, {"memory", o.memory_limit}}}}},
      {"securityContext",
       json::object{{"allowPrivilegeEscalation", false},
                    {"readOnlyRootFilesystem", true},
                    {"capabilities", json::object{{"drop", json::array{"ALL"}}}}}}};
  // Workers never call the Kubernetes API: no token in their pods (review #28).
  json::object pod{{"restartPolicy", "Never"},
                   {"automountServiceAccountToken", false},
                   {"securityContext",
                    json::object{{"runAsNonRoot", true},
                                 {"runAsUser", 10001},
                                 {"seccompProfile", json::object{{"type", "RuntimeDefault"}}}}},
                   {"containers", json::array{container}}};
  if (!o.service_account.empty()) pod["serviceAccountName"] = o.service_account;
  if (!o.ca_secret.empty()) {
    pod["containers"].as_array()[0].as_object()["volumeMounts"] = json::array{
        json::object{{"name", "kafka-ca"}, {"mountPath", kCaMount}, {"readOnly", true}}};
    pod["volumes"] = json::array{
        json::object{{"name", "kafka-ca"}, {"secret", json::object{{"secretName", o.ca_secret}}}}};
  }
  json::object job{
      {"apiVersion", "batch/v1"},
      {"kind", "Job"},
      {"metadata", json::object{{"name", spec.job_name}, {"namespace", o.ns}, {"labels", labels}}},
      {"spec",
       json::object{{"backoffLimit", o.backoff_limit},
                    {"ttlSecondsAfterFinished", o.ttl_seconds_after_finished},
                    // Exit code 2 is a configuration error: retrying cannot help.
                    {"podFailurePolicy",
                     json::object{{"rules", json::array{json::object{
                                                {"action", "FailJob"},
                                                {"onExitCodes",
                                                 json::object{{"containerName", "worker"},
                                                              {"operator", "In"},
                                                              {"values", json::array{2}}}}}}}}},
                    {"template", json::object{{"metadata", json::object{{"labels", labels}}},
                                              {"spec", pod}}}}}};
  return json::serialize(job);
}

namespace {

class KubernetesLauncher final : public Launcher {
 public:
  KubernetesLauncher(KubernetesOptions o, std::unique_ptr<net::HttpClient> http)
      : o_(std::move(o)), http_(std::move(http)) {}

  std::string kind() const override { return "kubernetes"; }

  Result<Launched> launch(const LaunchSpec& spec) override {
    auto r = call("POST", base() + "/jobs", job_manifest(o_, spec));
    if (!r) return r.error();
    if (r->status == 409) {
      // A Job of that name exists: ours only when its labels say it belongs to this queue (a
      // manager restarted while it ran); another queue's Job is never adopted.
      auto existing = call("GET", base() + "/jobs/" + spec.job_name, "");
      if (!existing) return existing.error();
      std::string owner;
      json::error_code ec;
      auto v = json::parse(existing->body, ec);
      if (!ec && v.is_object()) {
        if (auto* m = v.as_object().if_contains("metadata"); m && m->is_object()) {
          if (auto* l = m->as_object().if_contains("labels"); l && l->is_object()) {
            if (auto* q = l->as_object().if_contains("streamforge/queue-id"); q && q->is_string()) {
              owner = std::string(q->as_string());
            }
          }
        }
      }
      if (existing->status != 200 || owner != k8s_value(spec.queue_id)) {
        return make_error("a Job named " + spec.job_name + " already exists and belongs to " +
                          (owner.empty() ? std::string("no StreamForge queue") : "queue " + owner) +
                          ", not " + spec.queue_id + ": it is not adopted");
      }
    } else if (r->status != 201 && r->status != 200) {
      return make_error("the Kubernetes API refused Job " + spec.job_name + ": " + status_text(*r));
    }
    std::lock_guard lock(mu_);
    tracked_.insert(spec.job_name);
    return Launched{o_.ns + "/" + spec.job_name, 0};
  }

  std::vector<JobEnd> reap() override {
    std::vector<JobEnd> out;
    std::string selector = "app.kubernetes.io/managed-by=queue-manager";
    {
      std::lock_guard lock(mu_);
      if (tracked_.empty()) return out;
      const auto now = std::chrono::steady_clock::now();
      if (now < next_list_) return out;
      next_list_ = now + o_.list_interval;
      // Only the Jobs this manager waits for (each Job's instance label is its name); past 50 the
      // selector would make a long URL, and the namespace's managed Jobs are listed instead.
      if (tracked_.size() <= 50) {
        selector += ",app.kubernetes.io/instance in (";
        bool first = true;
        for (const auto& n : tracked_) {
          selector += (first ? "" : ",") + n;
          first = false;
        }
        selector += ")";
      }
    }
    auto r = call("GET", base() + "/jobs?labelSelector=" + net::url_encode(selector), "");
    if (!r || r->status != 200) return out;  // the next tick tries again
    json::error_code ec;
    auto v = json::parse(r->body, ec);
    if (ec || !v.is_object()) return out;
    std::set<std::string> listed;
    std::lock_guard lock(mu_);
    if (auto* items = v.as_object().if_contains("items"); items && items->is_array()) {
      for (const auto& item : items->as_array()) {
        if (!item.is_object()) continue;  // review #23: a stray value must not end the supervisor
        const auto* meta = item.as_object().if_contains("metadata");
        if (!meta || !meta->is_object()) continue;
        const auto* name = meta->as_object().if_contains("name");
        if (!name || !name->is_string()) continue;
        const std::string n(name->as_string());
        listed.insert(n);
        if (!tracked_.count(n)) continue;
        auto end = ended(item);
        if (end) {
          end->job_name = n;
          out.push_back(*end);
          tracked_.erase(n);
        }
      }
    }
    // A tracked Job that vanished (deleted by someone, or its TTL) ended as far as we know.
    for (auto it = tracked_.begin(); it != tracked_.end();) {
      if (!listed.count(*it)) {
        out.push_back({*it, true, "the Job is gone from namespace " + o_.ns});
        it = tracked_.erase(it);
      } else {
        ++it;
      }
    }
    return out;
  }

  Status kill(const std::string& job_name) override {
    auto r = call("DELETE", base() + "/jobs/" + job_name + "?propagationPolicy=Background", "");
    if (!r) return r.error();
    if (r->status != 200 && r->status != 202 && r->status != 404) {
      return make_error("cannot delete Job " + job_name + ": " + status_text(*r));
    }
    return ok_status();
  }

  std::optional<bool> alive(const std::string& job_name, int64_t, int64_t) override {
    auto r = call("GET", base() + "/jobs/" + job_name, "");
    if (!r) return std::nullopt;
    if (r->status == 404) return false;
    if (r->status != 200) return std::nullopt;
    json::error_code ec;
    auto v = json::parse(r->body, ec);
    if (ec) return std::nullopt;
    const bool running = !ended(v).has_value();
    if (running) {
      std::lock_guard lock(mu_);
      tracked_.insert(job_name);
    }
    return running;
  }

  // Jobs on the cluster outlive the manager: a restarted manager picks them up (alive()).
  void shutdown(std::chrono::milliseconds) override {}

 private:
  std::string base() const { return "/apis/batch/v1/namespaces/" + o_.ns; }

  static std::optional<JobEnd> ended(const json::value& job) {
    const auto* o = job.if_object();
    const auto* status = o ? o->if_contains("status") : nullptr;
    const auto* conds =
        status && status->is_object() ? status->as_object().if_contains("conditions") : nullptr;
    if (!conds || !conds->is_array()) return std::nullopt;
    for (const auto& c : conds->as_array()) {
      const auto* co = c.if_object();
      if (!co) continue;
      auto str = [&](const char* k) {
        auto* x = co->if_contains(k);
        return x && x->is_string() ? std::string(x->as_string()) : std::string();
      };
      if (str("status") != "True") continue;
      if (str("type") == "Complete") return JobEnd{"", false, "Complete"};
      if (str("type") == "Failed") {
        return JobEnd{"", true,
                      str("reason") + (str("message").empty() ? "" : ": " + str("message"))};
      }
    }
    return std::nullopt;
  }

  static std::string status_text(const net::HttpResponse& r) {
    json::error_code ec;
    auto v = json::parse(r.body, ec);
    std::string out = "HTTP " + std::to_string(r.status);
    if (!ec && v.is_object()) {
      if (auto* m = v.as_object().if_contains("message"); m && m->is_string()) {
        out += ": " + std::string(m->as_string());
      }
    }
    return out;
  }

  // The token file's content now, when it is time to look again (or `force`): true if it changed.
  bool refresh_token(bool force) {
    if (o_.token_file.empty()) return false;
    const auto now = std::chrono::steady_clock::now();
    if (!force && now < token_read_at_ + std::chrono::seconds(60)) return false;
    token_read_at_ = now;
    std::ifstream in(o_.token_file);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string t = ss.str();
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
    if (t.empty() || t == o_.token) return false;
    o_.token = t;
    return true;
  }

  Result<net::HttpResponse> call(const std::string& method, const std::string& target,
                                 const std::string& body) {
    net::HttpRequest req;
    req.method = method;
    req.target = target;
    req.body = body;
    req.idempotent = method != "POST";
    std::lock_guard lock(http_mu_);
    (void)refresh_token(false);
    if (!o_.token.empty()) req.headers["Authorization"] = "Bearer " + o_.token;
    auto r = http_->request(req);
    if (r && r->status == 401 && refresh_token(true)) {  // the token rotated: once more
      req.headers["Authorization"] = "Bearer " + o_.token;
      r = http_->request(req);
    }
    if (r && r->status == 401) {
      return make_error("the Kubernetes API refused the service account token (401)");
    }
    if (r && r->status == 403) {
      return make_error("the service account may not " + method + " " + target +
                        " (403). Hint: the Role needs create/get/list/delete on batch/jobs");
    }
    return r;
  }

  KubernetesOptions o_;
  std::mutex http_mu_;
  std::unique_ptr<net::HttpClient> http_;
  std::chrono::steady_clock::time_point token_read_at_ = std::chrono::steady_clock::now();
  std::mutex mu_;
  std::set<std::string> tracked_;
  std::chrono::steady_clock::time_point next_list_{};
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::map<std::string, std::string> kv_list(const std::string& text) {
  std::map<std::string, std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ';')) {
    const auto eq = item.find('=');
    if (eq != std::string::npos) out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

}  // namespace

std::unique_ptr<Launcher> make_kubernetes_launcher(KubernetesOptions options) {
  net::HttpOptions ho;
  ho.ca_file = options.ca_file;
  ho.client_cert_file = options.client_cert_file;
  ho.client_key_file = options.client_key_file;
  ho.proxy_from_env = false;
  auto http = net::HttpClient::create(options.api_url, ho);
  if (!http) return nullptr;
  return std::make_unique<KubernetesLauncher>(std::move(options), std::move(http).value());
}

Result<std::unique_ptr<Launcher>> make_kubernetes_launcher_from_env(const config::EnvLookup& env) {
  KubernetesOptions o;
  const std::string sa = "/var/run/secrets/kubernetes.io/serviceaccount";
  if (auto host = env("KUBERNETES_SERVICE_HOST")) {
    o.api_url = "https://" + *host + ":" + env("KUBERNETES_SERVICE_PORT").value_or("443");
    o.token = slurp(sa + "/token");
    o.token_file = sa + "/token";
    o.ca_file = sa + "/ca.crt";
    o.ns = slurp(sa + "/namespace");
  } else if (auto kubeconfig = env("KUBECONFIG")) {
    const char* tmp = std::getenv("TMPDIR");
    auto k = read_kubeconfig(*kubeconfig, env("K8S_CONTEXT").value_or(""), tmp ? tmp : "/tmp");
    if (!k) return k.error();
    o.api_url = k->server;
    o.ca_file = k->ca_file;
    o.token = k->token;
    o.token_file = k->token_file;
    o.client_cert_file = k->client_cert_file;
    o.client_key_file = k->client_key_file;
    if (!k->ns.empty()) o.ns = k->ns;
  } else {
    return make_error(
        "LAUNCHER=kubernetes needs the in-cluster service account (KUBERNETES_SERVICE_HOST) or "
        "KUBECONFIG");
  }
  if (o.api_url.empty() || (o.token.empty() && o.client_cert_file.empty())) {
    return make_error(
        "the Kubernetes API server or token is missing (service account or KUBECONFIG)");
  }
  if (auto ns = env("K8S_NAMESPACE")) o.ns = *ns;
  if (o.ns.empty()) o.ns = "streamforge";
  o.default_image = env("WORKER_IMAGE").value_or(o.default_image);
  o.images = kv_list(env("WORKER_IMAGES").value_or(""));
  // Review #28: an image named by tag may change under the same name; one named by digest
  // (name@sha256:...) cannot. REQUIRE_IMAGE_DIGESTS=1 refuses tags; otherwise they are named in a
  // warning at start.
  {
    std::string unpinned;
    auto check = [&](const std::string& what, const std::string& image) {
      if (image.find("@sha256:") == std::string::npos) {
        unpinned += (unpinned.empty() ? "" : ", ") + what + "=" + image;
      }
    };
    check("WORKER_IMAGE", o.default_image);
    for (const auto& [target, image] : o.images) check(target, image);
    const auto require = env("REQUIRE_IMAGE_DIGESTS").value_or("0");
    if (require != "0" && require != "1") {
      return make_error("config error: REQUIRE_IMAGE_DIGESTS='" + require + "' is invalid: 0 or 1");
    }
    if (!unpinned.empty() && require == "1") {
      return make_error(
          "config error: REQUIRE_IMAGE_DIGESTS=1 but these images are not pinned by digest: " +
          unpinned + ". Hint: name them as registry/name@sha256:<digest>");
    }
    if (!unpinned.empty()) {
      log::get().warn("job images not pinned by digest (a tag can change under its name): {}",
                      unpinned);
    }
  }
  o.service_account = env("JOB_SERVICE_ACCOUNT").value_or("");
  o.ca_secret = env("KAFKA_CA_SECRET").value_or("");
  o.cpu_request = env("JOB_CPU_REQUEST").value_or(o.cpu_request);
  o.cpu_limit = env("JOB_CPU_LIMIT").value_or(o.cpu_limit);
  o.memory_request = env("JOB_MEMORY_REQUEST").value_or(o.memory_request);
  o.memory_limit = env("JOB_MEMORY_LIMIT").value_or(o.memory_limit);
  auto backoff = config::int_var(env, "JOB_BACKOFF_LIMIT", o.backoff_limit, 0, 100, "retries");
  if (auto* e = std::get_if<config::ConfigError>(&backoff)) return make_error(e->message);
  o.backoff_limit = static_cast<int>(std::get<int64_t>(backoff));
  auto ttl = config::int_var(env, "JOB_TTL_SECONDS", o.ttl_seconds_after_finished, 0, 31'536'000,
                             "seconds");
  if (auto* e = std::get_if<config::ConfigError>(&ttl)) return make_error(e->message);
  o.ttl_seconds_after_finished = static_cast<int>(std::get<int64_t>(ttl));
  auto l = make_kubernetes_launcher(o);
  if (!l) return make_error("the Kubernetes API URL '" + o.api_url + "' is invalid");
  return l;
}

}  // namespace sf::manager
