#include "sf/manager/metrics.h"

#include <cmath>
#include <cstdio>

namespace sf::manager {
namespace {

std::string escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string labels_text(const Labels& l, const std::string& extra = "") {
  if (l.empty() && extra.empty()) return "";
  std::string out = "{";
  for (const auto& [k, v] : l) {
    if (out.size() > 1) out += ",";
    out += k + "=\"" + escape(v) + "\"";
  }
  if (!extra.empty()) out += (out.size() > 1 ? "," : "") + extra;
  return out + "}";
}

std::string num(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

void Metrics::describe(const std::string& name, const std::string& type, const std::string& help) {
  std::lock_guard lock(mu_);
  auto& f = families_[name];
  f.type = type;
  f.help = help;
}

void Metrics::describe_histogram(const std::string& name, const std::string& help,
                                 std::vector<double> buckets) {
  std::lock_guard lock(mu_);
  auto& f = families_[name];
  f.type = "histogram";
  f.help = help;
  f.buckets = std::move(buckets);
}

void Metrics::inc(const std::string& name, const Labels& labels, double by) {
  std::lock_guard lock(mu_);
  families_[name].values[labels] += by;
}

void Metrics::set(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lock(mu_);
  families_[name].values[labels] = value;
}

void Metrics::reset(const std::string& name) {
  std::lock_guard lock(mu_);
  families_[name].values.clear();
}

void Metrics::observe(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lock(mu_);
  auto& f = families_[name];
  auto& c = f.counts[labels];
  if (c.empty()) c.assign(f.buckets.size() + 1, 0);
  for (size_t i = 0; i < f.buckets.size(); ++i) {
    if (value <= f.buckets[i]) ++c[i];
  }
  ++c.back();
  f.sums[labels] += value;
}

double Metrics::value(const std::string& name, const Labels& labels) const {
  std::lock_guard lock(mu_);
  auto f = families_.find(name);
  if (f == families_.end()) return 0;
  auto v = f->second.values.find(labels);
  return v == f->second.values.end() ? 0 : v->second;
}

std::string Metrics::text() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + f.type + "\n";
    if (f.type == "histogram") {
      for (const auto& [labels, counts] : f.counts) {
        for (size_t i = 0; i < f.buckets.size(); ++i) {
          out += name + "_bucket" + labels_text(labels, "le=\"" + num(f.buckets[i]) + "\"") + " " +
                 std::to_string(counts[i]) + "\n";
        }
        out += name + "_bucket" + labels_text(labels, "le=\"+Inf\"") + " " +
               std::to_string(counts.back()) + "\n";
        out += name + "_sum" + labels_text(labels) + " " + num(f.sums.at(labels)) + "\n";
        out += name + "_count" + labels_text(labels) + " " + std::to_string(counts.back()) + "\n";
      }
      continue;
    }
    for (const auto& [labels, v] : f.values)
      out += name + labels_text(labels) + " " + num(v) + "\n";
  }
  return out;
}

}  // namespace sf::manager
