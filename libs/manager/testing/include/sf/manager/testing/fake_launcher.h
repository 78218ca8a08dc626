// FakeLauncher: a Launcher that starts nothing, for tests of the scheduler and the supervisor.
// It records what it was asked to launch and kill, refuses the targets a test names, reports the
// job ends a test queues, and answers alive() from a table. Not thread-safe: one test thread.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "sf/manager/launcher.h"

namespace sf::manager::testing {

class FakeLauncher final : public Launcher {
 public:
  std::string kind() const override { return "fake"; }
  Result<Launched> launch(const LaunchSpec& spec) override {
    if (refused_targets.count(spec.target)) {
      return make_error("the fake launcher refuses " + spec.target);
    }
    launched.push_back(spec);
    return Launched{"fake/" + spec.job_name, 1000 + static_cast<int64_t>(launched.size()), 7};
  }
  std::vector<JobEnd> reap() override { return std::exchange(ends, {}); }
  Status kill(const std::string& job_name) override {
    killed.push_back(job_name);
    return ok_status();
  }
  std::optional<bool> alive(const std::string& job_name, int64_t, int64_t) override {
    auto it = alive_jobs.find(job_name);
    if (it == alive_jobs.end()) return std::nullopt;
    return it->second;
  }
  void shutdown(std::chrono::milliseconds) override {}

  std::vector<std::string> launched_names() const {
    std::vector<std::string> out;
    for (const auto& s : launched) out.push_back(s.job_name);
    return out;
  }

  std::set<std::string> refused_targets;
  std::vector<LaunchSpec> launched;
  std::vector<JobEnd> ends;  // handed out by the next reap()
  std::vector<std::string> killed;
  std::map<std::string, bool> alive_jobs;
};

}  // namespace sf::manager::testing
