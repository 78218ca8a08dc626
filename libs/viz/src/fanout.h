// Live feeds for the visualizer's WebSockets.
//
// TopicFanout: one Kafka consumer per topic (from the topic's end when its first client comes),
// each message sent to every client of the topic; a feed with no client left stops. Clients are
// WsConnections with bounded queues (the server drops a slow client's oldest messages), so a
// stalled browser holds up nobody.
// SourceFollower: polls one collection and sends every new or changed document to its clients.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "sf/config/worker_config.h"
#include "sf/net/http_server.h"
#include "sf/store/store.h"

namespace sf::viz {

class TopicFanout {
 public:
  explicit TopicFanout(config::KafkaSettings kafka) : kafka_(std::move(kafka)) {}
  ~TopicFanout();
  // Stops every feed and joins its thread (no send after it returns); add() does nothing then.
  void stop();
  void add(const std::string& topic, std::shared_ptr<net::WsConnection> client);
  void remove(uint64_t client_id);

 private:
  struct Feed;
  void run(std::shared_ptr<Feed> feed);

  config::KafkaSettings kafka_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Feed>> feeds_;
  bool stopped_ = false;
};

class SourceFollower {
 public:
  SourceFollower(std::shared_ptr<store::Store> store, std::string collection);
  ~SourceFollower();
  void stop();  // joins the polling thread: no send after it returns
  void add(std::shared_ptr<net::WsConnection> client);
  void remove(uint64_t client_id);

 private:
  void run();

  std::shared_ptr<store::Store> store_;
  std::string collection_;
  std::mutex mu_;
  std::map<uint64_t, std::shared_ptr<net::WsConnection>> clients_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace sf::viz
