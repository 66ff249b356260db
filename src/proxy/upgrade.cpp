#include "proxy/upgrade.hpp"

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <string>

#include "proxy/field_text.hpp"
#include "proxy/header_rewrite.hpp"

namespace tpp::proxy {
namespace {

using boost::beast::iequals;
using http::field;

// tchar of RFC 9110 5.6.2.
bool is_tchar(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) noexcept {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

// Calls fn(element) for each element of a comma-separated list, OWS trimmed;
// false as soon as fn does, or when an element is empty (a malformed list
// is not guessed at: the Upgrade is dropped).
template <class Fn>
bool each_element(std::string_view list, Fn&& fn) {
  for (;;) {
    const auto comma = list.find(',');
    const auto element = trim_ows(list.substr(0, comma));
    if (element.empty() || !fn(element)) return false;
    if (comma == std::string_view::npos) return true;
    list.remove_prefix(comma + 1);
  }
}

std::string_view protocol_name(std::string_view protocol) noexcept {
  return protocol.substr(0, protocol.find('/'));
}

// protocol-name ["/" protocol-version] (RFC 9110 7.8).
bool is_protocol(std::string_view p) noexcept {
  const auto slash = p.find('/');
  if (slash == std::string_view::npos) return is_token(p);
  return is_token(p.substr(0, slash)) && is_token(p.substr(slash + 1));
}

// Protocols after which the client would speak HTTP to DolphinDB directly:
// every request inside the tunnel would bypass tpp's framing rules and token
// handling.
bool is_http_family(std::string_view protocol) noexcept {
  const auto name = protocol_name(protocol);
  return iequals(name, "h2c") || iequals(name, "h2") || iequals(name, "http");
}

bool connection_lists_upgrade(const http::request_header<>& h) {
  for (const auto& f : h) {
    if (f.name() != field::connection) continue;
    bool found = false;
    each_element(f.value(), [&](std::string_view t) {
      found = found || iequals(t, "upgrade");
      return true;
    });
    if (found) return true;
  }
  return false;
}

bool has_body(const http::request_header<>& h) {
  if (has_field(h, field::transfer_encoding)) return true;
  const auto cl = find_field(h, field::content_length);
  return cl != h.end() && cl->value() != "0";
}

upgrade_decision drop(std::string_view reason) {
  upgrade_decision d;
  d.reason = reason;
  return d;
}

}  // namespace

upgrade_decision decide_upgrade(const http::request_header<>& h) {
  const auto up = find_field(h, field::upgrade);
  if (up == h.end()) return {};
  if (h.version() != 11) return drop("Upgrade in an HTTP/1.0 request");
  if (h.method() != http::verb::get) return drop("Upgrade on a method other than GET");
  if (!connection_lists_upgrade(h)) return drop("Upgrade not listed by Connection");
  if (count_field(h, field::upgrade) != 1) return drop("repeated Upgrade");
  if (has_body(h)) return drop("Upgrade on a request with a body");
  bool http_family = false;
  const bool well_formed = each_element(up->value(), [&](std::string_view p) {
    http_family = http_family || is_http_family(p);
    return is_protocol(p);
  });
  if (!well_formed) return drop("malformed Upgrade");
  if (http_family) return drop("Upgrade to an HTTP protocol (h2c)");
  upgrade_decision d;
  d.forward = true;
  d.protocols.assign(up->value());
  return d;
}

void restore_upgrade(http::request_header<>& h, std::string_view protocols) {
  h.set(field::upgrade, protocols);
  h.set(field::connection, "upgrade");
}

framing_verdict check_switch_response(const http::response_header<>& h, std::string_view offered) {
  const auto up = find_field(h, field::upgrade);
  if (up == h.end() || count_field(h, field::upgrade) != 1) {
    return framing_verdict::reject(502, "upstream switched protocols without one Upgrade");
  }
  // The server names the protocol it switched to; it must be one offered.
  const auto chosen = trim_ows(up->value());
  bool offered_it = false;
  each_element(offered, [&](std::string_view p) {
    offered_it = offered_it || iequals(protocol_name(p), protocol_name(chosen));
    return true;
  });
  if (!offered_it || !is_protocol(chosen)) {
    return framing_verdict::reject(502, "upstream switched to a protocol not offered");
  }
  return framing_verdict::accept();
}

void rewrite_switch_response(http::response_header<>& h) {
  const std::string protocol(trim_ows(find_field(h, field::upgrade)->value()));
  rewrite_response_head(h, true, 11);
  h.set(field::upgrade, protocol);
  h.set(field::connection, "upgrade");
}

}  // namespace tpp::proxy
