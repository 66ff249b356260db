#include "proxy/request_record.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <string>

#include "metrics/registry.hpp"
#include "proxy/proxy_context.hpp"
#include "telemetry/otlp/exporter.hpp"

namespace tpp::proxy {

namespace otlp = telemetry::otlp;

namespace {

std::int64_t slot_attribute(const request_record& r) {
  return r.slot ? static_cast<std::int64_t>(*r.slot) : std::int64_t{-1};
}

int status_of(unsigned http_status) {
  return http_status >= 500 ? otlp::span_status::error : otlp::span_status::unset;
}

void log_access(const request_record& r, std::string_view client_ip, std::string_view identity,
                double total) {
  // One line per request; the slot id says which token, never its value. A
  // client known by an API key or a certificate gets identity="<name>" at
  // the end (the line is unchanged otherwise).
  spdlog::info(
      "access {} \"{} {}\" {} in={} out={} wait_ms={:.2f} upstream_ms={:.2f} "
      "total_ms={:.2f} slot={}{}{}{}",
      client_ip, r.method.empty() ? "-" : r.method, r.target.empty() ? "-" : r.target, r.status,
      r.bytes_in, r.bytes_out, r.wait_seconds * 1e3, r.upstream_seconds * 1e3, total * 1e3,
      r.slot ? std::to_string(*r.slot) : std::string("-"),
      // OpenSSL escapes quotes and control characters in the subject (RFC 2253).
      identity.empty() ? "" : " identity=\"", identity, identity.empty() ? "" : "\"");
}

otlp::span_data server_span(const request_record& r, std::string_view client_ip,
                            std::uint64_t end) {
  const auto& t = *r.trace;
  otlp::span_data s;
  s.trace_id = t.trace_id;
  s.span_id = t.server;
  s.parent_span_id = t.parent;
  s.name = r.method.empty() ? std::string("HTTP") : r.method;
  s.kind = otlp::span_kind::server;
  s.start_unix_ns = t.start_ns;
  s.end_unix_ns = end;
  s.attributes = {{"http.request.method", r.method},
                  {"url.path", r.target},
                  {"http.response.status_code", static_cast<std::int64_t>(r.status)},
                  {"client.address", std::string(client_ip)},
                  {"tpp.token.slot", slot_attribute(r)}};
  s.status_code = status_of(r.status);
  return s;
}

otlp::span_data wait_span(const request_record& r) {
  const auto& t = *r.trace;
  otlp::span_data s;
  s.trace_id = t.trace_id;
  s.span_id = otlp::new_span_id();
  s.parent_span_id = t.server;
  s.name = "token.acquire";
  s.kind = otlp::span_kind::internal;
  s.start_unix_ns = t.wait_start_ns;
  s.end_unix_ns = t.wait_end_ns;
  s.attributes = {{"tpp.token.slot", slot_attribute(r)}};
  return s;
}

std::int64_t port_number(const std::string& port) {
  std::int64_t n = 0;
  std::from_chars(port.data(), port.data() + port.size(), n);
  return n;
}

otlp::span_data upstream_span(const request_record& r, const proxy_context& ctx,
                              std::uint64_t end) {
  const auto& t = *r.trace;
  otlp::span_data s;
  s.trace_id = t.trace_id;
  s.span_id = t.upstream;
  s.parent_span_id = t.server;
  s.name = "dolphindb " + r.method;
  s.kind = otlp::span_kind::client;
  s.start_unix_ns = t.upstream_start_ns;
  s.end_unix_ns = t.upstream_end_ns != 0 ? t.upstream_end_ns : end;
  // The node the request went to (its token's), written as tpp built it.
  const auto& node = ctx.target_of(ctx.node_of(r.slot.value_or(0)));
  s.attributes = {{"server.address", node.host},
                  {"server.port", port_number(node.port)},
                  {"http.response.status_code", static_cast<std::int64_t>(r.status)}};
  s.status_code = status_of(r.status);
  return s;
}

void submit_spans(const request_record& r, const proxy_context& ctx, std::string_view client_ip) {
  const auto end = unix_ns();
  const auto& t = *r.trace;
  if (t.wait_start_ns != 0 && t.wait_end_ns != 0) ctx.tracer->submit(wait_span(r));
  if (t.upstream_start_ns != 0) ctx.tracer->submit(upstream_span(r, ctx, end));
  ctx.tracer->submit(server_span(r, client_ip, end));
}

}  // namespace

std::uint64_t unix_ns() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

void request_record::start_trace(const boost::beast::http::request_header<>& head) {
  auto& t = trace.emplace();
  t.start_ns = unix_ns();
  if (auto it = head.find("traceparent"); it != head.end()) {
    if (auto parent = otlp::parse_traceparent(it->value())) {
      t.trace_id = parent->trace_id;
      t.parent = parent->span_id;
    }
  }
  if (t.parent == decltype(t.parent){}) t.trace_id = otlp::new_trace_id();
  t.server = otlp::new_span_id();
  t.upstream = otlp::new_span_id();
}

void record_finished(const request_record& r, const proxy_context& ctx,
                     const config::config& settings, std::string_view client_ip,
                     std::string_view identity) {
  if (r.status == 0) return;
  const double total = seconds_since(r.started);
  auto& m = metrics::registry::global();
  m.on_request_done(r.method.empty() ? "other" : r.method, r.status, total);
  m.on_client_bytes(r.bytes_in, r.bytes_out);
  if (r.trace && ctx.tracer) submit_spans(r, ctx, client_ip);
  if (settings.telemetry.access_log) log_access(r, client_ip, identity, total);
}

}  // namespace tpp::proxy
