#include "admin/prometheus_text.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <variant>

namespace tpp::admin {

namespace {

void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    // Shortest round-trip form; fixed notation in the usual range so that
    // bucket bounds read "0.0001" as other exporters write them, not "1e-04".
    const double a = std::fabs(v);
    const auto fmt =
        a == 0 || (a >= 1e-6 && a < 1e15) ? std::chars_format::fixed : std::chars_format::general;
    std::array<char, 64> buf{};
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v, fmt);
    out.append(buf.data(), r.ptr);
  }
}

void append_number(std::string& out, std::uint64_t v) {
  std::array<char, 24> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), r.ptr);
}

void append_escaped(std::string& out, std::string_view v, bool quotes) {
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '"':
        if (quotes) {
          out += "\\\"";
          break;
        }
        [[fallthrough]];
      default:
        out += c;
    }
  }
}

const char* type_name(metrics::metric_type t) {
  switch (t) {
    case metrics::metric_type::counter:
      return "counter";
    case metrics::metric_type::histogram:
      return "histogram";
    case metrics::metric_type::gauge:
      break;
  }
  return "gauge";
}

// `{a="x",b="y"}`, with `le` appended last when given; nothing for no labels.
void append_labels(std::string& out, const metrics::label_set& labels, std::string_view le = {}) {
  if (labels.empty() && le.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out += ',';
    first = false;
    out.append(name).append("=\"");
    append_escaped(out, value, true);
    out += '"';
  }
  if (!le.empty()) {
    if (!first) out += ',';
    out.append("le=\"").append(le).append("\"");
  }
  out += '}';
}

template <class Value>
void write_sample(std::string& out, std::string_view name, std::string_view suffix,
                  const metrics::label_set& labels, Value v, std::string_view le = {}) {
  out.append(name).append(suffix);
  append_labels(out, labels, le);
  out += ' ';
  append_number(out, v);
  out += '\n';
}

void histogram(std::string& out, const std::string& name, const metrics::histogram_point& h) {
  std::uint64_t cumulative = 0;
  std::string le;
  for (std::size_t i = 0; i < h.bounds.size(); ++i) {
    cumulative += i < h.counts.size() ? h.counts[i] : 0;
    le.clear();
    append_number(le, h.bounds[i]);
    write_sample(out, name, "_bucket", h.labels, cumulative, le);
  }
  // +Inf and _count from the buckets themselves, so that they always agree
  // and never fall below a finite bucket.
  for (std::size_t i = h.bounds.size(); i < h.counts.size(); ++i) cumulative += h.counts[i];
  write_sample(out, name, "_bucket", h.labels, cumulative, "+Inf");
  write_sample(out, name, "_sum", h.labels, h.sum);
  write_sample(out, name, "_count", h.labels, cumulative);
}

}  // namespace

std::string render_prometheus(const metrics::snapshot& snap) {
  std::string out;
  out.reserve(16 * 1024);
  for (const auto& f : snap.families) {
    out.append("# HELP ").append(f.name).append(" ");
    append_escaped(out, f.help, false);
    out.append("\n# TYPE ").append(f.name).append(" ").append(type_name(f.type)).append("\n");
    for (const auto& p : f.numbers) {
      std::visit([&](auto v) { write_sample(out, f.name, {}, p.labels, v); }, p.value);
    }
    for (const auto& h : f.histograms) histogram(out, f.name, h);
  }
  return out;
}

}  // namespace tpp::admin
