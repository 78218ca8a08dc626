#include "sf/manager/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <mutex>

namespace sf::manager {

// One family per name, of one kind; the metrics added to it are kept by labels (prometheus-cpp
// returns the same object for the same labels, and Remove needs it for reset()).
struct Metrics::Impl {
  struct Entry {
    prometheus::Family<prometheus::Counter>* counters = nullptr;
    prometheus::Family<prometheus::Gauge>* gauges = nullptr;
    prometheus::Family<prometheus::Histogram>* histograms = nullptr;
    prometheus::Histogram::BucketBoundaries buckets;
    std::string type, help;
    std::map<Labels, prometheus::Counter*> counter_of;
    std::map<Labels, prometheus::Gauge*> gauge_of;
    std::map<Labels, prometheus::Histogram*> histogram_of;
  };
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  mutable std::mutex mu;
  std::map<std::string, Entry> entries;

  // The family of `name`, registered on first use as a counter or a gauge (a name keeps the
  // kind it was first used as).
  Entry& family(const std::string& name, const std::string& help, bool counter) {
    auto& e = entries[name];
    if (e.counters == nullptr && e.gauges == nullptr && e.histograms == nullptr) {
      if (counter) {
        e.counters = &prometheus::BuildCounter().Name(name).Help(help).Register(*registry);
      } else {
        e.gauges = &prometheus::BuildGauge().Name(name).Help(help).Register(*registry);
      }
      e.type = counter ? "counter" : "gauge";
      e.help = help;
    }
    return e;
  }
  Entry& counter_family(const std::string& name, const std::string& help) {
    return family(name, help, true);
  }
  Entry& gauge_family(const std::string& name, const std::string& help) {
    return family(name, help, false);
  }
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

void Metrics::describe(const std::string& name, const std::string& type, const std::string& help) {
  std::lock_guard lock(impl_->mu);
  if (type == "counter") {
    impl_->counter_family(name, help);
  } else {
    impl_->gauge_family(name, help);
  }
}

void Metrics::describe_histogram(const std::string& name, const std::string& help,
                                 std::vector<double> buckets) {
  std::lock_guard lock(impl_->mu);
  auto& e = impl_->entries[name];
  if (e.histograms == nullptr) {
    e.histograms = &prometheus::BuildHistogram().Name(name).Help(help).Register(*impl_->registry);
    e.type = "histogram";
    e.help = help;
  }
  e.buckets = std::move(buckets);
}

void Metrics::inc(const std::string& name, const Labels& labels, double by) {
  std::lock_guard lock(impl_->mu);
  auto& e = impl_->counter_family(name, name);
  if (e.counters != nullptr) {
    auto& c = e.counter_of[labels];
    if (c == nullptr) c = &e.counters->Add(labels);
    c->Increment(by);
  } else if (e.gauges != nullptr) {
    auto& g = e.gauge_of[labels];
    if (g == nullptr) g = &e.gauges->Add(labels);
    g->Increment(by);
  }
}

void Metrics::set(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lock(impl_->mu);
  auto& e = impl_->gauge_family(name, name);
  if (e.gauges == nullptr) return;  // a counter is never set
  auto& g = e.gauge_of[labels];
  if (g == nullptr) g = &e.gauges->Add(labels);
  g->Set(value);
}

void Metrics::reset(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->entries.find(name);
  if (it == impl_->entries.end() || it->second.gauges == nullptr) return;
  for (auto& [labels, g] : it->second.gauge_of) it->second.gauges->Remove(g);
  it->second.gauge_of.clear();
}

void Metrics::observe(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->entries.find(name);
  if (it == impl_->entries.end() || it->second.histograms == nullptr) return;
  auto& e = it->second;
  auto& h = e.histogram_of[labels];
  if (h == nullptr) h = &e.histograms->Add(labels, e.buckets);
  h->Observe(value);
}

double Metrics::value(const std::string& name, const Labels& labels) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->entries.find(name);
  if (it == impl_->entries.end()) return 0;
  if (auto c = it->second.counter_of.find(labels); c != it->second.counter_of.end()) {
    return c->second->Value();
  }
  if (auto g = it->second.gauge_of.find(labels); g != it->second.gauge_of.end()) {
    return g->second->Value();
  }
  return 0;
}

// prometheus-cpp writes nothing for a family without series; its HELP and TYPE lines are
// added, so that what the manager measures is listed before the first sample (a job that has
// not failed yet) and a dashboard can be checked against it.
std::string Metrics::text() const {
  std::string out = prometheus::TextSerializer().Serialize(impl_->registry->Collect());
  std::lock_guard lock(impl_->mu);
  for (const auto& [name, e] : impl_->entries) {
    if (!e.counter_of.empty() || !e.gauge_of.empty() || !e.histogram_of.empty()) continue;
    out += "# HELP " + name + " " + e.help + "\n# TYPE " + name + " " + e.type + "\n";
  }
  return out;
}

}  // namespace sf::manager
