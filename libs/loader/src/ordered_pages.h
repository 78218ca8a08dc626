// Fetches numbered pages on several threads (one RestClient each, sharing one weight budget) and
// hands them to the publisher strictly in page order, so records reach Kafka in time/id order while
// up to `window` pages are in flight. Private to the loader library.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "sf/binance/rest_client.h"
#include "sf/worker/stop.h"

namespace sf::loader {

template <class Page>
Status fetch_in_order(std::vector<binance::RestClient*> clients, int window,
                      const std::function<Result<Page>(binance::RestClient&, int64_t)>& fetch,
                      const std::function<Result<bool>(Page&)>& publish,  // false: no more pages
                      const worker::StopSource& stop) {
  std::mutex mu;
  std::condition_variable cv;
  int64_t next_to_fetch = 0, next_to_publish = 0;
  bool finished = false;
  std::map<int64_t, Result<Page>> ready;

  std::vector<std::thread> threads;
  for (auto* client : clients) {
    threads.emplace_back([&, client] {
      for (;;) {
        int64_t index;
        {
          std::unique_lock lock(mu);
          cv.wait(lock, [&] { return finished || next_to_fetch < next_to_publish + window; });
          if (finished) return;
          index = next_to_fetch++;
        }
        auto page = fetch(*client, index);
        {
          std::lock_guard lock(mu);
          ready.emplace(index, std::move(page));
        }
        cv.notify_all();
      }
    });
  }
  Status result = ok_status();
  for (;;) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return ready.count(next_to_publish) > 0; });
    auto node = ready.extract(next_to_publish);
    lock.unlock();
    if (!node.mapped()) {
      result = node.mapped().error();
      break;
    }
    auto more = publish(node.mapped().value());
    if (!more) {
      result = more.error();
      break;
    }
    if (!*more || stop.stop_requested()) break;
    lock.lock();
    ++next_to_publish;
    lock.unlock();
    cv.notify_all();
  }
  {
    std::lock_guard lock(mu);
    finished = true;
  }
  cv.notify_all();
  for (auto& t : threads) t.join();
  return result;
}

}  // namespace sf::loader
