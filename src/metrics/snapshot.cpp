#include "metrics/snapshot.hpp"

namespace tpp::metrics {

double as_double(const number& n) noexcept {
  return std::visit([](auto v) { return static_cast<double>(v); }, n);
}

const number_point* family::find_number(const label_set& labels) const noexcept {
  for (const auto& p : numbers) {
    if (p.labels == labels) return &p;
  }
  return nullptr;
}

const histogram_point* family::find_histogram(const label_set& labels) const noexcept {
  for (const auto& p : histograms) {
    if (p.labels == labels) return &p;
  }
  return nullptr;
}

const family* snapshot::find(std::string_view name) const noexcept {
  for (const auto& f : families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace tpp::metrics
