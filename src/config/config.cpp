#include "config/config.hpp"

#include <algorithm>

namespace tpp::config {

std::string address::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::string upstream_config::url() const {
  // With upstream.nodes host is empty: the first node (the start-up log
  // lists them all).
  const bool listed = host.empty() && !nodes.empty();
  const address first =
      listed ? address{nodes.front().host, nodes.front().port} : address{host, port};
  return (tls ? "https://" : "http://") + first.to_string();
}

std::size_t token_config::pool_per_node() const {
  return max_sessions_per_node == 0 ? pool_size : std::min(pool_size, max_sessions_per_node);
}

std::string_view to_string(token_binding b) {
  switch (b) {
    case token_binding::connection:
      return "connection";
    case token_binding::request:
      return "request";
    case token_binding::affinity:
      break;
  }
  return "affinity";
}

std::string_view to_string(otlp_protocol p) {
  switch (p) {
    case otlp_protocol::grpc:
      return "grpc";
    case otlp_protocol::http_json:
      return "http/json";
    case otlp_protocol::http_protobuf:
      break;
  }
  return "http/protobuf";
}

}  // namespace tpp::config
