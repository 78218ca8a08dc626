// The manager's Prometheus metrics (counters, gauges, histograms with labels) on prometheus-cpp's
// registry (prometheus-cpp-dev 1.0.1, Debian 12), exposed in the text format by our own HTTP
// server (prometheus-cpp's civetweb exposer is not used). Names used before they are described
// become counters (inc) or gauges (set). Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sf::manager {

using Labels = std::map<std::string, std::string>;

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

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

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sf::manager
