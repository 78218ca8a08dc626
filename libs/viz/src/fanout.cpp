#include "fanout.h"

#include <boost/json.hpp>
#include <chrono>
#include <functional>

#include "sf/kafka/client.h"
#include "sf/log/log.h"

namespace sf::viz {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;
}  // namespace

struct TopicFanout::Feed {
  std::string topic;
  std::mutex mu;
  std::map<uint64_t, std::shared_ptr<net::WsConnection>> clients;
  std::atomic<bool> stop{false};
  std::thread thread;
};

TopicFanout::~TopicFanout() {
  stop();
}

void TopicFanout::stop() {
  std::map<std::string, std::shared_ptr<Feed>> feeds;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    feeds.swap(feeds_);
  }
  for (auto& [t, f] : feeds) f->stop = true;
  for (auto& [t, f] : feeds) {
    if (f->thread.joinable()) f->thread.join();
  }
}

void TopicFanout::add(const std::string& topic, std::shared_ptr<net::WsConnection> client) {
  std::lock_guard lock(mu_);
  if (stopped_) return;
  auto& feed = feeds_[topic];
  if (!feed || feed->stop) {
    if (feed && feed->thread.joinable()) feed->thread.join();
    feed = std::make_shared<Feed>();
    feed->topic = topic;
    std::lock_guard fl(feed->mu);
    feed->clients[client->id()] = client;
    feed->thread = std::thread([this, f = feed] { run(f); });
  } else {
    std::lock_guard fl(feed->mu);
    feed->clients[client->id()] = client;
  }
  client->send(json::serialize(json::object{{"event", "subscribed"}, {"topic", topic}}));
}

void TopicFanout::remove(uint64_t id) {
  std::lock_guard lock(mu_);
  for (auto& [t, f] : feeds_) {
    std::lock_guard fl(f->mu);
    f->clients.erase(id);
  }
}

void TopicFanout::run(std::shared_ptr<Feed> f) {
  auto& lg = log::get();
  kafka::ConsumerOptions co;
  co.settings = kafka_;
  co.client_id = "visualizer";
  // A browser wants each message now: the broker holds an empty fetch for at most 10 ms (the
  // default 500 ms is the push latency a page would see on a quiet topic).
  co.properties = {{"fetch.wait.max.ms", "10"}, {"fetch.error.backoff.ms", "50"}};
  auto consumer = kafka::Consumer::create(co);
  if (!consumer) {
    lg.warn("topic {}: {}", f->topic, consumer.error().message);
    f->stop = true;
    return;
  }
  // The topic may not exist yet (a loader that has not started): keep trying while clients wait.
  while (!f->stop) {
    if ((*consumer)->assign_from_end(f->topic, 2s)) break;
    std::lock_guard fl(f->mu);
    if (f->clients.empty()) f->stop = true;
  }
  auto idle_since = std::chrono::steady_clock::now();
  while (!f->stop) {
    auto m = (*consumer)->poll(200ms);
    std::vector<std::shared_ptr<net::WsConnection>> to;
    {
      std::lock_guard fl(f->mu);
      for (auto it = f->clients.begin(); it != f->clients.end();) {
        if (!it->second->open()) {
          it = f->clients.erase(it);
        } else {
          to.push_back(it->second);
          ++it;
        }
      }
    }
    if (to.empty()) {
      if (std::chrono::steady_clock::now() - idle_since > 5s) {
        std::lock_guard lock(mu_);
        std::lock_guard fl(f->mu);
        if (f->clients.empty()) f->stop = true;  // the next client starts a new feed
      }
    } else {
      idle_since = std::chrono::steady_clock::now();
    }
    if (!m || !*m) continue;
    json::error_code ec;
    json::value value = json::parse((*m)->value, ec);
    if (ec) value = json::value((*m)->value);
    const std::string text = json::serialize(json::object{{"event", "message"},
                                                          {"topic", (*m)->topic},
                                                          {"partition", (*m)->partition},
                                                          {"offset", (*m)->offset},
                                                          {"key", (*m)->key},
                                                          {"timestamp", (*m)->timestamp_ms},
                                                          {"value", value}});
    for (auto& c : to) c->send(text);
  }
}

SourceFollower::SourceFollower(std::shared_ptr<store::Store> store, std::string collection)
    : store_(std::move(store)), collection_(std::move(collection)), thread_([this] { run(); }) {}

SourceFollower::~SourceFollower() {
  stop();
}

void SourceFollower::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  clients_.clear();
}

void SourceFollower::add(std::shared_ptr<net::WsConnection> c) {
  std::lock_guard lock(mu_);
  clients_[c->id()] = c;
  c->send(json::serialize(json::object{{"event", "subscribed"}, {"source", collection_}}));
}

void SourceFollower::remove(uint64_t id) {
  std::lock_guard lock(mu_);
  clients_.erase(id);
}

void SourceFollower::run() {
  // Documents of the last minute of the collection's time, by key -> hash of their text: a new
  // key or a changed text (a node whose targets filled) is sent.
  std::unordered_map<std::string, size_t> seen;
  int64_t newest = 0;
  bool baseline = true;  // the first read only learns what is there: pages load it by the API
  while (!stop_) {
    std::this_thread::sleep_for(300ms);
    auto docs = store_->range_by_time(collection_, newest > 60'000 ? newest - 60'000 : 0, INT64_MAX,
                                      20'000);
    if (!docs) continue;
    std::vector<std::string> out;
    for (const auto& d : *docs) {
      json::error_code ec;
      auto v = json::parse(d, ec);
      if (ec || !v.is_object()) continue;
      const auto* k = v.as_object().if_contains("_key");
      if (!k || !k->is_string()) continue;
      const size_t h = std::hash<std::string>{}(d);
      auto [it, fresh] = seen.emplace(std::string(k->as_string()), h);
      if (!fresh && it->second == h) continue;
      it->second = h;
      if (const auto* t = v.as_object().if_contains("open_time"); t && t->is_int64()) {
        newest = std::max(newest, t->as_int64());
      }
      out.push_back(json::serialize(
          json::object{{"event", "document"}, {"collection", collection_}, {"doc", v}}));
    }
    if (seen.size() > 200'000) seen.clear();  // bounded; a resend after this is harmless
    if (baseline) {
      baseline = false;
      continue;
    }
    if (out.empty()) continue;
    std::lock_guard lock(mu_);
    for (auto& [id, c] : clients_) {
      for (const auto& m : out) c->send(m);
    }
  }
}

}  // namespace sf::viz
