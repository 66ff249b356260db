#pragma once

// Header rewriting between the client and DolphinDB (docs/requirements.md §3). Pure code,
// run once per request and once per response: it allocates only for the
// fields it adds (Authorization, X-Forwarded-*, Connection) and keeps every
// other field byte for byte and in the order the parser stored them (Beast's
// parser already groups repeated names together; added fields go last).
//
// The hop-by-hop set is: Connection and every field it names, Keep-Alive, TE,
// Trailer, Upgrade, Proxy-Connection, Proxy-Authorization and
// Proxy-Authenticate (both only mean something to the next hop, and tpp is no
// forward proxy: forwarding Proxy-Authenticate would make clients believe tpp
// wants proxy credentials). Transfer-Encoding is hop-by-hop too but is kept as
// framing: the checks let only "chunked" through and the session re-chunks
// the streamed body, so forwarding it unchanged is the re-encoding. A
// Connection header can never remove Transfer-Encoding, Content-Length or
// Host, which would break framing or HTTP/1.1.

#include <boost/beast/http/message.hpp>
#include <string_view>

namespace tpp::proxy {

namespace http = boost::beast::http;

// True for a name in the fixed hop-by-hop set above (ASCII case-insensitive).
// False for Transfer-Encoding (framing, see above) and for names that are only
// hop-by-hop because a Connection header lists them.
bool is_hop_by_hop(std::string_view name) noexcept;

// Prepares an accepted request head (check_request_head passed) for DolphinDB:
//  - removes every hop-by-hop field (see above);
//  - removes every Authorization field and adds exactly one
//    "Authorization: Bearer <bearer_token>";
//  - X-Forwarded-For: the client's values, merged in order into one field, with
//    ", <client_ip>" appended (or just <client_ip>);
//  - X-Forwarded-Proto: replaced by `proto` — tpp is the edge, so a client's
//    claim about the scheme is not evidence of anything;
//  - an absolute-form target becomes origin-form and Host its authority
//    (RFC 9112 3.2.2: the target's authority wins over Host);
//  - framing in canonical spelling: Transfer-Encoding exactly "chunked",
//    Content-Length without leading zeros;
//  - an empty Host is added when there is none (HTTP/1.0 clients);
//  - version 1.1 and no Connection field: keep-alive towards upstream.
// Read the client's keep_alive() and version() first: afterwards the head says
// HTTP/1.1 keep-alive.
void rewrite_request_head(http::request_header<>& h, std::string_view bearer_token,
                          std::string_view client_ip, std::string_view proto);

// Replaces every Authorization field with exactly one
// "Authorization: Bearer <bearer_token>" (rewrite_request_head does this too;
// a replay with a fresh token calls it alone).
void set_bearer(http::request_header<>& h, std::string_view bearer_token);

// Prepares an accepted response head (check_response_head passed) for the
// client and decides the client connection's fate. `client_keep_alive` and
// `client_version` (10 or 11) come from the request as the client sent it.
// Returns true when the client connection must be closed after this
// response's body (the head then also says so: message::keep_alive() agrees).
//  - removes every hop-by-hop field and any Authorization (a pool token must
//    never reach a client); collapses equal repeated Content-Lengths;
//    framing in canonical spelling as for requests;
//  - `body_until_eof` (response_parser::need_eof()): the upstream body ends
//    when upstream closes; it is re-chunked for an HTTP/1.1 client (keep-alive
//    survives) and close-delimited for an HTTP/1.0 client. A caller that
//    already set chunked(true) itself may pass false;
//  - a chunked body to an HTTP/1.0 client loses Transfer-Encoding and becomes
//    close-delimited (1.0 knows no chunked);
//  - the status line says HTTP/1.1; "Connection: close" when closing,
//    "Connection: keep-alive" for a 1.0 client kept alive. Interim (1xx)
//    responses get no Connection field and never close. The caller must not
//    send 1xx to an HTTP/1.0 client (RFC 9110 15.2).
bool rewrite_response_head(http::response_header<>& h, bool client_keep_alive,
                           unsigned client_version, bool body_until_eof = false);

}  // namespace tpp::proxy
