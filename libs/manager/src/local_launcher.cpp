// Jobs as child processes of the manager (the embedded default): our programs from bin_dir with
// the env of SPEC §3, logs to files, reaped by reap(), killed (group) on shutdown.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "sf/config/env.h"
#include "sf/manager/launcher.h"
#include "sf/process/child.h"

namespace sf::manager {
namespace {

// The last non-empty line of a log (what a program said before it died).
// The last non-empty line of a job's log, from its last 4 KiB only (logs can be gigabytes).
std::string last_line(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  const std::streamoff size = in ? static_cast<std::streamoff>(in.tellg()) : 0;
  const std::streamoff from = std::max<std::streamoff>(0, size - 4096);
  in.seekg(from);
  std::string line, last;
  if (from > 0) std::getline(in, line);  // most likely a partial line
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  if (last.size() > 300) last = last.substr(0, 300) + "...";
  return last;
}

class LocalLauncher final : public Launcher {
 public:
  // Copy, then truncate: the job keeps writing to its open (O_APPEND) descriptor, now at the
  // start of the emptied file. Lines written between the copy and the truncation are lost.
  void cap_log(const std::string& path) const {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec || size <= o_.log_cap_bytes) return;
    std::filesystem::copy_file(path, path + ".1", std::filesystem::copy_options::overwrite_existing,
                               ec);
    std::filesystem::resize_file(path, 0, ec);
    std::ofstream(path, std::ios::app)
        << "[queue-manager: this log passed " << o_.log_cap_bytes
        << " bytes; what came before is in " << std::filesystem::path(path).filename().string()
        << ".1]\n";
  }

  explicit LocalLauncher(LocalLauncherOptions o) : o_(std::move(o)) {}
  ~LocalLauncher() override { shutdown(o_.kill_grace); }

  std::string kind() const override { return "local"; }

  Result<Launched> launch(const LaunchSpec& spec) override {
    const std::string program = o_.bin_dir + "/" + spec.target;
    if (access(program.c_str(), X_OK) != 0) {
      return make_error("program " + spec.target + " is not available in " + o_.bin_dir +
                        " (build it: make build; gnn-trainer needs libtorch)");
    }
    std::error_code ec;
    const auto dir = std::filesystem::path(o_.log_dir) / spec.queue_id;
    std::filesystem::create_directories(dir, ec);
    if (ec)
      return make_error("cannot create the log directory " + dir.string() + ": " + ec.message());
    process::SpawnOptions so;
    so.path = program;
    so.env = spec.env;
    for (const auto& [name, ref] : spec.secrets) so.env[name] = ref.value;
    if (const char* path = std::getenv("PATH")) so.env.emplace("PATH", path);
    so.log_file = (dir / (spec.job_name + ".log")).string();
    auto child = process::Child::spawn(so);
    if (!child) return child.error();
    Launched l{so.log_file, (*child)->pid(), process::Child::start_ticks((*child)->pid())};
    std::lock_guard lock(mu_);
    children_[spec.job_name] = Entry{std::move(child).value(), so.log_file};
    return l;
  }

  std::vector<JobEnd> reap() override {
    enforce();
    std::vector<JobEnd> out;
    std::lock_guard lock(mu_);
    for (auto it = children_.begin(); it != children_.end();) {
      auto st = it->second.child->exit_status();
      if (!st) {
        cap_log(it->second.log);
        ++it;
        continue;
      }
      JobEnd e;
      e.job_name = it->first;
      e.failed = st->signaled || st->code != 0;
      e.detail = st->describe();
      const std::string said = config::redact(last_line(it->second.log));
      if (e.failed && !said.empty()) e.detail += ": " + said;
      out.push_back(std::move(e));
      it = children_.erase(it);
    }
    for (auto it = adopted_.begin(); it != adopted_.end();) {
      if (process::Child::running(it->second.pid, it->second.start)) {
        ++it;
        continue;
      }
      out.push_back({it->first, true,
                     "it ended while not a child of this manager (it was started before the "
                     "manager restarted; its exit code is not known)"});
      killing_.erase(it->first);
      it = adopted_.erase(it);
    }
    return out;
  }

  Status kill(const std::string& job_name) override {
    {
      std::lock_guard lock(mu_);
      auto it = children_.find(job_name);
      auto adopted = adopted_.find(job_name);
      if (it != children_.end()) {
        // Leave it in the map: reap() reports how it ended.
        it->second.child->signal(SIGTERM);
      } else if (adopted != adopted_.end()) {
        signal_adopted(adopted->second, SIGTERM);
      } else {
        return ok_status();
      }
      killing_[job_name] = std::chrono::steady_clock::now() + o_.kill_grace;
    }
    return ok_status();
  }

  std::optional<bool> alive(const std::string& job_name, int64_t pid, int64_t pid_start) override {
    if (pid <= 0) return std::nullopt;
    // The pid may have gone to another process since the job ended (review #19).
    if (!process::Child::running(static_cast<pid_t>(pid), pid_start)) return false;
    std::lock_guard lock(mu_);
    if (!children_.count(job_name)) {
      adopted_[job_name] = Adopted{static_cast<pid_t>(pid), pid_start};
    }
    return true;
  }

  void shutdown(std::chrono::milliseconds grace) override {
    std::lock_guard lock(mu_);
    for (auto& [name, e] : children_) e.child->signal(SIGTERM);
    // Jobs of an earlier run end with this manager too (SIGTERM, then SIGKILL past the grace).
    for (auto& [name, a] : adopted_) signal_adopted(a, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + grace;
    for (auto& [name, e] : children_) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      e.child->terminate(std::max(left, std::chrono::milliseconds(0)));
    }
    children_.clear();  // reaped: no zombie, no orphan
    for (auto& [name, a] : adopted_) {
      while (process::Child::running(a.pid, a.start) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      signal_adopted(a, SIGKILL);
    }
    adopted_.clear();
  }

  // SIGKILL for jobs still running past their grace after kill().
  void enforce() {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    for (auto it = killing_.begin(); it != killing_.end();) {
      auto c = children_.find(it->first);
      auto a = adopted_.find(it->first);
      if (c == children_.end() && a == adopted_.end()) {
        it = killing_.erase(it);
      } else if (now >= it->second) {
        if (c != children_.end()) {
          c->second.child->signal(SIGKILL);
        } else {
          signal_adopted(a->second, SIGKILL);
        }
        it = killing_.erase(it);
      } else {
        ++it;
      }
    }
  }

 private:
  // A job of the manager's earlier run, found running at restart.
  struct Adopted {
    pid_t pid;
    int64_t start;
  };
  // To its process group (each job leads its own), only while that process is still the job's.
  static void signal_adopted(const Adopted& a, int sig) {
    if (process::Child::running(a.pid, a.start)) ::kill(-a.pid, sig);
  }
  struct Entry {
    std::unique_ptr<process::Child> child;
    std::string log;
  };
  LocalLauncherOptions o_;
  std::mutex mu_;
  std::map<std::string, Entry> children_;
  std::map<std::string, std::chrono::steady_clock::time_point> killing_;
  std::map<std::string, Adopted> adopted_;
};

}  // namespace

std::unique_ptr<Launcher> make_local_launcher(LocalLauncherOptions options) {
  return std::make_unique<LocalLauncher>(std::move(options));
}

}  // namespace sf::manager
