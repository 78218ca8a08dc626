// FakeKube: a FAKE Kubernetes API server for tests (loopback HTTP), serving the batch/v1 Job
// endpoints the queue-manager uses, with the API server's answers: 201 with the stored object,
// 409 AlreadyExists, 404 NotFound, 401 without the bearer token, 422 Invalid with causes, all as
// v1 Status objects. Beyond schema checks a real server makes, it checks every Job manifest field
// by field against SPEC §5 (labels, restartPolicy Never, backoffLimit, ttlSecondsAfterFinished,
// resources, image, podFailurePolicy for exit code 2, secrets only by secretKeyRef, the CA volume
// when CA_PATH is set) and refuses a manifest that breaks one, naming it. Tests move Jobs to
// Complete or Failed with finish().
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sf/net/http_server.h"

namespace sf::manager::testing {

class FakeKube {
 public:
  // `tls_cert_file` and `tls_key_file` set: it answers over HTTPS only, as a real API server.
  explicit FakeKube(std::string token = "test-token", std::string ns = "streamforge",
                    std::string tls_cert_file = "", std::string tls_key_file = "");
  ~FakeKube();
  std::string url() const;
  // Sets the Job's status condition (Complete, or Failed with a reason).
  bool finish(const std::string& name, bool failed, const std::string& reason = "");
  std::vector<std::string> jobs() const;                // names, as created and not deleted
  std::string manifest(const std::string& name) const;  // as POSTed
  std::vector<std::string> deleted() const;
  std::vector<std::string> refusals() const;  // the messages of 422 answers
  void set_token(std::string token);          // the service account's token rotated
  int lists() const;                          // GETs of the Job list so far
  size_t last_list_items() const;             // how many Jobs the last one answered

  struct State;

 private:
  std::shared_ptr<State> state_;
  std::unique_ptr<net::HttpServer> server_;
};

// The checks, also usable on a manifest directly: empty when it is acceptable.
std::vector<std::string> check_job_manifest(const std::string& manifest_json);

}  // namespace sf::manager::testing
