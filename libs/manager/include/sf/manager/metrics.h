// A small Prometheus registry (counters, gauges, histograms with labels) and its text exposition
// format (version 0.0.4). Debian's archive has no prometheus-cpp package for this release, and
// the format is a page long. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace sf::manager {

using Labels = std::map<std::string, std::string>;

class Metrics {
 public:
  void describe(const std::string& name, const std::string& type, const std::string& help);
  void inc(const std::string& name, const Labels& labels = {}, double by = 1);
  void set(const std::string& name, const Labels& labels, double value);
  // Buckets of `name` are declared by describe_histogram.
  void describe_histogram(const std::string& name, const std::string& help,
                          std::vector<double> buckets);
  void observe(const std::string& name, const Labels& labels, double value);
  // Gauges of one name replaced at once (e.g. queues by status).
  void reset(const std::string& name);
  std::string text() const;
  double value(const std::string& name, const Labels& labels = {}) const;

 private:
  struct Family {
    std::string type, help;
    std::map<Labels, double> values;
    std::vector<double> buckets;
    std::map<Labels, std::vector<uint64_t>> counts;  // per bucket, then +Inf
    std::map<Labels, double> sums;
  };
  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
};

}  // namespace sf::manager
