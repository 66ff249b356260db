#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <string_view>

namespace tpp::proxy {

// tpp's own answers to clients (never DolphinDB's): a small JSON body in
// DolphinDB's envelope, {"code":"1","message":"tpp: ..."}, so that clients
// that already parse DolphinDB errors need nothing new.
boost::beast::http::response<boost::beast::http::string_body> make_error_response(
    unsigned status, std::string_view message, unsigned version, bool keep_alive);

// The same with a Retry-After header (503 when no token could be lent).
boost::beast::http::response<boost::beast::http::string_body> make_retry_later_response(
    std::string_view message, std::chrono::seconds retry_after, unsigned version, bool keep_alive);

// 401 for a request without a valid API key (clients.keys_file), with
// WWW-Authenticate: Bearer (RFC 6750 3; error="invalid_token" when a key was
// sent but is wrong).
boost::beast::http::response<boost::beast::http::string_body> make_unauthorized_response(
    bool key_sent, unsigned version);

}  // namespace tpp::proxy
