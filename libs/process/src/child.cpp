#include "sf/process/child.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace sf::process {

std::string ExitStatus::describe() const {
  if (!signaled) return "exit code " + std::to_string(code);
  const char* name = sigabbrev_np(signal);
  return "killed by signal " + std::to_string(signal) +
         (name ? std::string(" (SIG") + name + ")" : "");
}

Result<std::unique_ptr<Child>> Child::spawn(const SpawnOptions& o) {
  std::vector<std::string> env_strings;
  if (o.inherit_env) {
    for (char** e = environ; *e; ++e) {
      const std::string kv(*e);
      const auto eq = kv.find('=');
      if (eq != std::string::npos && o.env.count(kv.substr(0, eq))) continue;
      env_strings.push_back(kv);
    }
  }
  for (const auto& [k, v] : o.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings{o.path};
  argv_strings.insert(argv_strings.end(), o.args.begin(), o.args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  const std::string log = o.log_file.empty() ? "/dev/null" : o.log_file;
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0640);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  // Nothing else of ours reaches the child: not the API's listening socket (a job outliving us
  // would keep the port from the next manager), not client connections, not store sockets, even
  // those opened without close-on-exec by a library.
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Own process group; default signal dispositions and an empty mask (our parent may block
  // SIGTERM/SIGINT for its signal thread, and children would inherit that).
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, o.path.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return make_error("cannot start " + o.path + ": " + std::strerror(rc) +
                      (rc == ENOENT ? ". Hint: build the programs first (make build)" : ""));
  }
  return std::unique_ptr<Child>(new Child(pid));
}

namespace {
ExitStatus decode(int st) {
  ExitStatus s;
  if (WIFSIGNALED(st)) {
    s.signaled = true;
    s.signal = WTERMSIG(st);
  } else {
    s.code = WEXITSTATUS(st);
  }
  return s;
}
}  // namespace

std::optional<ExitStatus> Child::exit_status() {
  if (status_) return status_;
  int st = 0;
  const pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) status_ = decode(st);
  if (r < 0 && errno == ECHILD) status_ = ExitStatus{-1, 0, false};  // reaped elsewhere
  return status_;
}

std::optional<ExitStatus> Child::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto s = exit_status()) return s;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void Child::signal(int sig) {
  if (status_) return;
  if (::kill(-pid_, sig) != 0) ::kill(pid_, sig);
}

ExitStatus Child::terminate(std::chrono::milliseconds grace) {
  if (auto s = exit_status()) return *s;
  signal(SIGTERM);
  if (auto s = wait(grace)) return *s;
  signal(SIGKILL);
  int st = 0;
  waitpid(pid_, &st, 0);
  status_ = decode(st);
  return *status_;
}

Child::~Child() {
  if (!exit_status()) {
    signal(SIGKILL);
    int st = 0;
    waitpid(pid_, &st, 0);
  }
  // Anything the child started and left in its group goes too.
  ::kill(-pid_, SIGKILL);
}

bool Child::running(pid_t pid, int64_t ticks) {
  if (pid <= 0) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return false;
  const size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return false;
  const char state = stat[close + 2];  // field 3
  if (state == 'Z' || state == 'X' || state == 'x') return false;
  return ticks <= 0 || start_ticks(pid) == ticks;
}

int64_t Child::start_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  const size_t close = stat.rfind(')');  // the command name may hold spaces and parentheses
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 22) return std::atoll(field.c_str());
  }
  return 0;
}

}  // namespace sf::process
