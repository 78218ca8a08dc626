#include "sf/kafka/mock_cluster.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

// clang-format off
#include "rdkafka_util.h"  // rdkafka.h must come before rdkafka_mock.h
#include <librdkafka/rdkafka_mock.h>
// clang-format on

namespace sf::kafka {

struct MockCluster::Impl {
  detail::KafkaHandle rk;  // the handle librdkafka's mock cluster needs for its bookkeeping
  rd_kafka_mock_cluster_t* cluster = nullptr;
};

MockCluster::MockCluster(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

namespace {

// A real broker sets TCP_NODELAY on its connections; librdkafka's mock does not, so a small
// response waits for the client's delayed ACK (40 ms) whenever one is unacknowledged, which a
// latency benchmark then measures. Linux gives accepted sockets their listener's TCP_NODELAY:
// set it on the mock brokers' listening sockets (in this process) found by their ports.
void no_delay_on_listeners(const std::string& bootstraps) {
  std::set<int> ports;
  for (size_t at = 0; (at = bootstraps.find(':', at)) != std::string::npos; ++at) {
    ports.insert(std::atoi(bootstraps.c_str() + at + 1));
  }
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    const int fd = std::atoi(e.path().filename().c_str());
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
    sockaddr_in a{};
    socklen_t alen = sizeof a;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &alen) != 0 || a.sin_family != AF_INET)
      continue;
    if (!ports.count(ntohs(a.sin_port))) continue;
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
}

}  // namespace

Result<std::unique_ptr<MockCluster>> MockCluster::start(int brokers) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return make_error(std::string("cannot create the mock cluster's handle: ") + err);
  }
  auto impl = std::make_unique<Impl>();
  impl->rk.reset(rk);
  impl->cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (impl->cluster == nullptr) return make_error("rd_kafka_mock_cluster_new failed");
  no_delay_on_listeners(rd_kafka_mock_cluster_bootstraps(impl->cluster));
  return std::unique_ptr<MockCluster>(new MockCluster(std::move(impl)));
}

MockCluster::~MockCluster() {
  if (impl_->cluster) rd_kafka_mock_cluster_destroy(impl_->cluster);
}

std::string MockCluster::bootstrap_servers() const {
  return rd_kafka_mock_cluster_bootstraps(impl_->cluster);
}

Status MockCluster::create_topic(const std::string& name, int partitions) {
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(impl_->cluster, name.c_str(), partitions, 1);
  if (err) return make_error("cannot create topic " + name + ": " + rd_kafka_err2str(err));
  return ok_status();
}

Status MockCluster::set_broker_down(int id) {
  rd_kafka_resp_err_t err = rd_kafka_mock_broker_set_down(impl_->cluster, id);
  if (err) return make_error(std::string("broker_set_down: ") + rd_kafka_err2str(err));
  return ok_status();
}

Status MockCluster::set_broker_up(int id) {
  rd_kafka_resp_err_t err = rd_kafka_mock_broker_set_up(impl_->cluster, id);
  if (err) return make_error(std::string("broker_set_up: ") + rd_kafka_err2str(err));
  no_delay_on_listeners(bootstrap_servers());
  return ok_status();
}

Status MockCluster::set_rtt(int id, int ms) {
  rd_kafka_resp_err_t err = rd_kafka_mock_broker_set_rtt(impl_->cluster, id, ms);
  if (err) return make_error(std::string("broker_set_rtt: ") + rd_kafka_err2str(err));
  return ok_status();
}

Status MockCluster::fail_next_produce_requests(int count, int error) {
  if (count <= 0) return ok_status();
  std::vector<rd_kafka_resp_err_t> errors(static_cast<size_t>(count),
                                          static_cast<rd_kafka_resp_err_t>(error));
  rd_kafka_mock_push_request_errors_array(impl_->cluster, 0 /* Produce */, errors.size(),
                                          errors.data());
  return ok_status();
}

Status MockCluster::fail_next_fetches(int id, int count, int error) {
  for (int i = 0; i < count; ++i) {
    rd_kafka_resp_err_t err = rd_kafka_mock_broker_push_request_error_rtts(
        impl_->cluster, id, 1 /* Fetch */, 1, static_cast<rd_kafka_resp_err_t>(error), 0);
    if (err)
      return make_error(std::string("broker_push_request_error_rtts: ") + rd_kafka_err2str(err));
  }
  return ok_status();
}

Result<size_t> MockCluster::errors_left(int id, int api_key) {
  size_t n = 0;
  rd_kafka_resp_err_t err =
      rd_kafka_mock_broker_error_stack_cnt(impl_->cluster, id, static_cast<int16_t>(api_key), &n);
  if (err) return make_error(std::string("broker_error_stack_cnt: ") + rd_kafka_err2str(err));
  return n;
}

Status MockCluster::set_partition_leader(const std::string& topic, int partition, int broker) {
  rd_kafka_resp_err_t err =
      rd_kafka_mock_partition_set_leader(impl_->cluster, topic.c_str(), partition, broker);
  if (err) return make_error(std::string("partition_set_leader: ") + rd_kafka_err2str(err));
  return ok_status();
}

}  // namespace sf::kafka
