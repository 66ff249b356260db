#include "config/nodes.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <map>
#include <optional>

#include "config/parse.hpp"

namespace tpp::config {
namespace {

constexpr std::string_view blanks = " \t";

// The address part of an item, or why it is not one.
struct parsed_address {
  std::string host;
  std::string_view port;  // empty = not given
  std::string error;
};

parsed_address split_address(std::string_view text) {
  parsed_address out;
  if (text.find('/') != std::string_view::npos) return {{}, {}, "is a URL, not host:port"};
  std::string_view host = text;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return {{}, {}, "has no closing ']'"};
    host = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) return {{}, {}, "has text after ']'"};
    if (!rest.empty()) out.port = rest.substr(1);
    if (out.port.empty() && !rest.empty()) return {{}, {}, "has an empty port"};
  } else {
    const auto colon = text.find(':');
    if (colon != std::string_view::npos) {
      if (text.find(':', colon + 1) != std::string_view::npos)
        return {{}, {}, "is an IPv6 address without brackets ([fd00::3]:8848)"};
      host = text.substr(0, colon);
      out.port = text.substr(colon + 1);
      if (out.port.empty()) return {{}, {}, "has an empty port"};
    }
  }
  if (host.empty()) return {{}, {}, "has no host"};
  out.host = std::string(host);
  return out;
}

// "weight=N" or "server_name=NAME" applied to `node`; anything else fails.
void apply_option(std::string_view option, upstream_node& node, const std::string& where) {
  const auto eq = option.find('=');
  const std::string_view key = option.substr(0, eq);
  const std::string_view value =
      eq == std::string_view::npos ? std::string_view{} : option.substr(eq + 1);
  if (eq == std::string_view::npos || value.empty()) {
    fail(where, "expected weight=N or server_name=NAME after the address (got " +
                    quote_value(option) + ")");
  }
  if (key == "weight") {
    const auto weight = parse_uint(value, where + " weight");
    if (weight < 1 || weight > max_node_weight) {
      fail(where, "weight must be 1.." + std::to_string(max_node_weight) + " (got " +
                      quote_value(value) + ")");
    }
    node.weight = static_cast<std::uint32_t>(weight);
  } else if (key == "server_name") {
    node.server_name = std::string(value);
  } else {
    fail(where, "unknown option " + quote_value(key) + " (expected weight or server_name)");
  }
}

upstream_node parse_item(std::string_view item, const std::string& where) {
  const auto end = item.find_first_of(blanks);
  const std::string_view address = item.substr(0, end);
  auto split = split_address(address);
  if (!split.error.empty()) fail(where, quote_value(address) + " " + split.error);
  upstream_node node;
  node.host = std::move(split.host);
  if (!split.port.empty()) node.port = parse_port(split.port, where + " port");
  std::string_view rest = end == std::string_view::npos ? std::string_view{} : item.substr(end);
  while (!(rest = trim_blanks(rest)).empty()) {
    const auto next = rest.find_first_of(blanks);
    apply_option(rest.substr(0, next), node, where);
    rest = next == std::string_view::npos ? std::string_view{} : rest.substr(next);
  }
  return node;
}

std::string label_of(const std::string& host, std::uint16_t port) {
  return address{host, port}.to_string();
}

// Two spellings of one node must not become two pools on it: host names
// compare without case, IPv6 addresses in their canonical form.
std::string identity(const upstream_node& n) {
  std::string host = lower_ascii(n.host);
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    char text[INET6_ADDRSTRLEN] = {};
    if (inet_ntop(AF_INET6, &v6, text, sizeof text) != nullptr) host = text;
  }
  return label_of(host, n.port);
}

}  // namespace

std::vector<upstream_node> parse_nodes(std::string_view text, const std::string& name) {
  std::vector<upstream_node> out;
  for (std::size_t position = 1; !text.empty(); ++position) {
    const auto comma = text.find(',');
    const std::string_view item = trim_blanks(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (item.empty()) continue;
    out.push_back(parse_item(item, name + " item " + std::to_string(position)));
  }
  return out;
}

std::string format_nodes(const std::vector<upstream_node>& nodes) {
  std::string out;
  for (const auto& n : nodes) {
    if (!out.empty()) out += ',';
    if (n.port != 0) {
      out += label_of(n.host, n.port);
    } else {
      out += n.host.find(':') != std::string::npos ? "[" + n.host + "]" : n.host;
    }
    if (n.weight != 1) out += " weight=" + std::to_string(n.weight);
    if (!n.server_name.empty() && n.server_name != n.host) out += " server_name=" + n.server_name;
  }
  return out;
}

void complete_nodes(std::vector<upstream_node>& nodes, std::uint16_t default_port,
                    const std::string& name) {
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    auto& n = nodes[i];
    if (n.port == 0) n.port = default_port;
    if (n.server_name.empty()) n.server_name = n.host;
    n.label = label_of(n.host, n.port);
    auto [it, inserted] = seen.emplace(identity(n), i + 1);
    if (!inserted) {
      fail(name, "item " + std::to_string(i + 1) + " (" + n.label + ") is the same node as item " +
                     std::to_string(it->second));
    }
  }
}

upstream_node single_node(const std::string& host, std::uint16_t port) {
  return {host, port, 1, host, label_of(host, port)};
}

}  // namespace tpp::config
