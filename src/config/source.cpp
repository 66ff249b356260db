#include "config/source.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>

#include "config/error.hpp"
#include "config/parse.hpp"
#include "config/suggest.hpp"

namespace tpp::config {
namespace {

std::string join(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

const char* shape(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
      return "empty";
    default:
      return "a single value";
  }
}

// yaml-cpp keeps both entries of a key written twice in one map, and the
// later would silently win: an error instead, naming both lines.
void reject_duplicate(std::map<std::string, int>& seen, const std::string& path,
                      const YAML::Node& key) {
  const int line = key.Mark().line + 1;
  auto [it, inserted] = seen.emplace(path, line);
  if (!inserted) {
    fail(path, "duplicate key at line " + std::to_string(line) + " (first at line " +
                   std::to_string(it->second) + ")");
  }
}

constexpr std::string_view nodes_key = "upstream.nodes";
constexpr std::string_view node_fields[] = {"address", "weight", "server_name"};

// "unknown key "wieght" (did you mean weight?)" for a map item of upstream.nodes.
std::string unknown_node_field(const std::string& key) {
  std::string out = "unknown key " + quote_value(key);
  for (auto field : node_fields) {
    if (edit_distance(key, field) <= 2) return out + " (did you mean " + std::string(field) + "?)";
  }
  return out + " (expected address, weight or server_name)";
}

// An upstream.nodes item written as a map ({address: "ddb1:8848", weight: 2,
// server_name: ddb1.internal}) as the text parse_nodes() reads (nodes.hpp),
// which checks the values.
std::string node_map_text(const YAML::Node& map, const std::string& where) {
  std::map<std::string, std::string> fields;
  for (const auto& entry : map) {
    if (!entry.first.IsScalar() || !entry.second.IsScalar())
      fail(where, "expected address, weight and server_name as single values");
    const std::string& key = entry.first.Scalar();
    const std::string& value = entry.second.Scalar();
    if (std::find(std::begin(node_fields), std::end(node_fields), key) == std::end(node_fields))
      fail(where, unknown_node_field(key));
    if (value.empty() || value.find_first_of(" \t,") != std::string::npos)
      fail(where,
           key + " must be one word, without blanks or commas (got " + quote_value(value) + ")");
    if (!fields.emplace(key, value).second) fail(where, key + " is written twice");
  }
  if (!fields.contains("address")) fail(where, "address is required");
  std::string out = fields["address"];
  for (auto option : {"weight", "server_name"}) {
    if (fields.contains(option)) out += std::string(" ") + option + "=" + fields[option];
  }
  return out;
}

// A list value ("clients.allow: [a, b]") as the comma-separated text its
// TPP_* variable takes; items must be single values without commas, or, in
// upstream.nodes, maps.
std::string joined_list(const YAML::Node& seq, const std::string& path) {
  const bool nodes = path == nodes_key;
  std::string out;
  std::size_t position = 0;
  for (const auto& item : seq) {
    ++position;
    std::string text;
    if (nodes && item.IsMap()) {
      text = node_map_text(item, path + " item " + std::to_string(position));
    } else if (item.IsScalar() && item.Scalar().find(',') == std::string::npos) {
      text = item.Scalar();
    } else if (nodes) {
      fail(path,
           "expected a list of \"host:port\" items or maps (one node per item; quote items "
           "that start with '[')");
    } else {
      fail(path, "expected a list of single values (one network per item)");
    }
    if (!out.empty()) out += ',';
    out += text;
  }
  return out;
}

void walk(const YAML::Node& map, const std::string& prefix, source& out) {
  std::map<std::string, int> seen;
  for (const auto& entry : map) {
    if (!entry.first.IsScalar())
      fail(prefix.empty() ? "config" : prefix, "keys must be plain names");
    const std::string path = join(prefix, entry.first.Scalar());
    reject_duplicate(seen, path, entry.first);
    const YAML::Node& value = entry.second;
    if (const key_spec* key = find_key(path)) {
      if (value.IsSequence() && takes_list(path)) {
        out.settings.push_back({key, joined_list(value, path), path});
        continue;
      }
      if (value.IsMap() || value.IsSequence()) {
        std::string hint = value.IsSequence() ? " (quote values that start with '[')" : "";
        fail(path, std::string("expected a single value, got ") + shape(value) + hint);
      }
      out.settings.push_back({key, value.IsNull() ? std::string() : value.Scalar(), path});
    } else if (is_section(path)) {
      if (value.IsNull()) continue;
      if (!value.IsMap()) fail(path, std::string("expected a map of keys, got ") + shape(value));
      walk(value, path, out);
    } else {
      out.warnings.push_back(unknown_key_warning(path));
    }
  }
}

}  // namespace

source env_source(const env_lookup& env) {
  source out;
  for (const auto& key : all_keys()) {
    std::string name(key.env);
    if (auto value = env(name)) out.settings.push_back({&key, std::move(*value), name});
  }
  return out;
}

file_content read_file(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (!file) return {{}, errno};
  file_content out;
  errno = 0;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, file.get())) > 0) out.text.append(buf, n);
  // A directory opens but fails to read (EISDIR).
  if (std::ferror(file.get())) out.error = errno != 0 ? errno : EIO;
  return out;
}

source yaml_file_source(const std::string& path) {
  auto file = read_file(path);
  if (file.error != 0)
    fail("config file " + path, std::string("cannot read: ") + std::strerror(file.error));
  return yaml_text_source(file.text, path);
}

source yaml_text_source(const std::string& text, const std::string& file) {
  const std::string label = "config file " + file;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    fail(label, "YAML syntax error at line " + std::to_string(e.mark.line + 1) + ", column " +
                    std::to_string(e.mark.column + 1) + ": " + e.msg);
  } catch (const YAML::Exception& e) {
    fail(label, std::string("not valid YAML: ") + e.what());
  }
  source out;
  if (root.IsNull()) return out;
  if (!root.IsMap()) fail(label, std::string("expected a map of keys, got ") + shape(root));
  walk(root, "", out);
  return out;
}

}  // namespace tpp::config
