#include "telemetry/otlp/prometheus_text.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>

namespace tpp::telemetry::otlp::detail {
namespace {

enum class raw_type { counter, gauge, histogram, summary, untyped };

struct raw_family {
  std::string name;
  std::string help;
  raw_type type = raw_type::untyped;
  bool typed = false;
  std::vector<number_point> numbers;
  // Histogram series keyed by their labels without `le`, in order of appearance.
  struct series {
    label_set labels;
    std::vector<std::pair<double, double>> buckets;  // (le, cumulative count)
    double sum = 0;
    std::optional<double> count;
  };
  std::vector<series> hist;
};

bool name_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         (!first && c >= '0' && c <= '9');
}

std::string_view take_name(std::string_view& s) {
  std::size_t i = 0;
  while (i < s.size() && name_char(s[i], i == 0)) ++i;
  auto n = s.substr(0, i);
  s.remove_prefix(i);
  return n;
}

void skip_space(std::string_view& s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
}

std::optional<double> parse_value(std::string_view v) {
  if (v == "+Inf" || v == "Inf") return std::numeric_limits<double>::infinity();
  if (v == "-Inf") return -std::numeric_limits<double>::infinity();
  if (v == "NaN") return std::numeric_limits<double>::quiet_NaN();
  std::string tmp(v);
  char* end = nullptr;
  double d = std::strtod(tmp.c_str(), &end);
  if (tmp.empty() || end != tmp.c_str() + tmp.size()) return std::nullopt;
  return d;
}

// `{a="x",b="y"}` with \\, \" and \n escapes; s starts at '{'.
std::optional<label_set> parse_labels(std::string_view& s) {
  label_set out;
  s.remove_prefix(1);
  for (;;) {
    skip_space(s);
    if (s.empty()) return std::nullopt;
    if (s.front() == '}') {
      s.remove_prefix(1);
      return out;
    }
    auto name = take_name(s);
    skip_space(s);
    if (name.empty() || s.empty() || s.front() != '=') return std::nullopt;
    s.remove_prefix(1);
    skip_space(s);
    if (s.empty() || s.front() != '"') return std::nullopt;
    s.remove_prefix(1);
    std::string value;
    for (;;) {
      if (s.empty()) return std::nullopt;
      char c = s.front();
      s.remove_prefix(1);
      if (c == '"') break;
      if (c == '\\' && !s.empty()) {
        char e = s.front();
        s.remove_prefix(1);
        value.push_back(e == 'n' ? '\n' : e);
      } else {
        value.push_back(c);
      }
    }
    out.emplace_back(std::string(name), std::move(value));
    skip_space(s);
    if (!s.empty() && s.front() == ',') s.remove_prefix(1);
  }
}

std::string unescape_help(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      ++i;
      out.push_back(s[i] == 'n' ? '\n' : s[i]);
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string unit_for(std::string_view name) {
  if (ends_with(name, "_total")) name.remove_suffix(6);
  if (ends_with(name, "_seconds")) return "s";
  if (ends_with(name, "_bytes")) return "By";
  return "";
}

class builder {
 public:
  raw_family& get(std::string_view name) {
    auto it = index_.find(std::string(name));
    if (it != index_.end()) return families_[it->second];
    index_.emplace(std::string(name), families_.size());
    families_.push_back(raw_family{std::string(name), {}, raw_type::untyped, false, {}, {}});
    return families_.back();
  }
  raw_family* find(std::string_view name) {
    auto it = index_.find(std::string(name));
    return it == index_.end() ? nullptr : &families_[it->second];
  }
  std::vector<raw_family>& families() { return families_; }

 private:
  std::map<std::string, std::size_t> index_;
  std::vector<raw_family> families_;
};

raw_family::series& series_for(raw_family& f, const label_set& labels) {
  for (auto& s : f.hist)
    if (s.labels == labels) return s;
  f.hist.push_back(raw_family::series{labels, {}, 0, std::nullopt});
  return f.hist.back();
}

bool add_sample(builder& b, std::string_view line) {
  auto name = take_name(line);
  if (name.empty()) return false;
  label_set labels;
  if (!line.empty() && line.front() == '{') {
    auto l = parse_labels(line);
    if (!l) return false;
    labels = std::move(*l);
  }
  skip_space(line);
  auto value_end = line.find_first_of(" \t");
  auto value = parse_value(line.substr(0, value_end));  // a timestamp may follow
  if (!value) return false;

  // Histogram parts name their family through a suffix.
  for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
    if (!ends_with(name, suffix)) continue;
    raw_family* f = b.find(name.substr(0, name.size() - suffix.size()));
    if (f && f->type == raw_type::summary) return false;  // summaries are not converted
    if (!f || f->type != raw_type::histogram) continue;
    if (suffix == "_bucket") {
      auto le_it = std::find_if(labels.begin(), labels.end(),
                                [](const auto& kv) { return kv.first == "le"; });
      if (le_it == labels.end()) return false;
      auto le = parse_value(le_it->second);
      if (!le) return false;
      labels.erase(le_it);
      series_for(*f, labels).buckets.emplace_back(*le, *value);
    } else if (suffix == "_sum") {
      series_for(*f, labels).sum = *value;
    } else {
      series_for(*f, labels).count = *value;
    }
    return true;
  }
  raw_family* f = b.find(name);
  if (!f && ends_with(name, "_total")) f = b.find(name.substr(0, name.size() - 6));
  if (!f) f = &b.get(name);
  if (f->type == raw_type::summary || f->type == raw_type::histogram) return false;
  f->numbers.push_back(number_point{std::move(labels), *value});
  return true;
}

std::uint64_t to_count(double v) {
  if (!(v > 0)) return 0;
  if (v >= 1.8e19) return std::numeric_limits<std::uint64_t>::max();
  return static_cast<std::uint64_t>(std::llround(v));
}

histogram_point finish(raw_family::series& s) {
  histogram_point p;
  p.labels = std::move(s.labels);
  std::sort(s.buckets.begin(), s.buckets.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  double prev = 0;
  double inf_count = -1;
  for (auto& [le, cumulative] : s.buckets) {
    if (std::isinf(le)) {
      inf_count = cumulative;
      continue;
    }
    p.bounds.push_back(le);
    p.counts.push_back(to_count(cumulative - prev));
    prev = std::max(prev, cumulative);
  }
  double total = s.count ? *s.count : (inf_count >= 0 ? inf_count : prev);
  p.counts.push_back(to_count(total - prev));
  p.count = to_count(total);
  p.sum = s.sum;
  return p;
}

}  // namespace

std::vector<family> parse_prometheus_text(std::string_view text, std::size_t* skipped) {
  builder b;
  std::size_t bad = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    skip_space(line);
    if (line.empty()) continue;
    if (line.front() == '#') {
      line.remove_prefix(1);
      skip_space(line);
      bool help = line.substr(0, 4) == "HELP";
      bool type = line.substr(0, 4) == "TYPE";
      if (!help && !type) continue;  // a comment
      line.remove_prefix(4);
      skip_space(line);
      auto name = take_name(line);
      if (name.empty()) {
        ++bad;
        continue;
      }
      skip_space(line);
      auto& f = b.get(name);
      if (help) {
        f.help = unescape_help(line);
      } else {
        f.typed = true;
        if (line.substr(0, 7) == "counter")
          f.type = raw_type::counter;
        else if (line.substr(0, 5) == "gauge")
          f.type = raw_type::gauge;
        else if (line.substr(0, 9) == "histogram")
          f.type = raw_type::histogram;
        else if (line.substr(0, 7) == "summary")
          f.type = raw_type::summary;
        else
          f.type = raw_type::untyped;
      }
      continue;
    }
    if (!add_sample(b, line)) ++bad;
  }
  if (skipped) *skipped = bad;

  std::vector<family> out;
  for (auto& rf : b.families()) {
    family f;
    f.name = rf.name;
    f.help = rf.help;
    f.unit = unit_for(rf.name);
    switch (rf.type) {
      case raw_type::summary:
        continue;
      case raw_type::histogram:
        if (rf.hist.empty()) continue;
        f.type = family_type::histogram;
        for (auto& s : rf.hist) f.histograms.push_back(finish(s));
        break;
      case raw_type::counter:
        if (rf.numbers.empty()) continue;
        f.type = family_type::counter;
        f.numbers = std::move(rf.numbers);
        break;
      case raw_type::gauge:
      case raw_type::untyped:
        if (rf.numbers.empty()) continue;
        f.type = family_type::gauge;
        f.numbers = std::move(rf.numbers);
        break;
    }
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace tpp::telemetry::otlp::detail
