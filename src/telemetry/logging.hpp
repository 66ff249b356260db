#pragma once

#include <spdlog/formatter.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/sink.h>

#include <memory>
#include <string_view>

#include "config/config.hpp"

namespace tpp::telemetry {

// The level for tpp's own messages given the old proxy's log filter, which
// used Rust env_logger / tracing syntax: comma-separated directives, each a
// bare level ("info"), a target with a level ("tpp=debug"), or a bare target
// (all levels for it), optionally followed by "/regex" (ignored). The level
// for target "tpp" wins, then the last bare level; other targets are ignored;
// an empty filter or one without either means info. Levels: trace, debug,
// info, warn (warning), error, off, or 5..0; case-insensitive.
//
// On a filter that cannot be parsed, returns info and sets *ok to false (when
// ok is not null); otherwise sets *ok to true.
spdlog::level::level_enum parse_log_filter(std::string_view filter, bool* ok);

// One JSON object per line: {"ts":"2026-01-01T12:00:00.123Z","level":"info",
// "msg":"...","logger":"tpp"}; ts in UTC with milliseconds; the message is
// JSON-escaped (invalid UTF-8 is replaced, never dropped).
std::unique_ptr<spdlog::formatter> make_json_formatter();

// "[2026-01-01 12:00:00.123] [info] msg", UTC.
std::unique_ptr<spdlog::formatter> make_text_formatter();

// The "tpp" logger writing to `sink` in the configured format at the level
// parse_log_filter gives. An unparsable filter is reported through the new
// logger itself, as a warning.
std::shared_ptr<spdlog::logger> make_logger(const config::telemetry_config& cfg,
                                            spdlog::sink_ptr sink);

// Makes make_logger(cfg, <stderr>) spdlog's default logger. Call once at
// start-up, before other threads log.
void setup_logging(const config::telemetry_config& cfg);

}  // namespace tpp::telemetry
