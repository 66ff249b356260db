#include "config/load.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <stdexcept>

#include "access/key_file.hpp"
#include "config/listen_check.hpp"
#include "config/nodes.hpp"
#include "config/parse.hpp"
#include "config/password_file.hpp"
#include "config/source.hpp"
#include "config/suggest.hpp"
#include "config/tls_files.hpp"

namespace tpp::config {
namespace {

constexpr std::string_view password_key = "credential.password";
constexpr std::string_view password_file_key = "credential.password_file";
constexpr std::string_view host_key = "upstream.host";
constexpr std::string_view nodes_key = "upstream.nodes";

// Settings given one way or the other, never both: the password or its file,
// one upstream host or a list of nodes.
struct alternatives {
  std::string_view first;
  std::string_view second;
};
constexpr alternatives one_way_only[] = {{password_key, password_file_key}, {host_key, nodes_key}};

// The configuration being built, and for each key set so far, the name of
// the setting its value came from: errors found after merging (a missing
// host, min_ready above pool_size) name what the operator actually wrote.
struct draft {
  config cfg;
  std::map<std::string_view, std::string> origin;

  std::string name_of(std::string_view path) const {
    auto it = origin.find(path);
    return it == origin.end() ? std::string(path) : it->second;
  }
  bool has(std::string_view path) const { return origin.contains(path); }
};

// An empty value does not count as giving the password that way, so that
// describe()'s output (which lists both keys) loads back.
const setting* find_non_empty(const source& src, std::string_view path) {
  for (const auto& s : src.settings) {
    if (s.key->path == path && !s.value.empty()) return &s;
  }
  return nullptr;
}

// Within one source a pair of alternatives may be given one way only; a
// source that gives it either way replaces both ways given by an earlier
// source (the environment's TPP_UPSTREAM_NODES replaces the file's host).
void take_one_way(draft& d, const source& src, const alternatives& pair) {
  const setting* first = find_non_empty(src, pair.first);
  const setting* second = find_non_empty(src, pair.second);
  if (first && second) {
    fail(first->name, "set either " + first->name + " or " + second->name + ", not both");
  }
  if (!first && !second) return;
  for (auto path : {pair.first, pair.second}) {
    find_key(path)->apply(d.cfg, "", std::string(path));  // "" = not set
    d.origin.erase(path);
  }
}

void apply(draft& d, const source& src) {
  for (const auto& pair : one_way_only) take_one_way(d, src, pair);
  for (const auto& s : src.settings) {
    s.key->apply(d.cfg, s.value, s.name);
    d.origin[s.key->path] = s.name;
  }
}

void require_non_empty(const draft& d, std::string_view path, const std::string& value) {
  if (!value.empty()) return;
  if (d.has(path)) fail(d.name_of(path), "must not be empty");
  const key_spec* key = find_key(path);
  fail(std::string(path),
       "is required (set it in the config file or " + std::string(key->env) + ")");
}

void resolve_password(draft& d) {
  auto& cred = d.cfg.credential;
  if (cred.password_file.empty()) {
    if (!d.has(password_key)) {
      fail(std::string(password_key),
           "is required (set credential.password or credential.password_file in the config "
           "file, or TPP_CREDENTIAL_PASSWORD or TPP_CREDENTIAL_PASSWORD_FILE)");
    }
    if (cred.password.empty()) fail(d.name_of(password_key), "must not be empty");
    return;
  }
  const std::string name = d.name_of(password_file_key);
  auto read = read_password_file(cred.password_file);
  if (!read.error.empty()) fail(name, read.error);
  cred.password = std::move(read.password);
}

// The client key file is read and parsed now, so that --check-config and
// start-up fail on a bad one (tpp re-reads it while running). A warning when
// it lists no key: every request would be refused.
std::optional<std::string> check_keys_file(const draft& d) {
  const std::string& path = d.cfg.clients.keys_file;
  if (path.empty()) return std::nullopt;
  const std::string name = d.name_of("clients.keys_file");
  auto file = read_file(path);
  if (file.error != 0) fail(name, "cannot read " + path + ": " + std::strerror(file.error));
  const auto parsed = access::parse_key_file(file.text);
  if (!parsed.error.empty()) fail(name, path + ": " + parsed.error);
  if (!parsed.keys.empty()) return std::nullopt;
  return name + ": " + path + " lists no key: every proxied request is refused (401)";
}

// The admin token is read at each admin request; a file that cannot be read
// now is a mistake to report before tpp runs.
void check_admin_token(const draft& d) {
  const std::string& path = d.cfg.admin.token_file;
  if (path.empty()) return;
  const auto read = read_password_file(path);
  if (!read.error.empty()) fail(d.name_of("admin.token_file"), read.error);
}

// Host names are accepted where users write them ("localhost:8080"); one that
// does not resolve fails here, for --check-config as for the run.
void check_listen_host(const draft& d, std::string_view path, const address& a) {
  if (auto error = listen_host_error(a.host)) {
    fail(d.name_of(path), "cannot resolve host " + quote_value(a.host) + ": " + *error);
  }
}

// A listener's TLS map: both files or neither, and they must load as the
// listener will load them (key matching the certificate included).
void check_tls(const draft& d, const std::string& map, const listener_tls_config& t) {
  const std::string cert = map + ".cert_file";
  const std::string key = map + ".key_file";
  if (!t.enabled()) {
    if (!t.key_file.empty() || !t.client_ca_file.empty()) {
      fail(d.name_of(cert), "is required when " + map + " has other keys");
    }
    return;
  }
  if (t.key_file.empty()) fail(d.name_of(key), "is required with " + cert);
  try {
    make_server_ssl_ctx(t);
  } catch (const std::runtime_error& e) {
    fail(map, e.what());
  }
}

// Readiness counts the tokens of one node, so min_ready must fit in one
// node's pool, capped or not.
void check_min_ready(const draft& d) {
  const token_config& t = d.cfg.token;
  const bool capped = t.pool_per_node() < t.pool_size;
  const std::string limit = capped ? "token.max_sessions_per_node" : "token.pool_size";
  if (t.min_ready > t.pool_per_node()) {
    fail(d.name_of("token.min_ready"), "must be at most " + limit + " (" +
                                           std::to_string(t.pool_per_node()) + ") (got " +
                                           std::to_string(t.min_ready) + ")");
  }
}

// upstream.host (one node) or upstream.nodes, completed (nodes.hpp): after
// this, upstream.nodes lists every node whichever way it was given.
void resolve_nodes(draft& d) {
  upstream_config& u = d.cfg.upstream;
  if (!u.host.empty()) {
    if (u.host.find('/') != std::string::npos) {
      fail(d.name_of(host_key),
           "must be a host name or address, not a URL (got " + quote_value(u.host) + ")");
    }
    u.nodes = {single_node(u.host, u.port)};
    return;
  }
  if (!u.nodes.empty()) {
    complete_nodes(u.nodes, u.port, d.name_of(nodes_key));
    return;
  }
  if (d.has(host_key)) fail(d.name_of(host_key), "must not be empty");
  if (d.has(nodes_key)) fail(d.name_of(nodes_key), "must not be empty");
  fail(std::string(host_key),
       "is required (set upstream.host or upstream.nodes in the config file, or "
       "TPP_UPSTREAM_HOST or TPP_UPSTREAM_NODES)");
}

void validate(draft& d, bool file_mode) {
  const config& c = d.cfg;
  if (file_mode && !d.has("listen")) {
    fail("listen", "is required (set it in the config file or TPP_LISTEN)");
  }
  check_listen_host(d, "listen", c.listen);
  if (c.health_listen) check_listen_host(d, "health_listen", *c.health_listen);
  resolve_nodes(d);
  if (c.health_listen && c.health_listen->to_string() == c.listen.to_string()) {
    fail(d.name_of("health_listen"),
         "must differ from listen (both are " + c.listen.to_string() + ")");
  }
  require_non_empty(d, "credential.username", c.credential.username);
  check_tls(d, "server_tls", c.server_tls);
  check_tls(d, "health_tls", c.health_tls);
  check_admin_token(d);
  if (c.health_tls.enabled() && !c.health_listen) {
    fail(d.name_of("health_tls.cert_file"), "is set but health_listen is off");
  }
  check_min_ready(d);
}

std::vector<std::string> risk_warnings(const config& c) {
  std::vector<std::string> out;
  if (c.upstream.tls && !c.upstream.tls_verify) {
    out.emplace_back("upstream.tls_verify is false: the upstream's certificate is not checked");
  }
  if (!c.upstream.tls && !c.upstream.ca_file.empty()) {
    out.emplace_back("upstream.ca_file is set but upstream.tls is false: it is not used");
  }
  const auto named = [](const upstream_node& n) { return n.server_name != n.host; };
  if (!c.upstream.tls && std::any_of(c.upstream.nodes.begin(), c.upstream.nodes.end(), named)) {
    out.emplace_back("upstream.nodes sets a server_name but upstream.tls is false: it is not used");
  }
  return out;
}

// A TPP_* variable tpp does not read is a typo as surely as an unknown key
// in the file (docs/configuration.md, "Errors and warnings").
void warn_unknown_variables(const env_lookup& env, std::vector<std::string>& warnings) {
  if (!env.names) return;
  auto names = env.names();
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    if (name.starts_with("TPP_") && find_env_key(name) == nullptr) {
      warnings.push_back(unknown_variable_warning(name));
    }
  }
}

}  // namespace

load_result load(const std::optional<std::string>& path, const env_lookup& env) {
  draft d;
  std::vector<std::string> warnings;
  if (path) {
    source file = yaml_file_source(*path);
    apply(d, file);
    warnings = std::move(file.warnings);
  }
  warn_unknown_variables(env, warnings);
  apply(d, env_source(env));
  validate(d, path.has_value());
  resolve_password(d);
  if (auto w = check_keys_file(d)) warnings.push_back(std::move(*w));
  for (auto& w : risk_warnings(d.cfg)) warnings.push_back(std::move(w));
  return {std::move(d.cfg), std::move(warnings)};
}

}  // namespace tpp::config
