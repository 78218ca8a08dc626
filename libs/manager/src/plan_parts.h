// The parts of plan_request (plan.cpp, the driver): one validator per target (plan_targets.cpp)
// and the naming helpers they share (naming.cpp).
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sf/manager/plan.h"

namespace sf::manager::planning {

// The field errors of a request, and its fields read with them.
class Fields {
 public:
  explicit Fields(std::vector<FieldError>& errors) : errors_(errors) {}
  void fail(std::string field, std::string problem, std::string expected) {
    errors_.push_back({std::move(field), std::move(problem), std::move(expected)});
  }
  // A string field; nothing (and an error when `required` or not a string) otherwise.
  std::optional<std::string> string(const boost::json::object& obj, const std::string& field,
                                    const std::string& path, bool required,
                                    const std::string& expected);

 private:
  std::vector<FieldError>& errors_;
};

// One entry of `requests` (or the QueueCreate form's own fields).
struct Request {
  const boost::json::object& obj;
  std::string at;  // "requests[2]." ("" for the QueueCreate form)
  std::string type;
  std::optional<std::string> interval;
};

// The request's time range, as given and as parsed.
struct Range {
  const std::optional<std::string>& text;
  const std::optional<records::TimeRange>& range;
  int64_t now_ms;
};

// Each fills `job` from one request of its target; false (with its errors recorded) when the
// request is invalid.
bool data_job(Fields& f, const Request& r, const Range& range, JobPlan& job);  // loaders, sinks
bool graph_builder_job(Fields& f, const Request& r, JobPlan& job);
bool trainer_job(Fields& f, const Request& r, JobPlan& job);
bool visualizer_job(Fields& f, const Request& r, JobPlan& job);

extern const std::string kLoaderTypes;
// "ws_candles_1M" -> "ws-candles-1m": lower case, '-' for anything else, no '-' at the ends.
std::string lower_dns(std::string s);

}  // namespace sf::manager::planning
