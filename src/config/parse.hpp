#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace tpp::config {

// Parsers for single setting values, shared by the YAML file and the
// environment so that both accept exactly the same text. `name` is what an
// error calls the setting: the dotted key, or the env variable it came from.
// Each throws config_error with a one-line message on bad input.

// Throws config_error("<name>: <problem>").
[[noreturn]] void fail(const std::string& name, std::string_view problem);

// `text` quoted for an error message: control characters escaped, long values
// shortened, so that the message stays on one line.
std::string quote_value(std::string_view text);

// Decimal digits only ("10"; not "+10", "1e3", "3.5", " 10").
std::uint64_t parse_uint(std::string_view text, const std::string& name);

// 1..65535.
std::uint16_t parse_port(std::string_view text, const std::string& name);

// true/false, 1/0, yes/no, on/off; case-insensitive.
bool parse_bool(std::string_view text, const std::string& name);

// Non-negative decimal seconds ("5", "0.25", "1.5") up to 1e9, rounded up to
// whole milliseconds so that a positive value never becomes 0.
std::chrono::milliseconds parse_seconds(std::string_view text, const std::string& name);

// "host:port", "[v6]:port"; the brackets are removed from the host.
address parse_address(std::string_view text, const std::string& name);

// An OTLP endpoint URL as given, unless it holds user info ("user:pass@"
// before the host), which fails without quoting the value: it is a secret,
// and the exporter would print it. Authentication goes in
// OTEL_EXPORTER_OTLP_HEADERS.
std::string endpoint_without_user_info(std::string_view url, const std::string& name);

// Milliseconds as decimal seconds without trailing zeros: 250ms -> "0.25".
std::string format_seconds(std::chrono::milliseconds ms);

// `text` without spaces and tabs at either end.
std::string_view trim_blanks(std::string_view text);

// ASCII letters lower-cased.
std::string lower_ascii(std::string_view text);

// OpenTelemetry's "k1=v1,k2=v2" list (OTEL_EXPORTER_OTLP_HEADERS,
// OTEL_RESOURCE_ATTRIBUTES): items split at ',', keys and values trimmed, then
// %XX-decoded; empty items are skipped. An item without '=' or with an empty
// key fails; the error gives the item's position, never its text, because
// headers may carry credentials.
key_values parse_key_values(std::string_view text, const std::string& name);

// The inverse of parse_key_values: what it would split on or trim is
// %XX-encoded.
std::string format_key_values(const key_values& list);

}  // namespace tpp::config
