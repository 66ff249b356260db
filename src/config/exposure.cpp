#include "config/exposure.hpp"

namespace tpp::config {
namespace {

// Something on the proxy listener decides who may use it. One condition per
// mechanism: the listener's client certificates (server_tls.client_ca_file)
// join here as one more line.
bool proxy_guarded(const config& c) {
  return !c.clients.allow.empty() || !c.clients.keys_file.empty() ||
         !c.server_tls.client_ca_file.empty();
}

// Something on the health listener decides who may read its detail: an
// allow-list, or client certificates (health_tls.client_ca_file).
bool health_detail_guarded(const config& c) {
  return !c.health_allow.empty() || !c.health_tls.client_ca_file.empty();
}

}  // namespace

bool is_loopback_host(std::string_view host) {
  if (host == "localhost") return true;
  const auto ip = access::parse_ip(host);
  return ip && access::is_loopback(*ip);
}

std::vector<std::string> exposure_warnings(const config& c) {
  std::vector<std::string> out;
  if (!is_loopback_host(c.listen.host) && !proxy_guarded(c)) {
    out.push_back("listen " + c.listen.to_string() +
                  " is reachable from the network and neither clients.allow nor "
                  "clients.keys_file (nor server_tls.client_ca_file) is set: anyone who can "
                  "connect can run any script on "
                  "DolphinDB as user '" +
                  c.credential.username + "' (docs/security.md, \"Deploying safely\")");
  }
  if (c.health_listen && !is_loopback_host(c.health_listen->host) && !health_detail_guarded(c)) {
    out.push_back("health_listen " + c.health_listen->to_string() +
                  " is reachable from the network and neither health_allow nor "
                  "health_tls.client_ca_file is set: anyone who can "
                  "connect can read /health (token slots, client addresses and key names) and "
                  "/metrics (docs/security.md, \"Deploying safely\")");
  }
  return out;
}

}  // namespace tpp::config
