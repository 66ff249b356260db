#include "proxy/header_rewrite.hpp"

#include <algorithm>
#include <array>
#include <boost/beast/core/string.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "proxy/field_text.hpp"

namespace tpp::proxy {
namespace {

using boost::beast::iequals;
using http::field;

bool is_hop_by_hop_field(field f) noexcept {
  switch (f) {
    case field::connection:
    case field::keep_alive:
    case field::te:
    case field::trailer:
    case field::upgrade:
    case field::proxy_connection:
    case field::proxy_authorization:
    case field::proxy_authenticate:
      return true;
    default:
      return false;
  }
}

// Fields a Connection header may not remove: framing and Host.
bool is_protected(field f) noexcept {
  return f == field::transfer_encoding || f == field::content_length || f == field::host;
}

// Calls fn(token) for each element of a comma-separated list, OWS trimmed,
// empty elements skipped; stops early when fn returns true.
template <class Fn>
bool any_list_element(std::string_view list, Fn&& fn) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    const auto element = trim_ows(list.substr(0, comma));
    if (!element.empty() && fn(element)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// The names every Connection field lists, collected once: the fields are
// then each compared with this list, not each with every Connection field
// (which was quadratic in the number of fields). The views point into the
// Connection values, which strip() erases last.
template <class Fields>
std::vector<std::string_view> connection_tokens(const Fields& h) {
  std::vector<std::string_view> tokens;
  for (const auto& f : h) {
    if (f.name() != field::connection) continue;
    any_list_element(f.value(), [&](std::string_view t) {
      tokens.push_back(t);
      return false;
    });
  }
  return tokens;
}

bool named_in(const std::vector<std::string_view>& tokens, std::string_view name) {
  return std::any_of(tokens.begin(), tokens.end(),
                     [&](std::string_view t) { return iequals(t, name); });
}

// Erases every hop-by-hop field and every field a Connection header names
// (except protected ones), plus the fields for which `extra(field)` returns
// true; keeps the order of the rest. Connection fields go last because the
// names being compared point into their values.
template <class Fields, class Extra>
void strip(Fields& h, Extra&& extra) {
  const bool has_connection = has_field(h, field::connection);
  const auto named = has_connection ? connection_tokens(h) : std::vector<std::string_view>{};
  for (auto it = h.begin(); it != h.end();) {
    const auto f = it->name();
    bool drop = false;
    if (f == field::connection) {
      drop = false;
    } else if (is_hop_by_hop_field(f)) {
      drop = true;
    } else if (extra(*it)) {
      drop = true;
    } else if (has_connection && !is_protected(f)) {
      drop = named_in(named, it->name_string());
    }
    it = drop ? h.erase(it) : std::next(it);
  }
  if (has_connection) h.erase(field::connection);
}

bool is_x_forwarded_for(const http::fields::value_type& f) noexcept {
  return f.name() == field::unknown && iequals(f.name_string(), "x-forwarded-for");
}

bool is_x_forwarded_proto(const http::fields::value_type& f) noexcept {
  return f.name() == field::unknown && iequals(f.name_string(), "x-forwarded-proto");
}

// Inserts "<prefix><value>" without a heap allocation when it fits on the stack.
template <class Fields>
void insert_joined(Fields& h, field f, std::string_view prefix, std::string_view value) {
  std::array<char, 512> small;
  const auto n = prefix.size() + value.size();
  if (n <= small.size()) {
    std::memcpy(small.data(), prefix.data(), prefix.size());
    std::memcpy(small.data() + prefix.size(), value.data(), value.size());
    h.insert(f, std::string_view(small.data(), n));
  } else {
    std::string joined;
    joined.reserve(n);
    joined.append(prefix).append(value);
    h.insert(f, joined);
  }
}

// Framing goes upstream in its canonical spelling, so that no parser there can
// read it differently from Beast: Transfer-Encoding exactly "chunked", a
// Content-Length without leading zeros (the checks allow only digits).
template <class Fields>
void normalise_framing(Fields& h) {
  const auto te = find_field(h, field::transfer_encoding);
  if (te != h.end() && te->value() != "chunked") h.set(field::transfer_encoding, "chunked");
  const auto cl = find_field(h, field::content_length);
  if (cl != h.end() && cl->value().size() > 1 && cl->value().front() == '0') {
    auto digits = cl->value();
    digits.remove_prefix(std::min(digits.find_first_not_of('0'), digits.size() - 1));
    const std::string canonical(digits);
    h.set(field::content_length, canonical);
  }
}

// An absolute-form target (accepted by check_request_head) becomes origin-form
// and Host its authority. Rare path: copies freely.
void absolute_to_origin_form(http::request_header<>& h) {
  const std::string target(h.target());
  const auto rest = std::string_view(target).substr(target.find("://") + 3);
  const auto path_at = rest.find_first_of("/?");
  const std::string authority(rest.substr(0, path_at));
  std::string origin = path_at == std::string_view::npos ? "/" : std::string(rest.substr(path_at));
  if (origin.front() == '?') origin.insert(origin.begin(), '/');
  h.target(origin);
  h.set(field::host, authority);
}

void insert_bearer(http::request_header<>& h, std::string_view bearer_token) {
  insert_joined(h, field::authorization, "Bearer ", bearer_token);
}

}  // namespace

void set_bearer(http::request_header<>& h, std::string_view bearer_token) {
  h.erase(field::authorization);
  insert_bearer(h, bearer_token);
}

bool is_hop_by_hop(std::string_view name) noexcept {
  return is_hop_by_hop_field(http::string_to_field(name));
}

void rewrite_request_head(http::request_header<>& h, std::string_view bearer_token,
                          std::string_view client_ip, std::string_view proto) {
  if (!h.target().empty() && h.target().front() != '/' && h.target() != "*") {
    absolute_to_origin_form(h);
  }

  // The merged X-Forwarded-For; a single client IP fits the small-string buffer.
  std::string xff;
  strip(h, [&](const http::fields::value_type& f) {
    if (f.name() == field::authorization || is_x_forwarded_proto(f)) return true;
    if (is_x_forwarded_for(f)) {
      const auto v = trim_ows(f.value());
      if (!v.empty()) {
        if (!xff.empty()) xff += ", ";
        xff += v;
      }
      return true;
    }
    return false;
  });

  insert_bearer(h, bearer_token);
  if (!client_ip.empty()) {
    if (!xff.empty()) xff += ", ";
    xff += client_ip;
  }
  // Neither name is one Beast knows (is_x_forwarded_*): saying so saves a
  // lookup of the name per request.
  if (!xff.empty()) h.insert(field::unknown, "X-Forwarded-For", xff);
  if (!proto.empty()) h.insert(field::unknown, "X-Forwarded-Proto", proto);
  // An HTTP/1.0 request may come without Host; HTTP/1.1 requires one, and an
  // empty value is what RFC 9112 3.2 prescribes when there is no authority.
  if (!has_field(h, field::host)) h.insert(field::host, "");
  normalise_framing(h);
  h.version(11);
}

bool rewrite_response_head(http::response_header<>& h, bool client_keep_alive,
                           unsigned client_version, bool body_until_eof) {
  // A pool token is never shown to a client, even one DolphinDB echoes.
  strip(h, [](const http::fields::value_type& f) { return f.name() == field::authorization; });

  // check_response_head let equal repeated Content-Lengths through: one is enough.
  if (count_field(h, field::content_length) > 1) {
    const std::string cl(find_field(h, field::content_length)->value());
    h.set(field::content_length, cl);
  }
  normalise_framing(h);
  h.version(11);
  if (h.result_int() < 200) return false;

  bool keep_alive = client_keep_alive;
  if (client_version < 11) {
    if (has_field(h, field::transfer_encoding)) {
      h.erase(field::transfer_encoding);
      keep_alive = false;
    }
    if (body_until_eof) keep_alive = false;
  } else if (body_until_eof) {
    h.set(field::transfer_encoding, "chunked");
  }

  if (!keep_alive) {
    h.set(field::connection, "close");
  } else if (client_version < 11) {
    h.set(field::connection, "keep-alive");
  }
  return !keep_alive;
}

}  // namespace tpp::proxy
