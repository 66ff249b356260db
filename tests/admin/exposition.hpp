#pragma once

// A small line-level validator for the Prometheus text exposition format
// 0.0.4, strict enough to catch what scrapers reject: malformed sample lines,
// families without HELP/TYPE, split families, histograms whose buckets are
// not cumulative or lack +Inf, or whose _count differs from the +Inf bucket.

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tpp::admin::test {

struct exposition {
  std::vector<std::string> errors;
  // "name{labels}" exactly as written (no braces without labels) -> value.
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;  // family -> type
};

namespace detail {

inline bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
inline bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

inline bool valid_name(std::string_view n) {
  if (n.empty() || !is_name_start(n[0])) return false;
  for (char c : n) {
    if (!is_name_char(c)) return false;
  }
  return true;
}

inline std::optional<double> parse_value(std::string_view v) {
  if (v == "+Inf" || v == "Inf") return HUGE_VAL;
  if (v == "-Inf") return -HUGE_VAL;
  if (v == "NaN") return std::nan("");
  if (v.empty()) return std::nullopt;
  double d = 0;
  const auto r = std::from_chars(v.data(), v.data() + v.size(), d);
  if (r.ec != std::errc() || r.ptr != v.data() + v.size()) return std::nullopt;
  return d;
}

// Parses `{k="v",...}` at s[pos]; fills labels (in order) and advances pos.
inline bool parse_labels(std::string_view s, std::size_t& pos,
                         std::vector<std::pair<std::string, std::string>>& labels) {
  if (pos >= s.size() || s[pos] != '{') return true;
  ++pos;
  while (pos < s.size() && s[pos] != '}') {
    std::size_t start = pos;
    while (pos < s.size() && is_name_char(s[pos])) ++pos;
    std::string key(s.substr(start, pos - start));
    if (!valid_name(key) || pos + 1 >= s.size() || s[pos] != '=' || s[pos + 1] != '"') return false;
    pos += 2;
    std::string value;
    for (;;) {
      if (pos >= s.size()) return false;
      char c = s[pos++];
      if (c == '"') break;
      if (c == '\\') {
        if (pos >= s.size()) return false;
        char e = s[pos++];
        if (e == 'n') {
          value += '\n';
        } else if (e == '\\' || e == '"') {
          value += e;
        } else {
          return false;
        }
      } else if (c == '\n') {
        return false;
      } else {
        value += c;
      }
    }
    labels.emplace_back(std::move(key), std::move(value));
    if (pos < s.size() && s[pos] == ',') ++pos;
  }
  if (pos >= s.size()) return false;
  ++pos;  // '}'
  return true;
}

}  // namespace detail

inline exposition parse_exposition(std::string_view text) {
  using namespace detail;
  exposition ex;
  auto err = [&](std::size_t line_no, const std::string& what) {
    ex.errors.push_back("line " + std::to_string(line_no) + ": " + what);
  };
  if (!text.empty() && text.back() != '\n') ex.errors.push_back("text does not end in a newline");

  std::set<std::string> helped, finished;
  std::string current;  // family of the previous line
  struct hist_series {
    std::vector<std::pair<double, double>> buckets;  // (le, cumulative count)
    std::optional<double> count, sum;
  };
  std::map<std::string, hist_series> hists;  // family + labels without le

  std::size_t line_no = 0;
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(begin, end - begin);
    begin = end + 1;
    ++line_no;
    if (line.empty()) continue;

    auto switch_family = [&](const std::string& fam) {
      if (fam == current) return;
      if (finished.count(fam) != 0) err(line_no, "family " + fam + " split in two");
      if (!current.empty()) finished.insert(current);
      current = fam;
    };

    if (line[0] == '#') {
      std::string_view rest = line.substr(1);
      if (rest.rfind(" HELP ", 0) == 0 || rest.rfind(" TYPE ", 0) == 0) {
        const bool is_help = rest[1] == 'H';
        rest.remove_prefix(6);
        const auto sp = rest.find(' ');
        const std::string name(rest.substr(0, sp));
        if (!valid_name(name)) err(line_no, "bad metric name in comment: " + name);
        switch_family(name);
        if (is_help) {
          if (!helped.insert(name).second) err(line_no, "second HELP for " + name);
          if (sp == std::string_view::npos) err(line_no, "HELP without text for " + name);
        } else {
          const std::string type(sp == std::string_view::npos ? "" : rest.substr(sp + 1));
          if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" &&
              type != "untyped") {
            err(line_no, "bad TYPE " + type);
          }
          if (!ex.types.emplace(name, type).second) err(line_no, "second TYPE for " + name);
        }
      }
      continue;
    }

    std::size_t pos = 0;
    while (pos < line.size() && is_name_char(line[pos])) ++pos;
    const std::string name(line.substr(0, pos));
    if (!valid_name(name)) {
      err(line_no, "bad sample name in: " + std::string(line));
      continue;
    }
    std::vector<std::pair<std::string, std::string>> labels;
    const std::size_t label_start = pos;
    if (!parse_labels(line, pos, labels)) {
      err(line_no, "bad labels in: " + std::string(line));
      continue;
    }
    const std::string label_text(line.substr(label_start, pos - label_start));
    if (pos >= line.size() || line[pos] != ' ') {
      err(line_no, "no space before value in: " + std::string(line));
      continue;
    }
    std::string_view value_text = line.substr(pos + 1);
    if (const auto sp = value_text.find(' '); sp != std::string_view::npos) {
      value_text = value_text.substr(0, sp);  // optional timestamp follows
    }
    const auto value = parse_value(value_text);
    if (!value) {
      err(line_no, "bad value in: " + std::string(line));
      continue;
    }
    ex.samples[name + label_text] = *value;

    // Which family does this sample belong to?
    std::string family = name;
    std::string suffix;
    if (ex.types.count(name) == 0) {
      for (const char* s : {"_bucket", "_sum", "_count"}) {
        const std::string_view sv(s);
        if (name.size() > sv.size() && name.compare(name.size() - sv.size(), sv.size(), sv) == 0) {
          family = name.substr(0, name.size() - sv.size());
          suffix = s;
          break;
        }
      }
    }
    const auto type = ex.types.find(family);
    if (type == ex.types.end()) {
      err(line_no, "sample " + name + " has no TYPE");
      continue;
    }
    if (helped.count(family) == 0) err(line_no, "sample " + name + " has no HELP");
    switch_family(family);
    if (type->second == "counter" &&
        (family.size() < 6 || family.compare(family.size() - 6, 6, "_total") != 0)) {
      err(line_no, "counter " + family + " does not end in _total");
    }
    if (type->second == "counter" && *value < 0) err(line_no, "negative counter " + name);

    if (type->second == "histogram") {
      if (suffix.empty()) {
        err(line_no, "histogram sample without _bucket/_sum/_count: " + name);
        continue;
      }
      std::string key = family + "{";
      std::optional<double> le;
      for (const auto& [k, v] : labels) {
        if (k == "le") {
          le = parse_value(v);
        } else {
          key += k + "=" + v + ",";
        }
      }
      auto& h = hists[key];
      if (suffix == "_bucket") {
        if (!le) {
          err(line_no, "bucket without a valid le: " + std::string(line));
        } else {
          h.buckets.emplace_back(*le, *value);
        }
      } else if (suffix == "_count") {
        h.count = *value;
      } else {
        h.sum = *value;
      }
    }
  }

  for (const auto& f : ex.types) {
    if (helped.count(f.first) == 0) ex.errors.push_back("family " + f.first + " has no HELP");
  }
  for (const auto& [key, h] : hists) {
    if (h.buckets.empty()) {
      ex.errors.push_back(key + ": no buckets");
      continue;
    }
    for (std::size_t i = 1; i < h.buckets.size(); ++i) {
      if (!(h.buckets[i].first > h.buckets[i - 1].first)) {
        ex.errors.push_back(key + ": le not increasing");
      }
      if (h.buckets[i].second < h.buckets[i - 1].second) {
        ex.errors.push_back(key + ": buckets not cumulative");
      }
    }
    if (!std::isinf(h.buckets.back().first)) ex.errors.push_back(key + ": no +Inf bucket");
    if (!h.count) ex.errors.push_back(key + ": no _count");
    if (!h.sum) ex.errors.push_back(key + ": no _sum");
    if (h.count && *h.count != h.buckets.back().second) {
      ex.errors.push_back(key + ": _count differs from the +Inf bucket");
    }
  }
  return ex;
}

}  // namespace tpp::admin::test
