#pragma once

// The rules for HTTP Upgrade (WebSocket) requests, pure like the framing
// rules next to them (docs/framing.md, "Upgrade"). A request's Upgrade is
// honoured only when nothing about it can make tpp and DolphinDB disagree on
// where the HTTP exchange ends and the tunnel begins; anything else loses its
// Upgrade field (hop-by-hop, stripped as before) and goes upstream as an
// ordinary request, which a server is free to answer without switching.

#include <boost/beast/http/message.hpp>
#include <string>
#include <string_view>

#include "proxy/framing.hpp"

namespace tpp::proxy {

// What tpp does with a request's Upgrade field.
struct upgrade_decision {
  bool forward = false;     // Upgrade and Connection: upgrade go upstream
  std::string protocols;    // the Upgrade value forwarded (when forward)
  std::string_view reason;  // why an Upgrade field was dropped (static text);
                            // empty when there was none or it is forwarded
};

// Decides on an accepted request head (check_request_head passed), before
// rewrite_request_head. Forwarded only when all of these hold:
//  - HTTP/1.1 (RFC 9110 7.8: an HTTP/1.0 request's Upgrade is ignored);
//  - method GET (what WebSocket uses; the only one tpp has a reason to pass);
//  - a Connection field lists "upgrade";
//  - exactly one Upgrade field, a list of protocol["/"version] tokens;
//  - no protocol of the HTTP family (h2c, h2, HTTP/x): after such a switch
//    the client would send requests tpp never sees (h2c smuggling);
//  - no body: no Transfer-Encoding and no Content-Length other than 0.
upgrade_decision decide_upgrade(const http::request_header<>& h);

// After rewrite_request_head (which removed every hop-by-hop field): puts
// "Upgrade: <protocols>" and "Connection: upgrade" back for DolphinDB.
void restore_upgrade(http::request_header<>& h, std::string_view protocols);

// A 101 answering a forwarded upgrade: it must carry an Upgrade field whose
// protocol is one of `offered` (RFC 9110 15.2.2); 502 otherwise.
framing_verdict check_switch_response(const http::response_header<>& h, std::string_view offered);

// Prepares the 101 head for the client: what rewrite_response_head does to
// any response (hop-by-hop fields and Authorization out, HTTP/1.1), then its
// Upgrade field and "Connection: upgrade" back.
void rewrite_switch_response(http::response_header<>& h);

}  // namespace tpp::proxy
