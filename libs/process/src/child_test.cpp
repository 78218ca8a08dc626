#include "sf/process/child.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace sf::process {
namespace {

std::string read_file(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Child, RunsWithExactEnvAndLogsToAFile) {
  const std::string log =
      std::filesystem::temp_directory_path() / ("sf-child-" + std::to_string(getpid()) + ".log");
  std::filesystem::remove(log);
  SpawnOptions o;
  o.path = "/bin/sh";
  o.args = {"-c", "echo out=$FOO; echo err >&2; echo home=${HOME:-none}; exit 3"};
  o.env = {{"FOO", "bar"}};
  o.log_file = log;
  auto c = Child::spawn(o).value();
  auto st = c->wait(std::chrono::seconds(10));
  ASSERT_TRUE(st.has_value());
  EXPECT_FALSE(st->signaled);
  EXPECT_EQ(st->code, 3);
  EXPECT_EQ(st->describe(), "exit code 3");
  EXPECT_EQ(read_file(log), "out=bar\nerr\nhome=none\n");
}

TEST(Child, InheritsNoDescriptorOfTheParentBeyondItsStdio) {
  // A descriptor opened without close-on-exec (as Asio opens its sockets): the child lists its
  // own /proc/self/fd, which must hold 0, 1, 2 and the directory it reads, nothing more.
  const int leaky = ::dup2(STDIN_FILENO, 100);
  ASSERT_EQ(leaky, 100);
  const std::string log = std::filesystem::temp_directory_path() /
                          ("sf-child-fds-" + std::to_string(getpid()) + ".log");
  std::filesystem::remove(log);
  SpawnOptions o;
  o.path = "/bin/ls";
  o.args = {"/proc/self/fd"};
  o.log_file = log;
  auto c = Child::spawn(o).value();
  ASSERT_TRUE(c->wait(std::chrono::seconds(10)).has_value());
  ::close(leaky);
  std::istringstream lines(read_file(log));
  std::vector<int> fds;
  for (std::string l; std::getline(lines, l);) fds.push_back(std::stoi(l));
  // 0, 1, 2 and the one ls opened to list the directory.
  EXPECT_EQ(fds.size(), 4u) << read_file(log);
  for (int fd : fds) EXPECT_NE(fd, leaky);
}

TEST(Child, TerminateEscalatesToKillAndReachesGrandchildren) {
  SpawnOptions o;
  o.path = "/bin/sh";
  // Ignores SIGTERM, and starts a grandchild that would outlive it.
  o.args = {"-c", "trap '' TERM; sleep 300 & wait"};
  auto c = Child::spawn(o).value();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const pid_t group = c->pid();
  auto st = c->terminate(std::chrono::milliseconds(300));
  EXPECT_TRUE(st.signaled);
  EXPECT_EQ(st.signal, SIGKILL);
  EXPECT_NE(st.describe().find("SIGKILL"), std::string::npos);
  c.reset();
  // Nothing of the group is left (the sleep got SIGKILL with its group).
  for (int i = 0; i < 100 && ::kill(-group, 0) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_NE(::kill(-group, 0), 0);
}

TEST(Child, MissingProgramIsAClearError) {
  SpawnOptions o;
  o.path = "/no/such/program";
  auto c = Child::spawn(o);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("make build"), std::string::npos);
}

TEST(Child, StillRunningAtDestructionIsKilledAndReaped) {
  SpawnOptions o;
  o.path = "/bin/sleep";
  o.args = {"300"};
  pid_t pid;
  {
    auto c = Child::spawn(o).value();
    pid = c->pid();
    EXPECT_FALSE(c->exit_status().has_value());
  }
  EXPECT_NE(::kill(pid, 0), 0);  // gone, not a zombie (kill(0) succeeds on zombies)
}

}  // namespace
}  // namespace sf::process
