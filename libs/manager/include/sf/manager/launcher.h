// Launching the jobs of a plan: local child processes or Kubernetes Jobs, behind one interface.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sf/config/env.h"
#include "sf/core/result.h"

namespace sf::manager {

// What a job is given. `env` holds plain values; `secrets` the secret ones by variable name: the
// local launcher passes their values, the Kubernetes launcher references them (secretKeyRef) and
// never writes a value into a manifest.
struct SecretRef {
  std::string secret;  // Kubernetes Secret name
  std::string key;     // key inside it
  std::string value;   // the value, for local processes only
};

struct LaunchSpec {
  std::string job_name;
  std::string queue_id;
  std::string target;  // the program
  std::string type;
  std::map<std::string, std::string> env;
  std::map<std::string, SecretRef> secrets;
};

struct Launched {
  std::string where;      // local: log file; kubernetes: namespace/job-name
  int64_t pid = 0;        // local only
  int64_t pid_start = 0;  // local only: the process's start time (see Child::start_ticks)
};

// A job that ended as far as the launcher can see (process exit, Job status).
struct JobEnd {
  std::string job_name;
  bool failed = false;
  std::string detail;  // "exit code 2: config error: ...", "BackoffLimitExceeded", ...
};

class Launcher {
 public:
  virtual ~Launcher() = default;
  virtual std::string kind() const = 0;  // "local" or "kubernetes"
  virtual Result<Launched> launch(const LaunchSpec& spec) = 0;
  // Jobs that ended since the last call.
  virtual std::vector<JobEnd> reap() = 0;
  // Ends a job that did not stop by itself (local: SIGTERM then SIGKILL; Kubernetes: DELETE).
  virtual Status kill(const std::string& job_name) = 0;
  // Is a job from an earlier life of the manager still running? (local: its pid; Kubernetes: the
  // Job). Nothing when it cannot tell.
  // `pid_start` (local, 0: unknown) tells a recycled pid from the job's own process (review #19).
  // A job found running is watched from then on as if launched: reap() reports its end and
  // kill() ends it (local: it is no child of this manager, its exit code is not known).
  virtual std::optional<bool> alive(const std::string& job_name, int64_t pid,
                                    int64_t pid_start) = 0;
  // Ends everything still running (the manager is stopping).
  virtual void shutdown(std::chrono::milliseconds grace) = 0;
};

struct LocalLauncherOptions {
  std::string bin_dir;  // where the programs are
  std::string log_dir;  // <log_dir>/<queue_id>/<job_name>.log
  std::chrono::milliseconds kill_grace{5000};
  // A running job's log past this is moved to <log>.1 (the one before is dropped) and started
  // again, checked at every supervisor tick: a chatty job cannot fill the disk (review #25).
  uint64_t log_cap_bytes = 64ull << 20;
};
std::unique_ptr<Launcher> make_local_launcher(LocalLauncherOptions options);

}  // namespace sf::manager

namespace sf::manager {

// Jobs as Kubernetes Jobs (batch/v1) through the API server.
struct KubernetesOptions {
  std::string api_url;  // https://kubernetes.default.svc (in-cluster) or the kubeconfig's server
  std::string token;    // bearer token (service account); may be empty with a client cert
  // Where the token comes from (the service account's projected token, a kubeconfig tokenFile):
  // read again every minute and after a 401, because bound tokens rotate (review #16).
  std::string token_file;
  // The supervisor's list of Jobs goes out at most this often, and asks only for the Jobs this
  // manager tracks (review #16: all managed Jobs five times a second was 25 MB a poll).
  std::chrono::milliseconds list_interval{2000};
  std::string ca_file;                            // the API server's CA
  std::string client_cert_file, client_key_file;  // a kubeconfig user's client certificate
  std::string ns = "streamforge";
  std::map<std::string, std::string> images;                     // target -> image (WORKER_IMAGES)
  std::string default_image = "streamforge/streamforge:latest";  // WORKER_IMAGE
  std::string image_pull_policy = "IfNotPresent";
  std::string service_account;  // for the jobs' pods; empty: the namespace default
  int backoff_limit = 2;
  int ttl_seconds_after_finished = 86'400;
  std::string cpu_request = "100m", memory_request = "128Mi";
  std::string cpu_limit = "1", memory_limit = "512Mi";
  std::string ca_secret;  // Secret holding ca.crt, mounted at /etc/streamforge/ca (Kafka's CA)
};

// The Job manifest for one launch (what POST sends), exposed for tests and the docs.
std::string job_manifest(const KubernetesOptions& options, const LaunchSpec& spec);
std::unique_ptr<Launcher> make_kubernetes_launcher(KubernetesOptions options);
// In-cluster (KUBERNETES_SERVICE_HOST + the service account's token, CA and namespace) or
// KUBECONFIG read with yaml-cpp (K8S_CONTEXT or current-context; its cluster's server and CA,
// file or data; its user's token, tokenFile or client certificate; its namespace), then
// K8S_NAMESPACE, WORKER_IMAGE, WORKER_IMAGES="target=image;...", JOB_BACKOFF_LIMIT,
// JOB_TTL_SECONDS, JOB_CPU_REQUEST/LIMIT, JOB_MEMORY_REQUEST/LIMIT, KAFKA_CA_SECRET.
Result<std::unique_ptr<Launcher>> make_kubernetes_launcher_from_env(const config::EnvLookup& env);

}  // namespace sf::manager
