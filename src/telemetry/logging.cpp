#include "telemetry/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace tpp::telemetry {
namespace {

using spdlog::level::level_enum;

std::string_view trim(std::string_view s) {
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<level_enum> parse_level(std::string_view text) {
  std::string s(text);
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (s == "trace" || s == "5") return level_enum::trace;
  if (s == "debug" || s == "4") return level_enum::debug;
  if (s == "info" || s == "3") return level_enum::info;
  if (s == "warn" || s == "warning" || s == "2") return level_enum::warn;
  if (s == "error" || s == "1") return level_enum::err;
  if (s == "off" || s == "0") return level_enum::off;
  return std::nullopt;
}

bool valid_target(std::string_view t) {
  return !t.empty() && std::none_of(t.begin(), t.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0 || c == '=';
  });
}

// tracing allows span filters after the target: "tpp[request]=debug".
bool is_tpp(std::string_view target) {
  return target == "tpp" || target.starts_with("tpp[") || target.starts_with("tpp{");
}

std::string iso8601_utc(spdlog::log_clock::time_point tp) {
  using namespace std::chrono;
  auto since_epoch = tp.time_since_epoch();
  auto secs = duration_cast<seconds>(since_epoch);
  auto ms = duration_cast<milliseconds>(since_epoch - secs).count();
  std::time_t t = secs.count();
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms));
  return buf;
}

class json_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    nlohmann::ordered_json line;
    line["ts"] = iso8601_utc(msg.time);
    auto level = spdlog::level::to_string_view(msg.level);
    line["level"] = std::string(level.data(), level.size());
    line["msg"] = std::string(msg.payload.data(), msg.payload.size());
    line["logger"] = std::string(msg.logger_name.data(), msg.logger_name.size());
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    text += '\n';
    dest.append(text.data(), text.data() + text.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>();
  }
};

}  // namespace

level_enum parse_log_filter(std::string_view filter, bool* ok) {
  if (ok) *ok = true;
  auto invalid = [&] {
    if (ok) *ok = false;
    return level_enum::info;
  };
  // env_logger: everything after the first '/' is a message regex.
  filter = filter.substr(0, filter.find('/'));

  std::optional<level_enum> bare;
  std::optional<level_enum> for_tpp;
  while (true) {
    auto comma = filter.find(',');
    std::string_view directive = trim(filter.substr(0, comma));
    if (!directive.empty()) {
      auto eq = directive.find('=');
      if (eq == std::string_view::npos) {
        if (auto level = parse_level(directive)) {
          bare = level;
        } else if (!valid_target(directive)) {
          return invalid();
        } else if (is_tpp(directive)) {
          for_tpp = level_enum::trace;  // a bare target enables everything for it
        }
      } else {
        std::string_view target = trim(directive.substr(0, eq));
        auto level = parse_level(trim(directive.substr(eq + 1)));
        if (!valid_target(target) || !level) return invalid();
        if (is_tpp(target)) for_tpp = level;
      }
    }
    if (comma == std::string_view::npos) break;
    filter.remove_prefix(comma + 1);
  }
  if (for_tpp) return *for_tpp;
  return bare.value_or(level_enum::info);
}

std::unique_ptr<spdlog::formatter> make_json_formatter() {
  return std::make_unique<json_formatter>();
}

std::unique_ptr<spdlog::formatter> make_text_formatter() {
  return std::make_unique<spdlog::pattern_formatter>("[%Y-%m-%d %H:%M:%S.%e] [%l] %v",
                                                     spdlog::pattern_time_type::utc);
}

std::shared_ptr<spdlog::logger> make_logger(const config::telemetry_config& cfg,
                                            spdlog::sink_ptr sink) {
  sink->set_formatter(cfg.format == config::log_format::json ? make_json_formatter()
                                                             : make_text_formatter());
  auto logger = std::make_shared<spdlog::logger>("tpp", std::move(sink));
  bool ok = true;
  logger->set_level(parse_log_filter(cfg.log_filter, &ok));
  logger->flush_on(level_enum::warn);
  if (!ok) {
    logger->warn("telemetry.log_filter: cannot parse '{}'; logging at info", cfg.log_filter);
  }
  return logger;
}

void setup_logging(const config::telemetry_config& cfg) {
  spdlog::set_default_logger(make_logger(cfg, std::make_shared<spdlog::sinks::stderr_sink_mt>()));
}

}  // namespace tpp::telemetry
