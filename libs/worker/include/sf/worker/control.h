// ControlListener: reads QUEUE_CONTROL_TOPIC from its end on a thread of its own and requests a
// stop on {"command":"stop","queue_id":<ours>}. Commands for other queues and malformed messages
// are ignored (the latter logged).
#pragma once

#include <memory>
#include <string>

#include "sf/config/worker_config.h"
#include "sf/core/result.h"
#include "sf/worker/stop.h"

namespace sf::worker {

// True if `message` is a stop command for `queue_id`.
bool is_stop_command(std::string_view message, std::string_view queue_id);

class ControlListener {
 public:
  // Assigns the control topic at its end before returning, so a stop sent after start() is seen.
  static Result<std::unique_ptr<ControlListener>> start(const config::KafkaSettings& kafka,
                                                        std::string topic, std::string queue_id,
                                                        StopSource& stop);
  ~ControlListener();

  struct Impl;

 private:
  explicit ControlListener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sf::worker
