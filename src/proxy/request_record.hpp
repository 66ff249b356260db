#pragma once

#include <array>
#include <boost/beast/http/message.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "config/config.hpp"

namespace tpp::proxy {

struct proxy_context;

// The spans of one request when OTLP export is on: ids and the moments the
// exchange passed (Unix ns; 0 = that step did not happen).
struct request_trace {
  std::array<std::uint8_t, 16> trace_id{};
  std::array<std::uint8_t, 8> parent{};    // the client's span, or zero
  std::array<std::uint8_t, 8> server{};    // this request in tpp
  std::array<std::uint8_t, 8> upstream{};  // the call to DolphinDB
  std::uint64_t start_ns = 0, wait_start_ns = 0, wait_end_ns = 0;
  std::uint64_t upstream_start_ns = 0, upstream_end_ns = 0;
};

// Everything known about one request once it is finished: filled in by the
// phases as they run, read once by record_finished(). A fresh record per
// request, so nothing is reset by hand.
struct request_record {
  std::string method;               // empty: the head was refused before it was known
  std::string target;               // kept only for the access log and spans
  unsigned status = 0;              // what the client was answered; 0 = nothing
  clock::time_point started{};      // when the head was read
  std::uint64_t bytes_in = 0;       // request body bytes
  std::uint64_t bytes_out = 0;      // response body bytes
  double wait_seconds = 0;          // waiting for a token
  double upstream_seconds = 0;      // request sent until response head read
  std::optional<std::size_t> slot;  // the token slot used (never its value)
  std::optional<request_trace> trace;

  // Starts the spans when export is on: continues the client's traceparent,
  // or starts a new trace.
  void start_trace(const boost::beast::http::request_header<>& head);
};

// Unix time in ns, for span timestamps.
std::uint64_t unix_ns() noexcept;

// The one place a finished request is accounted for: request metrics, the
// access log line (telemetry.access_log) and the spans. Does nothing for a
// request that got no answer (status 0: the client went away first).
// `identity`: connection::identity (an API key's name or a client
// certificate's subject), or empty. `settings`: the connection's
// (telemetry.access_log).
void record_finished(const request_record& r, const proxy_context& ctx,
                     const config::config& settings, std::string_view client_ip,
                     std::string_view identity = {});

}  // namespace tpp::proxy
